"""Reading one browser's frames: a few at once, in order, never more than the limits allow.

Up to `Limits.in_flight` frames of a socket are handled at once, so a burst from one browser
shares a group commit instead of paying one commit per frame. The next frame is read only when
a slot is free, so a flood waits in TCP buffers (the sender's), not in this process. Each frame
starts only once the frame before it has queued its command (`queued`) or finished, so a hello
is in place before the next frame and commits keep the order the frames came in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import partial

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from adapters.ports import mark_received
from adapters.webchat.limits import Limits
from adapters.webchat.rooms import Client

Handle = Callable[[Client, WSMessage], Awaitable[None]]

# the turn of the frame being handled (one per frame task): set once its command is queued
_TURN: ContextVar[asyncio.Event | None] = ContextVar("webchat_turn", default=None)


def queued() -> None:
    """Call right before handing the frame's command to the writer (with no await between):
    the socket's next frame may start now."""
    turn = _TURN.get()
    if turn is not None:
        turn.set()


async def pump(
    ws: web.WebSocketResponse,
    client: Client,
    limits: Limits,
    handle: Handle,
    rate_notice: Callable[[Client], None],
) -> None:
    """Read and handle the socket's frames until it closes; waits for those being handled."""
    slots = asyncio.Semaphore(limits.in_flight)
    handling: set[asyncio.Task[None]] = set()
    previous: asyncio.Event | None = None
    try:
        while True:
            await slots.acquire()
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                slots.release()
                return
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY) and client.gate.admit():
                mark_received()  # the frame's task is timed from here
                turn = asyncio.Event()
                task = asyncio.create_task(_in_turn(handle, client, msg, previous, turn))
                handling.add(task)
                task.add_done_callback(partial(_frame_done, handling, slots, turn))
                previous = turn
                continue
            slots.release()
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            if client.gate.exhausted:
                # what was let in is answered before the close, as it would be one at a time
                await asyncio.gather(*handling, return_exceptions=True)
                await client.sender.close(WSCloseCode.POLICY_VIOLATION, "rate limit exceeded")
                return
            if client.gate.should_warn():
                rate_notice(client)
    finally:
        if handling:
            await asyncio.gather(*handling, return_exceptions=True)


async def _in_turn(
    handle: Handle,
    client: Client,
    msg: WSMessage,
    previous: asyncio.Event | None,
    turn: asyncio.Event,
) -> None:
    if previous is not None:
        await previous.wait()
    _TURN.set(turn)
    await handle(client, msg)


def _frame_done(
    handling: set[asyncio.Task[None]],
    slots: asyncio.Semaphore,
    turn: asyncio.Event,
    task: asyncio.Task[None],
) -> None:
    handling.discard(task)
    slots.release()
    turn.set()  # a frame that queued nothing lets the next one start once it is done
