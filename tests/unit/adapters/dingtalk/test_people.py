"""adapters/dingtalk/people.py: DingTalk's directory entries as the kit's profiles."""

from __future__ import annotations

from typing import Any, cast

import pytest

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient
from adapters.dingtalk.people import DingTalkDirectory
from adapters.kit.people import LookupFailed, Profile


class Client:
    def __init__(self, answer: dict[str, Any] | Exception | None) -> None:
        self.answer = answer

    async def user(self, staff_id: str) -> dict[str, Any] | None:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def directory(answer: dict[str, Any] | Exception | None) -> DingTalkDirectory:
    return DingTalkDirectory(cast(DingTalkClient, Client(answer)))


async def test_a_staff_member_is_named_with_their_email_from_the_directory() -> None:
    entry = {"userid": "staff0009", "name": "王芳", "org_email": "wang.fang@example.com"}
    assert await directory(entry).lookup("staff0009") == Profile(
        "staff0009", name="王芳", email="wang.fang@example.com"
    )


async def test_someone_who_left_is_never_linked_by_email() -> None:
    entry = {"name": "Gone", "email": "gone@example.com", "active": False}
    profile = await directory(entry).lookup("staff0010")

    assert profile is not None and profile.deactivated and not profile.linkable


async def test_no_such_user_is_none_and_a_rate_limit_is_a_failed_lookup_with_its_wait() -> None:
    assert await directory(None).lookup("nobody") is None
    with pytest.raises(LookupFailed) as failed:
        await directory(DeliveryError("dingtalk: 429", retry_after=2.0)).lookup("staff0011")

    assert failed.value.retry_after == 2.0 and not failed.value.permanent


async def test_no_such_user_is_named_by_the_nick_their_message_carried() -> None:
    staff = directory(None)
    staff.nicks["guest0042"] = "周杰"

    assert await staff.lookup("guest0042") == Profile("guest0042", name="周杰")
