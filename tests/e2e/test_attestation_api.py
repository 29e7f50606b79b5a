"""``GET /api/v1/reports/attestation``: the signed document, admin only, verifiable offline."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gongsheng.adapters.signing_key import public_key_file, read_public_key
from gongsheng.domain.attestation import verify
from gongsheng.settings import Settings

from .conftest import SECRET, Api, make_api


@pytest.fixture
def signed_api(city: Any, tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    key = tmp_path / "attest.key"
    yield from ((api, key) for api in make_api(
        city, Settings(secret_key=SECRET, attestation_key_file=key)))


def test_attestation_is_signed_and_admin_only(signed_api: tuple[Api, Path]) -> None:
    api, key = signed_api
    assert api.call("GET", "/reports/attestation").status_code == 404  # nothing closed yet
    api.city.order(100_000)
    api.city.platform.close_period()
    response = api.call("GET", "/reports/attestation?period=1")
    assert response.status_code == 200, response.text
    checked = verify(response.content, read_public_key(public_key_file(key)))
    assert checked.ok, checked.detail
    assert checked.body is not None and checked.body["period"] == 1 and checked.body["holds"]
    assert json.loads(response.content)["attestation"] == checked.body
    for who in ("consumer", "partner", "merchant"):
        assert api.call("GET", "/reports/attestation?period=1", who).status_code == 403
    assert api.call("GET", "/reports/attestation?period=2").status_code == 404
    assert api.call("GET", "/reports/attestation?period=x").status_code == 422


def test_attestation_page_and_file(signed_api: tuple[Api, Path]) -> None:
    from .test_party_pages import sign_in

    api, key = signed_api
    sign_in(api, "admin")
    empty = api.client.get("/admin/attestation?lang=en")
    assert empty.status_code == 200 and 'id="no-attestation"' in empty.text
    api.city.order(100_000)
    api.city.platform.close_period()
    page = api.client.get("/admin/attestation?period=1&lang=en")
    assert page.status_code == 200
    assert page.text.count("data-statement=") == 8 and 'id="verdict" data-holds="1"' in page.text
    public = read_public_key(public_key_file(key))
    assert base64.b64encode(public).decode() in page.text
    zh = api.client.get("/admin/attestation?period=1&lang=zh")
    assert "合规证明（按期）" in zh.text and "本期账簿封存" in zh.text
    signed = api.client.get("/admin/attestation.json?period=1")
    assert signed.status_code == 200 and "attachment" in signed.headers["content-disposition"]
    assert verify(signed.content, public).ok
    sign_in(api, "alice")
    assert api.client.get("/admin/attestation").status_code == 403
    assert api.client.get("/admin/attestation.json").status_code == 403
