"""DingTalk's error answers become DeliveryErrors a dispatcher can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.dingtalk.errors import IP_BAN_WAIT_S, CardsRefused, TokenRefused, error_from
from tests.fakes.dingtalk.faults import Fault

FIXTURES = Path(__file__).parents[3] / "fixtures" / "dingtalk"


def answer(fault: Fault, *, legacy: bool = False) -> tuple[int, str, str]:
    r = fault.response(legacy_route=legacy, request_id="REQ")
    assert r.text is not None
    return r.status, r.text, r.content_type


@pytest.mark.parametrize("status", [403, 429])
def test_qps_throttle_is_retried_after_a_second_whatever_its_status(status: int) -> None:
    code, text, kind = answer(Fault.throttle(status))
    error = error_from(code, text, content_type=kind)

    assert error is not None and error.retry_after == 1.0 and not error.permanent


def test_legacy_throttle_errcode_in_http_200_is_a_throttle() -> None:
    code, text, kind = answer(Fault.throttle(), legacy=True)
    error = error_from(code, text, content_type=kind)

    assert code == 200 and error is not None and error.retry_after == 1.0


def test_ip_ban_page_waits_five_minutes() -> None:
    code, text, kind = answer(Fault.ip_ban())
    error = error_from(code, text, content_type=kind)

    assert error is not None and error.retry_after == IP_BAN_WAIT_S and "banned" in str(error)


def test_spent_org_quota_waits_long() -> None:
    code, text, kind = answer(Fault.org_quota())
    error = error_from(code, text, content_type=kind)

    assert error is not None and error.retry_after is not None and error.retry_after >= 3600


def test_refused_token_asks_for_a_new_one() -> None:
    text = (FIXTURES / "error_invalid_access_token.json").read_text(encoding="utf-8")

    assert isinstance(error_from(400, text), TokenRefused)


def test_bad_parameter_is_permanent_and_names_the_code() -> None:
    error = error_from(400, json.dumps({"code": "param.invalid", "message": "param.invalid"}))

    assert error is not None and error.permanent and "param.invalid" in str(error)


def test_legacy_errcode_is_an_error_and_zero_is_success() -> None:
    assert error_from(200, json.dumps({"errcode": 0, "errmsg": "ok"})) is None
    error = error_from(200, json.dumps({"errcode": 40035, "errmsg": "缺少参数"}))
    assert error is not None and "40035" in str(error)


def test_server_error_is_retried() -> None:
    code, text, kind = answer(Fault.server_error())
    error = error_from(code, text, content_type=kind)

    assert error is not None and not error.permanent and error.retry_after is None


@pytest.mark.parametrize("legacy", [False, True])
def test_wrong_credentials_name_the_keys_to_fix(legacy: bool) -> None:
    if legacy:
        code, text = 200, '{"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}'
    else:
        code, text = 400, '{"code": "invalidClientIdOrSecret", "message": "无效的clientId"}'
    error = error_from(code, text, what="accessToken")

    assert error is not None and error.permanent
    assert "channels.dingtalk.client_id" in str(error)
    assert "channels.dingtalk.client_secret" in str(error)


def test_an_unusable_card_template_names_card_template_id() -> None:
    text = '{"code": "invalidParameter.cardTemplate.notFound", "message": "不存在的卡片模板"}'
    error = error_from(400, text, what="/v1.0/card/instances/createAndDeliver")

    assert isinstance(error, CardsRefused) and error.permanent
    assert "channels.dingtalk.card_template_id" in str(error)


def test_a_missing_permission_is_named_so_the_admin_can_request_it() -> None:
    code, text, kind = answer(Fault.permission_denied("qyapi_robot_sendmsg"))
    error = error_from(code, text, content_type=kind, what="/v1.0/robot/groupMessages/send")

    assert error is not None and error.permanent
    assert "qyapi_robot_sendmsg" in str(error) and "权限管理" in str(error)


@pytest.mark.parametrize("code", ["invalidParameter.robotCode", "chatbot.notFound"])
def test_a_robot_code_dingtalk_does_not_know_names_robot_code(code: str) -> None:
    text = json.dumps({"code": code, "message": "robotCode 不存在"})
    error = error_from(400, text, what="/v1.0/robot/oToMessages/batchSend")

    assert error is not None and error.permanent
    assert "channels.dingtalk.robot_code" in str(error)
