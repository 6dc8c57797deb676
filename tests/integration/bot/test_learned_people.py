"""People first met on a channel are stored with the first command that names them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.bootstrap import build
from core.commands import OpenTicket
from core.i18n import Text
from core.people import Person
from core.ticket import ChannelRef
from storage.people import load_people
from tests.dbs import fresh_database
from tests.e2e.harness import service_config

NEWCOMER = Person(
    "mail:wu@example.cn",
    Text("Wu", "吴"),
    email="wu@example.cn",
    identities={"email": "wu@example.cn"},
)
QUIET = Person("mail:qian@example.cn", Text("Qian", "钱"), email="qian@example.cn")


async def test_a_newcomer_is_stored_with_their_first_ticket_and_a_quiet_one_at_shutdown(
    tmp_path: Path,
) -> None:
    async with fresh_database("sqlite", tmp_path) as url:
        services = await build(service_config(url))
        await services.start()
        gateway = services.service
        await gateway.register_person(NEWCOMER)
        await gateway.register_person(QUIET)
        assert gateway.directory.person(NEWCOMER.id) == NEWCOMER  # known at once
        done = await gateway.submit(
            OpenTicket("it", "VPN", NEWCOMER.id, ChannelRef("email", "wu@example.cn"))
        )
        assert done.value.requester_id == NEWCOMER.id
        async with services.engine.connect() as conn:
            stored = {p.id for p in await load_people(conn)}
        assert NEWCOMER.id in stored  # in the ticket's own transaction
        await services.stop()

        again = await build(service_config(url))
        async with again.engine.connect() as conn:
            reloaded = {p.id: p for p in await load_people(conn)}
        await again.engine.dispose()
        assert reloaded[QUIET.id].name == QUIET.name  # flushed when the service stopped
        assert reloaded[NEWCOMER.id].identities == {"email": "wu@example.cn"}


async def test_a_configured_person_linked_on_a_channel_keeps_the_link_after_a_restart(
    tmp_path: Path,
) -> None:
    # han.meimei is configured with an e-mail and no Slack identity; found on Slack by e-mail
    # (or by writing to the bot), she must not be looked up again on every start
    async with fresh_database("sqlite", tmp_path) as url:
        services = await build(service_config(url))
        await services.start()
        han = services.service.directory.person("han.meimei")
        assert han is not None and "slack" not in han.identities
        await services.service.register_person(
            replace(han, identities={**han.identities, "slack": "U0HAN"})
        )
        await services.stop()

        again = await build(service_config(url))
        await again.engine.dispose()

    linked = again.service.directory.person("han.meimei")
    assert linked is not None and linked.identities.get("slack") == "U0HAN"
    assert again.service.directory.by_identity("slack", "U0HAN") == linked
