"""A sender on any platform becomes a Person: configured identity, same e-mail, or a requester."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from adapters.kit.people import RETRY_S, LookupFailed, PeopleResolver, Profile
from core.i18n import Text
from core.people import Person, Role
from tests.fakes.gateway import DirectoryGateway

ADA = Person("ada", Text("Ada", "阿达"), identities={"dt": "ada01"}, roles=frozenset({Role.AGENT}))
BO = Person("bo", Text("Bo", "博"), email="bo@example.com", roles=frozenset({Role.LEAD}))


class Clock:
    """Injected monotonic time: moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Directory:
    """A platform directory answered from a dict; an exception listed for a user is raised.

    `gate`, when set, holds every lookup until the test opens it."""

    def __init__(self, users: Mapping[str, Profile | LookupFailed | None]) -> None:
        self.users = dict(users)
        self.asked: list[str] = []
        self.gate: asyncio.Event | None = None

    async def lookup(self, user_id: str) -> Profile | None:
        self.asked.append(user_id)
        if self.gate is not None:
            await self.gate.wait()
        answer = self.users.get(user_id)
        if isinstance(answer, LookupFailed):
            raise answer
        return answer


def resolver(
    users: Mapping[str, Profile | LookupFailed | None], people: list[Person] | None = None
) -> tuple[PeopleResolver, Directory, DirectoryGateway, Clock]:
    known = [ADA, BO] if people is None else people
    directory, door, clock = Directory(users), DirectoryGateway(known), Clock()
    found = PeopleResolver("dt", door, [ADA, BO], "zh-CN", directory, now=clock)
    return found, directory, door, clock


async def test_a_configured_identity_wins_without_asking_the_platform() -> None:
    people, directory, door, _ = resolver({"ada01": Profile("ada01", "Someone Else")})

    assert await people.person("ada01") == ADA
    assert directory.asked == [] and door.registered == []


async def test_an_unknown_user_is_looked_up_once_even_when_their_messages_arrive_together() -> None:
    people, directory, door, _ = resolver(
        {"wang": Profile("wang", "王五", timezone="Asia/Shanghai")}
    )
    directory.gate = asyncio.Event()

    waiting = [asyncio.create_task(people.person("wang")) for _ in range(3)]
    await asyncio.sleep(0)
    directory.gate.set()
    found = await asyncio.gather(*waiting)

    assert directory.asked == ["wang"]
    assert found[0] is found[1] is found[2] and door.registered == [found[0]]
    assert found[0].id == "dt:wang" and found[0].display("en") == "王五"
    assert found[0].roles == frozenset({Role.REQUESTER}) and found[0].timezone == "Asia/Shanghai"
    assert await people.person("wang") is found[0] and directory.asked == ["wang"]


async def test_a_profile_with_a_configured_email_is_linked_to_that_person() -> None:
    people, _, door, _ = resolver({"bo02": Profile("bo02", "Bo Two", email="BO@example.com")})

    person = await people.person("bo02")

    assert person.id == "bo" and person.roles == BO.roles
    assert person.identities == {"dt": "bo02"}
    assert door.directory.by_identity("dt", "bo02") == person


async def test_a_bot_or_deactivated_account_with_a_configured_email_stays_a_requester() -> None:
    people, _, _, _ = resolver(
        {
            "bot": Profile("bot", "Bo's bot", email="bo@example.com", is_bot=True),
            "gone": Profile("gone", "Old Bo", email="bo@example.com", deactivated=True),
        }
    )

    bot, gone = await people.person("bot"), await people.person("gone")

    assert (bot.id, gone.id) == ("dt:bot", "dt:gone")
    assert bot.roles == gone.roles == frozenset({Role.REQUESTER})
    assert people.named("bot") == bot  # registered, so known from now on


async def test_a_failed_lookup_registers_a_bare_requester_and_asks_again_later() -> None:
    people, directory, door, clock = resolver({"li": LookupFailed("directory: 500")})

    bare = await people.person("li")
    assert bare.id == "dt:li" and bare.display("zh-CN") == "li"
    clock.t += RETRY_S - 1
    assert await people.person("li") is bare and directory.asked == ["li"]

    directory.users["li"] = Profile("li", "李雷", email="li@example.com")
    clock.t += 1
    named = await people.person("li")

    assert directory.asked == ["li", "li"]
    assert named.id == "dt:li" and named.display("en") == "李雷" and named.email == "li@example.com"
    assert door.registered == [bare, named]
    assert door.directory.by_identity("dt", "li") == named


async def test_a_bare_requester_from_before_a_restart_is_looked_up_on_their_next_message() -> None:
    stored = Person("dt:li", Text("li", "li"), identities={"dt": "li"})
    people, directory, _, _ = resolver(
        {"li": Profile("li", email="bo@example.com")}, [ADA, BO, stored]
    )

    person = await people.person("li")

    assert directory.asked == ["li"]
    assert person.id == "bo" and person.identities == {"dt": "li"}


async def test_a_rate_limit_spares_the_platform_until_it_ends() -> None:
    people, directory, door, clock = resolver(
        {"a": LookupFailed("429", retry_after=600.0), "b": Profile("b", "Bee")}
    )

    await people.person("a")
    waited = await people.person("b")  # during the pause: nobody is asked, b is named by id
    assert directory.asked == ["a"] and waited.display("en") == "b"

    clock.t += 600
    assert (await people.person("b")).display("en") == "Bee"
    assert directory.asked == ["a", "b"]
    assert [p.display("en") for p in door.registered] == ["a", "b", "Bee"]


async def test_a_sender_the_message_names_is_registered_without_a_directory() -> None:
    door = DirectoryGateway([ADA, BO])
    mail = PeopleResolver("email", door, [BO], "en", id_prefix="mail:", link_identity=False)

    stranger = await mail.person(
        "wu@example.com", Profile("wu@example.com", "Wu", "wu@example.com")
    )
    bo = await mail.person("bo@example.com", Profile("bo@example.com", "B", "bo@example.com"))

    assert stranger.id == "mail:wu@example.com" and stranger.identities == {
        "email": "wu@example.com"
    }
    assert bo == BO and door.registered == [stranger]  # the configured person is left as is
