"""Attachments over REST: a ticket's list, and downloads under the file's own name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.ports import InboundFile, attachment_id
from tests.e2e.harness import Running, running, service_config

API = "/api/v1"
SCAN = b"%PDF-1.4 pretend scan"


def _config(db_url: str, tmp_path: Path) -> Any:
    return service_config(db_url, env={"GONGDAN_ATTACHMENTS__DIR": str(tmp_path / "files")})


async def _ticket_with_files(svc: Running) -> tuple[str, list[str]]:
    async with svc.http.post(
        svc.url + API + "/tickets",
        json={"type": "it", "title": "报销单扫描件"},
        headers=svc.auth("zhao.li"),
    ) as r:
        key = str((await r.json())["key"])
    files = [
        InboundFile(
            attachment_id("test", key, 1), '发票 2026"Q1".pdf', "application/pdf", len(SCAN), SCAN
        ),
        InboundFile(attachment_id("test", key, 2), "huge.iso", "application/octet-stream", 2**40),
    ]
    kept = await svc.services.service.store_attachments(key, files)
    assert kept == [files[0].id]  # the one within the size limit
    return key, [f.id for f in files]


async def test_ticket_attachments_are_listed_and_downloaded_with_their_names(
    db_url: str, tmp_path: Path
) -> None:
    async with running(_config(db_url, tmp_path)) as svc:
        key, (scan_id, iso_id) = await _ticket_with_files(svc)

        async with svc.http.get(
            f"{svc.url}{API}/tickets/{key}/attachments", headers=svc.auth("li.lei")
        ) as r:
            assert r.status == 200
            items = (await r.json())["items"]
        assert [(a["id"], a["stored"], a["size"]) for a in items] == [
            (scan_id, True, len(SCAN)),
            (iso_id, False, 2**40),
        ]
        assert items[0]["download"] == f"{API}/attachments/{scan_id}"

        async with svc.http.get(
            f"{svc.url}{API}/attachments/{scan_id}", headers=svc.auth("li.lei")
        ) as r:
            assert r.status == 200
            assert await r.read() == SCAN
            disposition = r.headers["Content-Disposition"]
            assert r.headers["Content-Type"] == "application/pdf"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert disposition.startswith('attachment; filename="')
        assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8%202026%22Q1%22.pdf" in disposition


async def test_attachments_need_a_token_and_unknown_ones_are_404(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with running(_config(sqlite_url, tmp_path)) as svc:
        key, (scan_id, iso_id) = await _ticket_with_files(svc)
        for path in (f"/tickets/{key}/attachments", f"/attachments/{scan_id}"):
            async with svc.http.get(svc.url + API + path) as r:
                assert r.status == 401

        expected = {
            "/tickets/IT-9999/attachments": "not_found",
            "/attachments/no-such-file": "not_found",
            f"/attachments/{iso_id}": "not_stored",
        }
        for path, error in expected.items():
            async with svc.http.get(svc.url + API + path, headers=svc.auth("admin")) as r:
                assert r.status == 404
                assert (await r.json())["error"] == error


async def test_a_ticket_without_files_lists_none(sqlite_url: str, tmp_path: Path) -> None:
    async with running(_config(sqlite_url, tmp_path)) as svc:
        async with svc.http.post(
            svc.url + API + "/tickets",
            json={"type": "it", "title": "VPN"},
            headers=svc.auth("zhao.li"),
        ) as r:
            key = (await r.json())["key"]
        async with svc.http.get(
            f"{svc.url}{API}/tickets/{key}/attachments", headers=svc.auth("zhao.li")
        ) as r:
            assert r.status == 200 and await r.json() == {"items": []}
        assert not (tmp_path / "files").exists()
