"""DingTalk's wire constants and payload shapes, with where they are documented.

- Stream protocol (frames, acks): open-dingtalk/developerpedia docs/learn/stream/protocol.md
- Robot messages: open.dingtalk.com/document/orgapp/receive-message
- Card instances: open.dingtalk.com/document/orgapp/create-and-deliver-cards,
  .../interactive-card-update-interface, card event callbacks
- DING: open.dingtalk.com/document/orgapp/robot-ding
"""

from __future__ import annotations

from typing import Any, TypedDict

TOPIC_BOT_MESSAGE = "/v1.0/im/bot/messages/get"
TOPIC_CARD_CALLBACK = "/v1.0/card/instances/callback"
CONVERSATION_ONE_TO_ONE = "1"
CONVERSATION_GROUP = "2"
SUBSCRIPTIONS: list[dict[str, str]] = [
    {"type": "EVENT", "topic": "*"},
    {"type": "CALLBACK", "topic": TOPIC_BOT_MESSAGE},
    {"type": "CALLBACK", "topic": TOPIC_CARD_CALLBACK},
]


class Ack(TypedDict):
    """What the client answers a pushed frame with; `data` is a JSON string."""

    code: int
    headers: dict[str, str]
    message: str
    data: str


class CardData(TypedDict):
    cardParamMap: dict[str, str]  # every value a string, or DingTalk refuses the card


class CreateAndDeliver(TypedDict, total=False):
    cardTemplateId: str
    outTrackId: str
    cardData: CardData
    callbackType: str  # "STREAM"
    openSpaceId: str  # dtv1.card//IM_GROUP.<openConversationId> | IM_ROBOT.<staffId>
    imGroupOpenSpaceModel: dict[str, Any]
    imGroupOpenDeliverModel: dict[str, Any]
    imRobotOpenSpaceModel: dict[str, Any]
    imRobotOpenDeliverModel: dict[str, Any]
    userIdType: int
