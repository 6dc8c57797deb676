"""People from the configuration survive a restart and follow config changes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from core.i18n import Text
from core.people import Person, Role
from storage.people import load_people, sync_people

WANG = Person(
    "wang",
    Text("Wang Fang", "王芳"),
    email="wang@example.com",
    roles=frozenset({Role.AGENT, Role.LEAD}),
    identities={"dingtalk": "manager4220", "wecom": "WangFang"},
)
LI = Person("li", Text("Li Lei", "李雷"), locale="en", identities={"slack": "U024BE7LH"})


async def test_config_people_are_stored_with_their_identities(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await sync_people(conn, [WANG, LI])
    async with engine.connect() as conn:
        loaded = await load_people(conn)

    assert loaded == [LI, WANG]


async def test_syncing_again_follows_renames_and_moved_identities(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await sync_people(conn, [WANG, LI])
    renamed = Person(
        "li", Text("Li Lei (IT)", "李雷"), locale="en", identities={"wecom": "WangFang"}
    )
    async with engine.begin() as conn:
        await sync_people(conn, [renamed])
    async with engine.connect() as conn:
        by_id = {p.id: p for p in await load_people(conn)}

    assert by_id["li"] == renamed
    assert by_id["wang"].identities == {"dingtalk": "manager4220"}
