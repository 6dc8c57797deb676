"""Slack users become people: by configured identity, by e-mail, or as new requesters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.contract import DeliveryError
from adapters.kit.people import RETRY_S
from adapters.slack.client import SlackClient
from adapters.slack.people import SlackPeople
from core.i18n import Text
from core.people import Person, Role
from tests.fakes.gateway import DirectoryGateway

ADA = Person(
    "ada", Text("Ada", "阿达"), identities={"slack": "U0ADA"}, roles=frozenset({Role.AGENT})
)
BO = Person("bo", Text("Bo", "博"), email="bo@example.com")


class Profiles(SlackClient):
    """users.info answered from a dict; a user listed as None makes Slack fail."""

    def __init__(self, users: Mapping[str, dict[str, Any] | None]) -> None:
        super().__init__("xoxb-unit")
        self.users = users
        self.asked: list[str] = []

    async def user_info(self, user_id: str) -> dict[str, Any] | None:
        self.asked.append(user_id)
        if user_id in self.users and self.users[user_id] is None:
            raise DeliveryError("users.info: internal_error")
        return self.users.get(user_id)


def _user(name: str, email: str | None = None) -> dict[str, Any]:
    profile = {"real_name": name} | ({"email": email} if email else {})
    return {"id": "U", "name": name.lower(), "profile": profile, "tz": "Asia/Shanghai"}


async def test_configured_identity_needs_no_lookup() -> None:
    client, door = Profiles({}), DirectoryGateway([ADA, BO])
    people = SlackPeople(client, door, [ADA, BO], "zh-CN")

    assert await people.person("U0ADA") == ADA
    assert client.asked == [] and door.registered == []


async def test_same_email_links_the_slack_user_to_the_configured_person() -> None:
    door = DirectoryGateway([ADA, BO])
    people = SlackPeople(Profiles({"U0BO": _user("Bo", "BO@example.com")}), door, [ADA, BO], "en")

    person = await people.person("U0BO")

    assert person.id == "bo" and person.identities == {"slack": "U0BO"}
    assert door.directory.by_identity("slack", "U0BO") == person


async def test_unknown_user_becomes_a_requester_named_from_slack_once() -> None:
    client, door = (
        Profiles({"U0NEW": _user("Wang Wu", "wang@example.com")}),
        DirectoryGateway([ADA, BO]),
    )
    people = SlackPeople(client, door, [ADA, BO], "zh-CN")

    first = await people.person("U0NEW")
    again = await people.person("U0NEW")

    assert first is again and client.asked == ["U0NEW"]
    assert first.id == "slack:U0NEW" and first.display("zh-CN") == "Wang Wu"
    assert first.roles == frozenset({Role.REQUESTER}) and first.timezone == "Asia/Shanghai"
    assert door.registered == [first]


async def test_slack_failing_still_lets_the_user_raise_a_ticket() -> None:
    people = SlackPeople(Profiles({"U0DOWN": None}), DirectoryGateway([ADA, BO]), [ADA], "en")

    person = await people.person("U0DOWN")

    assert person.id == "slack:U0DOWN" and person.display("en") == "U0DOWN"


async def test_a_slack_bot_with_a_configured_persons_email_does_not_become_that_person() -> None:
    bot = _user("Bo's bot", "bo@example.com") | {"is_bot": True}
    door = DirectoryGateway([ADA, BO])
    people = SlackPeople(Profiles({"B0BOT": bot}), door, [ADA, BO], "en")

    person = await people.person("B0BOT")

    assert person.id == "slack:B0BOT" and person.roles == frozenset({Role.REQUESTER})
    bo = door.directory.person("bo")
    assert bo is not None and "slack" not in bo.identities


async def test_a_user_named_by_id_while_slack_failed_gets_their_name_when_slack_answers() -> None:
    client, ticks = Profiles({"U0DOWN": None}), [0.0]
    people = SlackPeople(client, DirectoryGateway([ADA]), [ADA], "en", now=lambda: ticks[0])
    assert (await people.person("U0DOWN")).display("en") == "U0DOWN"

    client.users = {"U0DOWN": _user("Zhao Liu")}
    ticks[0] += RETRY_S

    assert (await people.person("U0DOWN")).display("en") == "Zhao Liu"
    assert client.asked == ["U0DOWN", "U0DOWN"]
