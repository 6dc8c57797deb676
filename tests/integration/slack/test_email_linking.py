"""Configured people who only have an e-mail are found on Slack (users.lookupByEmail) at start."""

from __future__ import annotations

import logging

import pytest

from adapters.slack.client import SlackClient
from adapters.slack.people import LOOKUP_INTERVAL_S, SlackPeople, SlackReach
from bot.delivery.notices import NoticeRouter
from core.clock import FrozenClock
from core.i18n import Text
from core.people import Person, Role
from core.ports import Context
from core.ticket import ChannelRef
from tests.fakes.gateway import DirectoryGateway
from tests.fakes.slack import FakeSlack

HAN = Person(
    "han", Text("Han Meimei", "韩梅梅"), email="han@example.com", roles=frozenset({Role.AGENT})
)
LI = Person("li", Text("Li Lei", "李雷"), email="li@example.com", roles=frozenset({Role.LEAD}))
ADA = Person("ada", Text("Ada", "阿达"), email="ada@example.com", identities={"slack": "U0ADA"})
NOMAIL = Person("nomail", Text("No Mail", "无邮箱"))


class Naps:
    """An injected sleep: remembers each wait instead of waiting."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


def linker(slack: FakeSlack, people: list[Person]) -> tuple[SlackPeople, DirectoryGateway, Naps]:
    door, naps = DirectoryGateway(people), Naps()
    client = SlackClient(slack.bot_token, slack.base_url)
    return SlackPeople(client, door, people, "zh-CN", sleep=naps), door, naps


async def test_a_person_with_only_an_email_is_linked_and_reminders_then_reach_them_on_slack(
    slack: FakeSlack, clock: FrozenClock
) -> None:
    slack.add_user("U0HAN", "Meimei", email="HAN@example.com")
    people, door, _ = linker(slack, [HAN, NOMAIL])
    router = NoticeRouter(Context({}, door.directory, clock), (SlackReach(),))
    assert router.direct("han") == []  # no Slack identity: no way to DM them

    linked = await people.link_by_email([HAN, NOMAIL])

    assert [(p.id, dict(p.identities)) for p in linked] == [("han", {"slack": "U0HAN"})]
    assert door.registered == linked
    assert router.direct("han") == [ChannelRef("slack", "U0HAN")]
    # when they write, they are recognised without asking Slack again
    assert await people.person("U0HAN") == linked[0]
    assert slack.calls_to("users.info") == []
    assert [c.body["email"] for c in slack.calls_to("users.lookupByEmail")] == ["han@example.com"]


async def test_unknown_email_links_nothing_and_logs_no_error(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gongdan.slack")
    people, door, _ = linker(slack, [HAN])

    linked = await people.link_by_email([HAN])

    assert linked == [] and door.registered == []
    assert len(slack.calls_to("users.lookupByEmail")) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_rate_limited_lookup_is_retried_after_retry_after(slack: FakeSlack) -> None:
    slack.add_user("U0HAN", "Meimei", email="han@example.com")
    slack.fail_next("users.lookupByEmail", 429, retry_after=7)
    people, _, naps = linker(slack, [HAN])

    linked = await people.link_by_email([HAN])

    assert [p.id for p in linked] == ["han"]
    assert naps.taken == [7.0]
    assert len(slack.calls_to("users.lookupByEmail")) == 2


async def test_lookups_are_paced_and_only_people_without_a_slack_identity_are_looked_up(
    slack: FakeSlack,
) -> None:
    slack.add_user("U0HAN", "Meimei", email="han@example.com")
    slack.add_user("U0LI", "Li Lei", email="li@example.com")
    people, _, naps = linker(slack, [ADA, HAN, NOMAIL, LI])

    linked = await people.link_by_email([ADA, HAN, NOMAIL, LI])

    assert [p.identities["slack"] for p in linked] == ["U0HAN", "U0LI"]
    asked = [c.body["email"] for c in slack.calls_to("users.lookupByEmail")]
    assert asked == ["han@example.com", "li@example.com"]
    assert naps.taken == [LOOKUP_INTERVAL_S]  # one pause between the two lookups


async def test_deactivated_accounts_and_bots_are_not_linked(slack: FakeSlack) -> None:
    slack.add_user("U0HAN", "Meimei", email="han@example.com", deleted=True)
    slack.add_user("U0LIBOT", "Li Bot", email="li@example.com", is_bot=True)
    people, door, _ = linker(slack, [HAN, LI])

    linked = await people.link_by_email([HAN, LI])

    assert linked == [] and door.registered == []
    assert door.directory.by_identity("slack", "U0HAN") is None


async def test_a_failing_lookup_skips_that_person_and_a_refused_one_stops(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.add_user("U0LI", "Li Lei", email="li@example.com")
    slack.fail_next("users.lookupByEmail", 500)
    people, _, _ = linker(slack, [HAN, LI])

    linked = await people.link_by_email([HAN, LI])

    assert [p.id for p in linked] == ["li"]  # han's lookup failed, li's went on

    slack.fail_next("users.lookupByEmail", 200, error="missing_scope")
    again, _, _ = linker(slack, [HAN, NOMAIL, LI])
    before = len(slack.calls_to("users.lookupByEmail"))

    assert await again.link_by_email([HAN, LI]) == []
    assert len(slack.calls_to("users.lookupByEmail")) == before + 1  # no point asking again
    assert any("missing_scope" in str(getattr(r, "error", "")) for r in caplog.records)
