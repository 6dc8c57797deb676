"""Mail that lies about its sender, and mail no parser can take: neither is trusted, neither is
retried for ever, nothing of it is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.email.parse import ORIGINAL_NAME
from core.commands import Command
from core.errors import Conflict
from tests.e2e.email.driver import IT, MailWorld, compose, key_in, mail_world
from tests.unit.adapters.email.hostile_mail import nested_multipart

API = "/api/v1"
LEAD = "li.lei@acme.example"  # 李雷, the IT team's lead, in the configuration
ATTACKER = "attacker@evil.example"
TRUSTED = {"authserv_ids": ["mx.acme.example"]}
UNVERIFIED = "发件人未验证 / unverified sender"


async def api(world: MailWorld, path: str) -> Any:
    app = world.app
    async with app.http.get(app.url + API + path, headers=app.auth("admin")) as r:
        assert r.status == 200, await r.text()
        return await (r.json() if r.content_type == "application/json" else r.read())


async def ticket_from_zhang_san(world: MailWorld) -> str:
    code, reply = await world.send(compose("VPN down", "Cannot connect since 9:00."))
    assert code == 250
    return key_in(reply)


def reply_as_lead(key: str, body: str, *, auth_results: str | None = None) -> bytes:
    headers = {"Authentication-Results": auth_results} if auth_results else {}
    return compose(f"Re: [{key}] VPN down", body, sender=LEAD, name="李雷", headers=headers)


# --- unreadable mail ------------------------------------------------------------------------


async def test_mail_nested_a_thousand_deep_gets_250_and_a_ticket_with_the_original_attached(
    sqlite_url: str, tmp_path: Path
) -> None:
    raw = nested_multipart(1000, top_text="三楼打印机冒烟了", to=IT)
    async with mail_world(sqlite_url, tmp_path, attachment_limit=2**20) as world:
        code, reply = await world.send(raw)
        assert code == 250, reply
        key = key_in(reply)

        ticket = await world.ticket(key)
        assert ticket is not None and ticket.title == "Nested mail"
        assert "三楼打印机冒烟了" in ticket.description
        assert "原始邮件见附件 original-message.eml" in ticket.description
        assert "the original is attached as original-message.eml" in ticket.description
        [original] = (await api(world, f"/tickets/{key}/attachments"))["items"]
        assert (original["filename"], original["stored"]) == (ORIGINAL_NAME, True)
        assert await api(world, f"/attachments/{original['id']}") == raw

        assert (await world.send(raw))[0] == 250  # the MTA's retry is a duplicate
        assert await world.ticket_count() == 1


class RefusesEverything:
    """The real service, except that every command is refused the same way every time."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def submit(self, command: Command, **kwargs: Any) -> Any:
        raise Conflict("refused, as it will be next time")


async def test_mail_the_service_refuses_every_time_gets_554_never_451(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        world.channel.intake.gateway = RefusesEverything(world.app.services.service)
        code, reply = await world.send(compose("Printer jammed", "3F east"))
        assert code == 554, reply


# --- unproven senders -----------------------------------------------------------------------


async def test_spoofed_from_of_the_it_lead_becomes_an_unverified_note_not_his_comment(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path, emails={"li.lei": LEAD}) as world:
        key = await ticket_from_zhang_san(world)
        raw = reply_as_lead(key, "Please re-enter your password at http://evil.example/vpn")
        code, _ = await world.send(raw, sender=ATTACKER)
        assert code == 250

        [comment] = (await api(world, f"/tickets/{key}/comments"))["items"]
        assert comment["author"] != "li.lei"
        assert comment["public"] is False  # never mailed to the requester nor relayed
        assert comment["body"].startswith(f"⚠ {UNVERIFIED}: {LEAD}")
        assert "http://evil.example/vpn" in comment["body"]
        ticket = await world.ticket(key)
        assert ticket is not None and ticket.first_response_at is None


async def test_spoofed_from_opens_a_ticket_as_an_unverified_requester_shown_on_the_card(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path, emails={"li.lei": LEAD}) as world:
        raw = compose("Shut down the VPN tonight", "Orders from the lead.", sender=LEAD)
        code, reply = await world.send(raw, sender=ATTACKER)
        assert code == 250
        key = key_in(reply)

        ticket = await api(world, f"/tickets/{key}")
        assert ticket["requester"] == f"mail-unverified:{LEAD}"
        assert ticket["description"].startswith(f"⚠ {UNVERIFIED}: {LEAD}")
        card = await world.app.services.service.card(key, "zh-CN")
        assert card is not None
        [requester] = [f.value for f in card.fields if f.label == "提单人"]
        assert requester == f"{LEAD}（发件人未验证）"
        assert card.body.startswith(f"⚠ {UNVERIFIED}")


async def test_dmarc_pass_from_the_trusted_authserv_id_is_the_it_lead_himself(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(
        sqlite_url, tmp_path, emails={"li.lei": LEAD}, sender_verification=TRUSTED
    ) as world:
        key = await ticket_from_zhang_san(world)
        passed = "mx.acme.example; spf=pass smtp.mailfrom=acme.example; dmarc=pass header.from=acme.example"
        code, _ = await world.send(
            reply_as_lead(key, "Restarted the VPN gateway.", auth_results=passed), sender=LEAD
        )
        assert code == 250

        [comment] = (await api(world, f"/tickets/{key}/comments"))["items"]
        assert (comment["author"], comment["public"]) == ("li.lei", True)
        assert comment["body"] == "Restarted the VPN gateway."


async def test_the_same_header_from_an_untrusted_authserv_id_is_ignored(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(
        sqlite_url, tmp_path, emails={"li.lei": LEAD}, sender_verification=TRUSTED
    ) as world:
        key = await ticket_from_zhang_san(world)
        forged = "mx.evil.example; dmarc=pass header.from=acme.example"
        code, _ = await world.send(reply_as_lead(key, "Done.", auth_results=forged), sender=LEAD)
        assert code == 250

        [comment] = (await api(world, f"/tickets/{key}/comments"))["items"]
        assert comment["author"] != "li.lei" and comment["public"] is False
        assert UNVERIFIED in comment["body"]


async def test_the_trusted_header_is_ignored_from_a_peer_that_is_not_our_relay(
    sqlite_url: str, tmp_path: Path
) -> None:
    elsewhere = {**TRUSTED, "trusted_relays": ["192.0.2.25"]}  # the test client is 127.0.0.1
    async with mail_world(
        sqlite_url, tmp_path, emails={"li.lei": LEAD}, sender_verification=elsewhere
    ) as world:
        key = await ticket_from_zhang_san(world)
        written = "mx.acme.example; dmarc=pass header.from=acme.example"
        code, _ = await world.send(reply_as_lead(key, "Done.", auth_results=written), sender=LEAD)
        assert code == 250

        [comment] = (await api(world, f"/tickets/{key}/comments"))["items"]
        assert comment["author"] != "li.lei"
        assert UNVERIFIED in comment["body"]
