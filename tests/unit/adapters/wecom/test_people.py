"""adapters/wecom/people.py: WeCom's user/get members as the kit's profiles."""

from __future__ import annotations

from typing import Any, cast

import pytest

from adapters.kit.people import LookupFailed, Profile
from adapters.wecom.client import AppClient, WeComError
from adapters.wecom.people import WeComDirectory


class App:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    async def user(self, userid: str) -> dict[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def directory(answer: dict[str, Any] | Exception) -> WeComDirectory:
    return WeComDirectory(cast(AppClient, App(answer)))


async def test_a_member_is_named_with_their_email_from_user_get() -> None:
    member = {"errcode": 0, "userid": "wangfang", "name": "王芳", "biz_mail": "wf@example.com"}
    assert await directory(member).lookup("wangfang") == Profile(
        "wangfang", name="王芳", email="wf@example.com"
    )


async def test_a_disabled_member_is_never_linked_by_email() -> None:
    member = {"errcode": 0, "name": "Gone", "email": "gone@example.com", "status": 2}
    profile = await directory(member).lookup("gone")

    assert profile is not None and profile.deactivated and not profile.linkable


async def test_an_unknown_userid_is_none_and_a_rate_limit_is_a_failed_lookup_with_its_wait() -> (
    None
):
    assert (
        await directory(WeComError(60111, "userid not found", permanent=True)).lookup("x") is None
    )
    with pytest.raises(LookupFailed) as failed:
        await directory(WeComError(45009, "api freq out of limit", retry_after=60.0)).lookup("y")

    assert failed.value.retry_after == 60.0 and not failed.value.permanent
