"""An operator can read how long an inbound request waits between arriving and being committed."""

from __future__ import annotations

from tests.e2e.harness import commit_histogram, running, service_config

API = "/api/v1"


async def test_a_rest_request_with_an_idempotency_key_is_timed_under_api(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        async with svc.http.post(
            svc.url + API + "/tickets",
            json={"type": "it", "title": "timed"},
            headers={**svc.auth("zhao.li"), "Idempotency-Key": "t-1"},
        ) as r:
            assert r.status == 201
        count, _ = await commit_histogram(svc, "api")
        # without a key a request is not an inbound delivery: it is not timed
        async with svc.http.post(
            svc.url + API + "/tickets",
            json={"type": "it", "title": "untimed"},
            headers=svc.auth("zhao.li"),
        ) as r:
            assert r.status == 201
        after, _ = await commit_histogram(svc, "api")

    assert count == 1 and after == 1
