"""WeCom's documented send limits, as the outbox keeps them: never more than a window allows."""

from __future__ import annotations

import pytest

from adapters.contract import Quota
from adapters.wecom.quotas import quotas


def _most_in(quota: Quota, seconds: float) -> float:
    """The most sends a burst-and-rate limit lets into any window of `seconds`."""
    return quota.burst + quota.per_second * seconds


def test_messages_to_one_member_keep_the_apps_30_a_minute_and_1000_an_hour() -> None:
    member, api = quotas("card_post", "app:lilei")
    assert member.key == "app-member:lilei"
    assert _most_in(member, 60) <= 30
    assert _most_in(member, 3600) <= 1000
    # and the corp's message/send calls: 10,000 a minute, 150,000 an hour
    assert _most_in(api, 60) <= 10_000
    assert _most_in(api, 3600) <= 150_000


@pytest.mark.parametrize("kind", ["card_post", "notice", "comment"])
def test_every_message_to_a_member_counts_against_both(kind: str) -> None:
    assert [q.key for q in quotas(kind, "app:hanmei")] == [
        "app-member:hanmei",
        "app:message/send",
    ]


def test_updating_a_members_card_is_another_api_and_counts_against_none() -> None:
    assert quotas("card_update", "app:lilei") == ()


def test_a_group_webhook_keeps_its_20_a_minute_whatever_it_sends() -> None:
    for kind in ("card_post", "card_update", "notice"):
        [hook] = quotas(kind, "hook:it")
        assert hook.key == "webhook:it"
        assert _most_in(hook, 60) <= 20


def test_the_smart_robot_documents_no_limit_and_is_not_held_back() -> None:
    assert quotas("card_post", "robot:group:wrgroup") == ()
    assert quotas("notice", "robot:single:lilei") == ()
