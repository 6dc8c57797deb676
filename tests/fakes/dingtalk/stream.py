"""The Stream gateway: connection registration, one-time tickets, the WebSocket and its frames.

Protocol: open-dingtalk/developerpedia `docs/learn/stream/protocol.md`. Each push goes to one
live connection chosen at random (seeded, so runs repeat); EVENTs stay pending until a
`{"status": "SUCCESS"}` ack and are redelivered (same messageId and eventId) when their ack
deadline passes on the injected clock; `LATER` pushes the deadline to `later_delay`; CALLBACKs
(robot messages, card clicks) are fire-and-forget.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.dingtalk.payloads import CONTENT_TYPE, JSON, api_error, dumps, frame

if TYPE_CHECKING:
    from asyncio import Transport

    from tests.fakes.dingtalk.fake import FakeDingTalk


@dataclass
class Ticket:
    value: str
    issued_at: datetime
    subscriptions: list[JSON]
    used: bool = False


@dataclass(eq=False)
class Connection:
    id: str
    ws: web.WebSocketResponse
    transport: Transport | None
    subscriptions: list[JSON]
    ticket: str
    draining: bool = False

    def subscribed(self, kind: str, topic: str) -> bool:
        wanted = "*" if kind == "EVENT" else topic
        return any(s.get("type") == kind and s.get("topic") == wanted for s in self.subscriptions)


@dataclass(frozen=True)
class Ack:
    connection_id: str
    message_id: str | None
    code: int | None
    message: str | None
    data: Any
    raw: JSON
    at: datetime


@dataclass
class Push:
    """A frame the gateway sent and (for EVENTs) keeps sending until it is settled."""

    kind: str
    topic: str
    message_id: str
    headers: dict[str, str]
    data: JSON
    deliveries: list[str] = field(default_factory=list)  # connection ids, in order
    deadline: datetime | None = None
    settled: bool = False
    acks: list[Ack] = field(default_factory=list)


class StreamGateway:
    def __init__(self, fake: FakeDingTalk) -> None:
        self.fake = fake
        self.tickets: dict[str, Ticket] = {}
        self.refused: list[tuple[str, str]] = []  # (ticket, reason)
        self.live: list[Connection] = []
        self.opened = 0
        self.pushes: dict[str, Push] = {}
        # EVENTs not yet settled: the only pushes the 10 ms redelivery tick looks at (scanning
        # every push ever sent made the double's own loop stall for up to 150 ms in a benchmark)
        self._unsettled: dict[str, Push] = {}
        self.acks: list[Ack] = []
        self.stray_acks: list[JSON] = []
        self.protocol_errors: list[str] = []
        self.lost: list[Push] = []  # CALLBACKs pushed while no connection was subscribed
        self._waiters: dict[str, asyncio.Future[Ack]] = {}
        self._connected = asyncio.Condition()
        self._closers: set[asyncio.Task[None]] = set()

    # --- HTTP: register a connection ---------------------------------------------------

    async def open(self, request: web.Request) -> web.Response:
        fake = self.fake
        body = await fake.json_body(request)
        if body is None:
            return fake.error(400, "invalidParameter", "body must be a JSON object")
        creds = (body.get("clientId"), body.get("clientSecret"))
        if creds != (fake.app_key, fake.app_secret):
            return fake.error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        subs = body.get("subscriptions")
        if not isinstance(subs, list) or not subs or not all(_valid_sub(s) for s in subs):
            return fake.error(400, "invalidParameter", "subscriptions: [{type, topic}] required")
        ticket = fake.new_uuid()
        self.tickets[ticket] = Ticket(ticket, fake.clock.now(), subs)
        return web.json_response({"endpoint": f"{fake.ws_base}/connect", "ticket": ticket})

    # --- the WebSocket -------------------------------------------------------------------

    async def connect(self, request: web.Request) -> web.StreamResponse:
        value = request.query.get("ticket", "")
        ticket = self.tickets.get(value)
        reason = self._refusal(ticket)
        if ticket is None or reason:
            self.refused.append((value, reason or "unknown ticket"))
            body = api_error("invalidTicket", reason or "unknown ticket", self.fake.new_uuid())
            return web.json_response(body, status=401)
        ticket.used = True
        ws = web.WebSocketResponse(autoping=True)
        transport = request.transport
        await ws.prepare(request)
        conn = Connection(self.fake.new_hex(16), ws, transport, ticket.subscriptions, value)
        self.live.append(conn)
        async with self._connected:
            self.opened += 1
            self._connected.notify_all()
        await self.redeliver_due()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_ack(conn, msg.data)
        finally:
            if conn in self.live:
                self.live.remove(conn)
        return ws

    def _refusal(self, ticket: Ticket | None) -> str:
        if ticket is None:
            return "unknown ticket"
        if ticket.used:
            return "ticket already used"
        if self.fake.clock.now() - ticket.issued_at > self.fake.ticket_ttl:
            return "ticket expired"
        return ""

    async def wait_connected(self, count: int = 1, within: float = 3.0) -> None:
        """Until `count` connections have been opened in total (reconnects count)."""
        async with self._connected:
            done = self._connected.wait_for(lambda: self.opened >= count)
            await asyncio.wait_for(done, within)

    # --- acks ----------------------------------------------------------------------------

    def _on_ack(self, conn: Connection, raw: str) -> None:
        try:
            ack = json.loads(raw)
        except ValueError:
            self.protocol_errors.append(f"non-JSON frame from client: {raw[:80]!r}")
            return
        headers = ack.get("headers") if isinstance(ack, dict) else None
        message_id = headers.get("messageId") if isinstance(headers, dict) else None
        push = self.pushes.get(message_id) if isinstance(message_id, str) else None
        if push is None or conn.id not in push.deliveries:
            self.stray_acks.append(ack if isinstance(ack, dict) else {"raw": ack})
            return
        data = _parse_data(ack.get("data"))
        record = Ack(
            conn.id,
            message_id,
            ack.get("code"),
            ack.get("message"),
            data,
            ack,
            self.fake.clock.now(),
        )
        self.acks.append(record)
        push.acks.append(record)
        self._check(push, record)
        waiter = self._waiters.pop(push.message_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(record)

    def _check(self, push: Push, ack: Ack) -> None:
        if not isinstance(ack.raw.get("data"), str):
            self.protocol_errors.append(f"ack {push.message_id}: data must be a JSON string")
        if push.kind == "SYSTEM" and push.topic == "ping":
            if ack.data != {"opaque": push.data["opaque"]}:
                self.protocol_errors.append(f"pong {push.message_id} does not echo the opaque")
            return
        if push.kind != "EVENT":
            push.settled = True
            return
        status = ack.data.get("status") if isinstance(ack.data, dict) else None
        if ack.code == 200 and status == "SUCCESS":
            push.settled = True
            self._unsettled.pop(push.message_id, None)
        elif ack.code == 200 and status == "LATER":
            push.deadline = self.fake.clock.now() + self.fake.later_delay
        else:
            self.protocol_errors.append(
                f"EVENT ack {push.message_id} lacks data.status SUCCESS or LATER: {ack.raw}"
            )

    async def wait_ack(self, message_id: str, within: float = 3.0) -> Ack:
        push = self.pushes[message_id]
        if push.acks:
            return push.acks[-1]
        waiter = self._waiters.setdefault(message_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), within)

    # --- pushing -------------------------------------------------------------------------

    async def push(self, kind: str, topic: str, data: JSON, extra: dict[str, str]) -> Push:
        fake = self.fake
        headers = {"appId": fake.app_id, "contentType": CONTENT_TYPE} | extra
        push = Push(kind, topic, fake.new_message_id(), headers | {"topic": topic}, data)
        self.pushes[push.message_id] = push
        if kind == "EVENT":
            push.deadline = fake.clock.now()  # due now: sent at once, or on the next connect
            self._unsettled[push.message_id] = push
            await self.redeliver_due()
        elif not await self._send(push):
            self.lost.append(push)
        return push

    async def _send(self, push: Push, conn: Connection | None = None) -> bool:
        if conn is None:
            candidates = [
                c for c in self.live if not c.draining and c.subscribed(push.kind, push.topic)
            ]
            if not candidates:
                return False
            conn = self.fake.rng.choice(candidates)
        headers = dict(push.headers) | {"connectionId": conn.id}
        headers["messageId"] = push.message_id
        headers["time"] = str(self.fake.now_ms())
        push.deliveries.append(conn.id)
        try:
            await conn.ws.send_json(frame(push.kind, headers, push.data))
        except ConnectionError:
            push.deliveries.pop()
            return False
        return True

    async def redeliver_due(self) -> int:
        """Send every unsettled EVENT whose ack deadline has passed; returns how many went out."""
        now, sent = self.fake.clock.now(), 0
        for push in list(self._unsettled.values()):
            if push.settled or push.deadline is None:
                continue
            if push.deadline <= now and await self._send(push):
                push.deadline = now + self.fake.ack_timeout
                sent += 1
        return sent

    async def system(self, topic: str, data: JSON, conn: Connection) -> Push:
        fake = self.fake
        push = Push("SYSTEM", topic, fake.new_message_id(), {"topic": topic}, data)
        self.pushes[push.message_id] = push
        headers = {"topic": topic, "contentType": CONTENT_TYPE}
        if topic != "disconnect":  # the documented disconnect frame carries no messageId
            headers["messageId"] = push.message_id
        push.deliveries.append(conn.id)
        await conn.ws.send_json({"type": "SYSTEM", "headers": headers, "data": dumps(data)})
        return push

    # --- connection control --------------------------------------------------------------

    def pick(self, connection_id: str | None) -> list[Connection]:
        if connection_id is None:
            return list(self.live)
        return [c for c in self.live if c.id == connection_id]

    async def disconnect(self, reason: str, connection_id: str | None) -> None:
        for conn in self.pick(connection_id):
            conn.draining = True
            await self.system("disconnect", {"reason": reason}, conn)
            task = asyncio.create_task(self._close_later(conn))
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)

    async def _close_later(self, conn: Connection) -> None:
        await asyncio.sleep(self.fake.disconnect_grace)
        await conn.ws.close()

    def drop(self, connection_id: str | None) -> None:
        for conn in self.pick(connection_id):
            if conn.transport is not None:
                conn.transport.abort()  # no close frame: the client sees 1006

    async def close_all(self) -> None:
        for task in list(self._closers):
            task.cancel()
        for conn in list(self.live):
            await conn.ws.close()


def _valid_sub(sub: Any) -> bool:
    if not isinstance(sub, dict) or sub.get("type") not in ("EVENT", "CALLBACK"):
        return False
    topic = sub.get("topic")
    # events can only be subscribed as a whole ("*"), per protocol.md
    return isinstance(topic, str) and bool(topic) and (sub["type"] != "EVENT" or topic == "*")


def _parse_data(data: Any) -> Any:
    if not isinstance(data, str):
        return data
    try:
        return json.loads(data)
    except ValueError:
        return data
