"""The company app's 1:1 cards: sent with `message/send`, updated in place with a single-use
`response_code` (valid 72 h) — the one the send returned, kept with the card, or the one a click
brought, held here until that card's next update.

When no code is left, or WeCom refuses it, a fresh card goes out whose first line says the old
one can no longer be updated, and the fresh card's code is kept instead.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from adapters.contract import CardState, MessageRef
from adapters.wecom.client import AppClient, WeComError
from adapters.wecom.people import CHANNEL
from adapters.wecom.render import TEXTS, new_task_id, template_card
from core.card import Card

log = logging.getLogger("gongdan.wecom")

CLICK_CODES = 10_000  # response codes from clicks kept for their card's next update


class AppCards:
    def __init__(self, app: AppClient) -> None:
        self.app = app
        self._click_codes: OrderedDict[str, str] = OrderedDict()  # task_id -> ResponseCode

    def keep_code(self, task_id: str, code: str) -> None:
        """A click's code: spent on that card's next update (the oldest forgotten first)."""
        self._click_codes[task_id] = code
        self._click_codes.move_to_end(task_id)
        while len(self._click_codes) > CLICK_CODES:
            self._click_codes.popitem(last=False)

    async def post(self, conv: str, userid: str, card: Card, note: str = "") -> MessageRef:
        task_id = new_task_id(card)
        data = await self.app.send(
            userid,
            {"msgtype": "template_card", "template_card": template_card(card, task_id, note=note)},
        )
        code = data.get("response_code")
        return MessageRef(
            CHANNEL, conv, task_id, state={"task_id": task_id, "response_code": code or None}
        )

    async def update(
        self, ref: MessageRef, userid: str, card: Card, state: dict[str, Any]
    ) -> CardState | None:
        """Update in place with a response code (a click's, else the one the send returned);
        with none left, send a fresh card that says so and keep its code instead."""
        task_id = str(state.get("task_id") or ref.message)
        clicked = self._click_codes.get(task_id)
        sent = state.get("response_code")
        code = clicked or sent
        if code:
            try:
                await self.app.update_card([userid], str(code), template_card(card, task_id))
            except WeComError as exc:
                if exc.retry_after is not None or not exc.permanent:
                    raise
                log.info(
                    "wecom response_code refused; sending a fresh card", extra={"error": str(exc)}
                )
            else:
                if clicked:
                    self._click_codes.pop(task_id, None)
                    return {"task_id": task_id, "response_code": sent or None}
                return {"task_id": task_id, "response_code": None}
            if clicked:
                self._click_codes.pop(task_id, None)
        fresh = await self.post(
            ref.conversation, userid, card, note=TEXTS["fresh"].get(card.locale)
        )
        return dict(fresh.state or {})
