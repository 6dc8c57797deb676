"""The channels the contract suite runs against: one driver per channel, one line each."""

from __future__ import annotations

from tests.contract.drivers.base import ChannelDriver
from tests.contract.drivers.dingtalk import DingTalkContractDriver
from tests.contract.drivers.email import EmailContractDriver
from tests.contract.drivers.slack import SlackContractDriver
from tests.contract.drivers.webchat import WebchatContractDriver
from tests.contract.drivers.wecom import WeComContractDriver

DRIVERS: dict[str, type[ChannelDriver]] = {
    "webchat": WebchatContractDriver,
    "slack": SlackContractDriver,
    "email": EmailContractDriver,
    "dingtalk": DingTalkContractDriver,
    "wecom": WeComContractDriver,
}
