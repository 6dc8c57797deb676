"""Permalinks to Slack messages, in chat.getPermalink's format, from auth.test's workspace URL."""

from __future__ import annotations

import pytest

from adapters.slack.links import permalink

WORKSPACE = "https://acme.slack.com/"


def test_a_top_level_message_links_to_its_channel_and_ts_without_the_dot() -> None:
    link = permalink(WORKSPACE, "C1H9RESGA", "1358546515.000008")

    assert link == "https://acme.slack.com/archives/C1H9RESGA/p1358546515000008"


def test_a_reply_in_a_thread_names_the_thread_and_the_channel() -> None:
    link = permalink(WORKSPACE, "C1H9RESGL", "1358546517.000023", "1358546515.000008")

    assert link == (
        "https://acme.slack.com/archives/C1H9RESGL/p1358546517000023"
        "?thread_ts=1358546515.000008&cid=C1H9RESGL"
    )


def test_a_thread_parent_is_a_top_level_message() -> None:
    link = permalink(WORKSPACE, "C1", "1358546515.000008", "1358546515.000008")

    assert link == "https://acme.slack.com/archives/C1/p1358546515000008"


def test_a_workspace_url_without_its_trailing_slash_still_works() -> None:
    link = permalink("https://acme.enterprise.slack.com", "D024BE91L", "1700000000.000100")

    assert link == "https://acme.enterprise.slack.com/archives/D024BE91L/p1700000000000100"


@pytest.mark.parametrize(
    ("workspace", "channel", "ts"),
    [
        (None, "C1", "1700000000.000100"),  # auth.test gave no url (an old fake, a failure)
        ("", "C1", "1700000000.000100"),
        ("javascript:alert(1)//", "C1", "1700000000.000100"),
        ("acme.slack.com", "C1", "1700000000.000100"),
        (WORKSPACE, None, "1700000000.000100"),
        (WORKSPACE, "C1/../../x", "1700000000.000100"),
        (WORKSPACE, "C1", "view:V123"),  # a modal submission is not a message
    ],
)
def test_no_link_rather_than_a_wrong_one(
    workspace: str | None, channel: str | None, ts: str
) -> None:
    assert permalink(workspace, channel, ts) is None
