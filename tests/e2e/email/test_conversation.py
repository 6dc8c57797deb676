"""Mail in the conversation: a thanks-only reply is no news; comments from the web chat reach
the requester's mailbox, internal notes never do."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.email.driver import compose, key_in, mail_world
from tests.e2e.webchat_clients import join


async def test_a_thanks_only_reply_is_kept_for_the_team_and_relayed_nowhere(
    db_url: str, tmp_path: Path
) -> None:
    async with mail_world(db_url, tmp_path) as world:
        key = key_in((await world.send(compose("VPN down", "Cannot connect.")))[1])
        await world.sink.wait_for(1)
        agent = await join(world.app, "li.lei")
        await agent.send(type="say", room="helpdesk", text=f"/status {key}", client_id="s1")
        await agent.expect("card", ticket=key)
        thanks = compose(f"Re: [{key}] VPN down", "谢谢！\n\n> earlier text", name="张三")
        code, _ = await world.send(thanks)
        await world.delivered()
        comments = await world.comments(key)
        count = await world.ticket_count()

    assert code == 250 and count == 1
    [note] = comments
    assert not note.public and note.author_id == "email-delivery"
    assert "谢谢" in note.body and "zhang.san@example.cn" in note.body
    assert not [f for f in agent.backlog if f["type"] == "message" and f.get("bot")]
    assert len(world.sink.messages) == 1  # the acknowledgement only


async def test_a_web_chat_comment_is_mailed_to_the_requester_and_a_note_never_is(
    db_url: str, tmp_path: Path
) -> None:
    async with mail_world(db_url, tmp_path) as world:
        key = key_in((await world.send(compose("Printer", "paper jam")))[1])
        await world.sink.wait_for(1)
        agent = await join(world.app, "li.lei")
        await agent.send(
            type="say", room="helpdesk", text=f"/note {key} toner secret", client_id="n1"
        )
        await agent.expect("notice", client_id="n1")
        await agent.send(
            type="say", room="helpdesk", text=f"{key} 马上到 / on my way", client_id="p1"
        )
        assert (await agent.expect("ack", client_id="p1"))["kind"] == "key_mention"
        _, relayed = await world.sink.wait_for(2)
        await world.delivered()

    text = relayed.get_body(("plain",))
    assert text is not None and "on my way" in text.get_content()
    assert len(world.sink.messages) == 2
    bodies = [b.get_content() for m in world.sink.messages if (b := m.get_body(("plain",)))]
    assert len(bodies) == 2 and not [b for b in bodies if "toner secret" in b]
