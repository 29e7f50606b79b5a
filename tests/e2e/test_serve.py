"""``gongsheng serve --workers 2`` as operators run it: metrics summed over workers, JSON log lines.

The server runs as a subprocess on a SQLite file. Each request goes on a connection of its own,
so the two workers share them; every scrape, whichever worker answers it, must count them all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

GONGSHENG = Path(sys.executable).parent / "gongsheng"
REQUESTS = 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def writers(metrics_dir: Path) -> set[str]:
    """The pids of the processes that write counters to ``metrics_dir``."""
    return {f.stem.rsplit("_", 1)[-1] for f in metrics_dir.glob("counter_*.db")}


def healthz_count(base: str) -> float:
    text = httpx.get(base + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (s.name == "gongsheng_http_requests_total" and s.labels.get("route") == "/healthz"
                    and s.labels.get("status") == "200"):
                return s.value
    return 0.0


@pytest.mark.slow
def test_serve_with_two_workers_sums_metrics_and_logs_json(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_4242.db").write_bytes(b"stale")  # a previous run's file
    port = free_port()
    env = {**os.environ, "GONGSHENG_SECRET_KEY": "s" * 40, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    log_file = tmp_path / "serve.log"
    with log_file.open("w") as log:
        run_and_check(port, metrics_dir, env, log, tmp_path)
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [p for p in parsed if p["logger"] == "uvicorn.access" and p.get("path") == "/healthz"]
    assert {p["request_id"] for p in access} == {f"drill-{i}" for i in range(REQUESTS)}
    assert any(p["logger"].startswith("uvicorn") and p["level"] == "INFO" for p in parsed)


def run_and_check(port: int, metrics_dir: Path, env: dict[str, str], log: IO[str],
                  tmp_path: Path) -> None:
    """Start serve, send the requests, check every scrape, stop it."""
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(GONGSHENG), "serve", "--db", f"sqlite:///{tmp_path / 'serve.db'}", "--port", str(port),
         "--workers", "2", "--access-log"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
        assert not (metrics_dir / "counter_4242.db").exists(), "stale metric files are cleaned"
        while len(writers(metrics_dir)) < 2:  # both workers have loaded the app
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.3)
        start = healthz_count(base)
        for i in range(REQUESTS):  # a new connection per request: both workers take some
            response = httpx.get(base + "/healthz", headers={"X-Request-ID": f"drill-{i}"}, timeout=10)
            assert response.headers["x-request-id"] == f"drill-{i}"
        counts = {healthz_count(base) - start for _ in range(6)}
        assert counts == {REQUESTS}, counts
        assert len(writers(metrics_dir)) == 2
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
