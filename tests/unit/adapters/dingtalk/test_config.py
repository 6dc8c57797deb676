"""channels.dingtalk: what check-config says about it."""

from __future__ import annotations

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
