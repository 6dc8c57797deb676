"""WeCom shows one member at most 30 app messages a minute and silently drops the rest: a burst
of tickets for one assignee reaches them in full, at WeCom's pace, instead of a third lost."""

from __future__ import annotations

from datetime import timedelta

from core.clock import FrozenClock
from tests.e2e.harness import running
from tests.e2e.slack.test_recipient_locale import OPENED, bob_is_reminded
from tests.e2e.wecom.driver import USERS, wecom_config
from tests.fakes.wecom import FakeWeCom

BURST = 40  # a printer dies: forty people write in the same minute, all to bob.smith


async def _assignment_notices_to_bob(
    db_url: str, clock: FrozenClock, fake: FakeWeCom, **options: bool
) -> list[tuple[int, str]]:
    """Open BURST tickets (all assigned to bob) at once, then let 20 minutes pass; returns when
    each message bob was shown arrived (seconds after the burst) and what it said."""
    config = wecom_config(db_url, fake, robot=False, edit=bob_is_reminded, **options)
    shown: list[tuple[int, str]] = []
    async with running(config, clock) as svc:
        dispatcher = svc.services.dispatcher
        for i in range(BURST):
            async with svc.http.post(
                svc.url + "/api/v1/tickets",
                json={"type": "it", "title": f"打印机坏了 {i}"},
                headers=svc.auth("zhao.li"),
            ) as r:
                assert r.status == 201
        start = clock.now()
        seen = 0
        for _ in range(20 * 6):
            clock.advance(timedelta(seconds=10))
            while await dispatcher.run_once():
                pass
            to_bob = [m for m in fake.api.messages if m.get("touser") == USERS["bob.smith"]]
            for message in to_bob[seen:]:
                shown.append((int((clock.now() - start).total_seconds()), str(message)))
            seen = len(to_bob)
    return shown


async def test_a_burst_for_one_member_reaches_them_in_full_within_wecoms_limit(
    db_url: str,
) -> None:
    clock = FrozenClock(OPENED)
    async with FakeWeCom(clock=clock) as fake:
        shown = await _assignment_notices_to_bob(db_url, clock, fake)
        dropped = [m for m in fake.api.dropped if m.get("touser") == USERS["bob.smith"]]

    assert dropped == []
    assert [i for i in range(BURST) if not any(f"打印机坏了 {i}" in s for _, s in shown)] == []
    arrivals = [at for at, _ in shown]
    assert max(sum(1 for t in arrivals if start <= t < start + 60) for start in arrivals) <= 30


async def test_without_the_quota_wecom_would_have_dropped_part_of_that_burst(
    db_url: str,
) -> None:
    # the same burst with the limit not kept: WeCom answers "ok" to every call and shows bob
    # only thirty of them (the double behaves as WeCom documents)
    clock = FrozenClock(OPENED)
    async with FakeWeCom(clock=clock) as fake:
        await _assignment_notices_to_bob(db_url, clock, fake, keep_quotas=False)
        dropped = [m for m in fake.api.dropped if m.get("touser") == USERS["bob.smith"]]

    assert len(dropped) >= BURST - 30
