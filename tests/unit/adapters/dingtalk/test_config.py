"""channels.dingtalk: what check-config says about it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.dingtalk.config import DingTalkConfig, check
from adapters.kit.config import Known

KNOWN = Known(types={"it": "ticket_types[0]"})


def test_missing_credentials_are_named_with_where_to_find_them() -> None:
    problems = check({"enabled": True}, KNOWN)

    assert any(p.startswith("channels.dingtalk.client_id: required") for p in problems)
    assert any(p.startswith("channels.dingtalk.client_secret: required") for p in problems)


def test_unknown_ticket_types_are_reported_by_path() -> None:
    section = {"client_id": "a", "client_secret": "b", "help_desk_groups": {"cidX==": "hr"}}

    assert check(section, KNOWN) == [
        "channels.dingtalk.help_desk_groups.cidX==: unknown ticket type 'hr'"
    ]


def test_defaults_point_at_dingtalk_and_keep_ding_off() -> None:
    config = DingTalkConfig.model_validate({"client_id": "a", "client_secret": "b"})

    assert config.api_base_url == "https://api.dingtalk.com"
    assert config.oapi_base_url == "https://oapi.dingtalk.com"
    assert not config.ding.enabled and config.ding.remind_type == "app"


def test_mode_is_stream_unless_http_is_asked_for() -> None:
    assert DingTalkConfig.model_validate({}).mode == "stream"
    assert DingTalkConfig.model_validate({"mode": "http"}).mode == "http"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        DingTalkConfig.model_validate({"mode": "webhook"})

    [error] = caught.value.errors()
    assert error["loc"] == ("mode",) and "'stream' or 'http'" in error["msg"]


def test_http_mode_says_what_the_missing_secret_is_for() -> None:
    [problem] = check({"client_id": "a", "mode": "http"}, KNOWN)

    assert problem.startswith("channels.dingtalk.client_secret: required")
    assert problem.endswith("in http mode every callback's sign is checked with it")


@pytest.mark.parametrize("group", ["chat3f1c9a0b2e", "IT 服务台", "123456789"])
def test_a_help_desk_group_that_is_not_an_open_conversation_id_is_named(group: str) -> None:
    section = {"client_id": "a", "client_secret": "b", "help_desk_groups": {group: "it"}}

    [problem] = check(section, KNOWN)

    assert problem.startswith(f"channels.dingtalk.help_desk_groups.{group}: not a group's")
    assert "group_id" in problem
