"""``gongsheng worker``: delivers webhook events from the outbox until stopped.

One loop: claim a subscription whose turn it is (a short transaction), POST its due deliveries
one after another with no transaction open, record each outcome in a transaction of its own;
sleep a poll interval when nothing is due. SIGTERM / SIGINT stop it after the current attempt.
Several workers may run at once on PostgreSQL (leases and ``SKIP LOCKED``: see
``adapters/webhook_store.py``); on SQLite run one.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from gongsheng.adapters.webhook_http import HttpSender, Outcome
from gongsheng.domain.webhooks import RetrySchedule
from gongsheng.services import webhooks
from gongsheng.services.platform import Platform
from gongsheng.settings import Settings


def now_ms() -> int:
    return int(time.time() * 1000)


def delivery_config(settings: Settings) -> webhooks.DeliveryConfig:
    """The worker's configuration from the ``GONGSHENG_WEBHOOKS_*`` settings."""
    return webhooks.DeliveryConfig(
        schedule=RetrySchedule(int(settings.webhooks_retry_base_seconds * 1000),
                               int(settings.webhooks_retry_cap_seconds * 1000),
                               int(settings.webhooks_retry_window_seconds * 1000)),
        lease_ms=int(settings.webhooks_lease_seconds * 1000),
        idle_ms=int(settings.webhooks_poll_seconds * 1000),
        secret_grace_ms=int(settings.webhooks_secret_grace_seconds * 1000),
        allow_private=settings.webhooks_allow_private)


class Worker:
    """A delivery loop over one platform."""

    def __init__(self, platform: Platform, settings: Settings | None = None,
                 clock: Callable[[], int] = now_ms) -> None:
        self.platform = platform
        self.settings = settings or Settings()
        self.config = delivery_config(self.settings)
        self.clock = clock
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.sender = HttpSender(timeout_s=self.settings.webhooks_timeout_seconds,
                                 allow_private=self.config.allow_private)
        self.rng = random.Random()
        self.stopping = threading.Event()
        self.delivered = 0

    def _send(self, attempt: webhooks.Attempt) -> Outcome:
        return self.sender.send(attempt.url, attempt.msg_id, attempt.body, attempt.keys)

    def step(self) -> tuple[bool, int]:
        """One claim and its deliveries: (whether a subscription was claimed, how many went out)."""
        claimed = self.platform.run(webhooks.claim, self.name, self.config, self.clock())
        if claimed is None:
            return False, 0
        sent = webhooks.deliver_claim(self.platform.run, claimed, self._send, self.clock,
                                      self.config, self.rng)
        self.delivered += sent
        return True, sent

    def run(self, *, until_idle: bool = False) -> int:
        """Deliver until stopped (or, with ``until_idle``, until nothing is claimable)."""
        try:
            while not self.stopping.is_set():
                claimed, _ = self.step()
                if not claimed:
                    if until_idle:
                        break
                    self.stopping.wait(self.config.idle_ms / 1000)
        finally:
            self.sender.close()
        return self.delivered

    def stop(self, *_: object) -> None:
        self.stopping.set()


def run_worker(db: str | None, *, until_idle: bool = False) -> int:
    """``gongsheng worker``: the loop on ``db`` with signal handling; how many were delivered."""
    settings = Settings()
    platform = Platform.open(db or settings.db)
    worker = Worker(platform, settings)

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return worker.run(until_idle=until_idle)
    finally:
        platform.engine.dispose()
