"""Group commit: one task per process writes every submission, many per transaction.

A commit on SQLite costs an fsync; one per request caps throughput far below what the service
needs. The writer takes whatever is queued (up to max_batch), runs it all in one transaction,
commits, and only then answers each submitter, so nothing is acknowledged before it is durable.
Batches grow by themselves under load; there is no timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.clock import Clock
from core.errors import ConcurrencyError
from storage.db import rows_in
from storage.flush import flush
from storage.tables import inbox
from storage.unit_of_work import BatchState, StorageUnitOfWork, VersionConflict

T = TypeVar("T")

log = logging.getLogger(__name__)

CONFLICT_ATTEMPTS = 3
# loop turns the writer leaves, once woken, for more submissions to join the batch
LINGER_TURNS = 2


@dataclass(frozen=True)
class Inbound:
    """Dedupe of an inbound event or a REST Idempotency-Key."""

    source: str  # "slack", "webchat", "api:<token name>" ...
    key: str
    fingerprint: str = ""  # hash of the request payload


@dataclass(frozen=True)
class WriteResult(Generic[T]):
    """What a submission came to once committed: the work's value, or a replayed duplicate."""

    value: T | None  # what work returned (None when duplicate)
    duplicate: bool = False
    response: Any = None  # for duplicates: the stored response JSON (None if none stored)


class IdempotencyMismatch(Exception):
    """The same (source, key) arrived again with a different payload."""

    def __init__(self, inbound: Inbound) -> None:
        super().__init__(
            f"idempotency key {inbound.key!r} from {inbound.source!r} was already used "
            "for a different request"
        )
        self.inbound = inbound


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class _BatchBroken(Exception):
    """The transaction cannot commit as a whole; every submission is retried on its own."""


@dataclass(eq=False)
class _Submission:
    future: asyncio.Future[Any]
    work: Callable[[StorageUnitOfWork], Awaitable[Any]] | None = None
    raw: Callable[[AsyncConnection], Awaitable[Any]] | None = None
    inbound: Inbound | None = None
    respond: Callable[[Any], Any] | None = None
    reserve: str | None = None
    queues_outbox: bool = False


@dataclass
class _Result:
    """How one transaction went for each submission; applied only after COMMIT succeeded."""

    answers: list[tuple[_Submission, Any, BaseException | None]] = field(default_factory=list)
    deferred: list[_Submission] = field(default_factory=list)
    # the commit queued outbox rows due now, for these channels (None: for channels unknown, a
    # raw write's): worth waking the dispatcher
    queued_outbox: set[str] | None = field(default_factory=set)

    def queued_for(self, channels: set[str] | None) -> None:
        if self.queued_outbox is not None:
            if channels is None:
                self.queued_outbox = None
            else:
                self.queued_outbox |= channels

    def answer(
        self, sub: _Submission, value: Any = None, error: BaseException | None = None
    ) -> None:
        self.answers.append((sub, value, error))


_STOP = object()


class Writer:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 256,
        on_outbox: Callable[[frozenset[str] | None], None] | None = None,
        on_commit: Callable[[int], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self._max_batch = max_batch
        # called after a commit that queued outbox rows, with their channels (None: not known):
        # the dispatcher's wake-up; a commit that queued nothing to send does not cost the
        # dispatcher a claim transaction
        self._on_outbox = on_outbox
        # told how many submissions each committed transaction carried (the batch-size metric)
        self._on_commit = on_commit
        self._clock: Clock = clock or _SystemClock()
        self._queue: asyncio.Queue[_Submission | object] = asyncio.Queue()
        self._carry: list[_Submission] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="storage-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop (SIGTERM path)."""
        if self._task is None:
            return
        self._stopping = True
        self._queue.put_nowait(_STOP)
        task, self._task = self._task, None
        await task

    @property
    def queued(self) -> int:
        """Submissions waiting for the next batch (exported as a gauge)."""
        return self._queue.qsize() + len(self._carry)

    async def submit(
        self,
        work: Callable[[StorageUnitOfWork], Awaitable[T]],
        *,
        inbound: Inbound | None = None,
        respond: Callable[[T], Any] | None = None,
        reserve: str | None = None,
    ) -> WriteResult[T]:
        """Run work in the next batch; returns once its writes are committed.

        work may run more than once (a batch that cannot commit is replayed item by item, a
        version conflict is retried), so it must act only through the unit of work.
        """
        sub = _Submission(self._future(), work=work, inbound=inbound, reserve=reserve)
        sub.respond = cast(Callable[[Any], Any] | None, respond)
        self._queue.put_nowait(sub)
        return cast(WriteResult[T], await sub.future)

    async def run(
        self, fn: Callable[[AsyncConnection], Awaitable[T]], *, queues_outbox: bool = False
    ) -> T:
        """Raw writes inside a batch transaction (a savepoint isolates a failure).

        queues_outbox: fn inserts outbox rows, so the dispatcher is woken after the commit. The
        dispatcher's own claims and settlements must not wake it: it would spin on itself."""
        sub = _Submission(self._future(), raw=fn, queues_outbox=queues_outbox)
        self._queue.put_nowait(sub)
        return cast(T, await sub.future)

    def _future(self) -> asyncio.Future[Any]:
        if self._task is None or self._stopping:
            raise RuntimeError("the writer is not running: call start() first")
        return asyncio.get_running_loop().create_future()

    async def _loop(self) -> None:
        stop = False
        while not (stop and not self._carry and self._queue.empty()):
            batch, self._carry = self._carry, []
            if not batch:
                first = await self._queue.get()
                if first is _STOP:
                    stop = True
                    continue
                batch.append(cast(_Submission, first))
                # two turns of the loop first: the handlers already woken with this one (a
                # socket read brings several frames, a burst several requests) submit too, some
                # after one await of their own (a person looked up, a read), and share its
                # transaction; taken alone, each would pay a transaction of its own (2.5 ms of
                # fixed cost on SQLite) and wait behind the others'. Measured with one turn and
                # with two: bench/README.md, 2026-12-05.
                for _ in range(LINGER_TURNS):
                    await asyncio.sleep(0)
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stop = True
                else:
                    batch.append(cast(_Submission, item))
            # a submitter that gave up (cancelled) was never told "saved": drop its work
            live = [s for s in batch if not s.future.done()]
            if live:
                try:
                    await self._process(live)
                except Exception as error:  # a bug here must not leave submitters hanging
                    log.exception("writer batch failed")
                    for sub in live:
                        _settle(sub, None, error)

    async def _process(self, batch: list[_Submission]) -> None:
        try:
            result = await self._transaction(batch)
        except Exception as error:
            # Anything may break the transaction: a version conflict, the driver refusing one
            # item's text (SQLite's raises a plain UnicodeEncodeError), a lost connection, a bug.
            # Which item caused it is unknown, so each is replayed in its own transaction and
            # only the culprit fails; nobody was answered yet.
            if len(batch) > 1 and not isinstance(error, VersionConflict):
                log.warning(
                    "writer batch of %d failed (%s); retrying each alone",
                    len(batch),
                    type(_cause(error)).__name__,
                )
            for sub in batch:
                await self._alone(sub)
            return
        self._committed(result)

    async def _alone(self, sub: _Submission) -> None:
        for _attempt in range(CONFLICT_ATTEMPTS):
            try:
                result = await self._transaction([sub])
            except VersionConflict:
                continue
            except Exception as error:
                _settle(sub, None, _cause(error))
                return
            self._committed(result)
            return
        _settle(
            sub,
            None,
            ConcurrencyError(
                "The ticket was changed by someone else at the same moment; please try again. "
                "工单刚被他人修改，请重试。"
            ),
        )

    def _committed(self, result: _Result) -> None:
        if self._on_commit is not None:
            self._on_commit(len(result.answers))
        for sub, value, error in result.answers:
            _settle(sub, value, error)
        self._carry.extend(result.deferred)
        queued = result.queued_outbox
        if self._on_outbox is not None and (queued is None or queued):
            self._on_outbox(None if queued is None else frozenset(queued))

    async def _transaction(self, batch: list[_Submission]) -> _Result:
        result = _Result()
        # Not `async with engine.connect()`: SQLAlchemy closes such a connection in a task of
        # its own (safe from cancellation), and awaiting that task hands the loop to everything
        # else that is ready before the writer may answer a single submitter — under load a
        # whole round of requests, frames and sends (measured: 7-8 ms on every commit at 1,000
        # messages a second). Closed directly, the commit's answers go out with no detour.
        conn = await self.engine.connect()
        try:
            await self._statements(conn, batch, result)
        finally:
            await conn.close()
        return result

    async def _statements(
        self, conn: AsyncConnection, batch: list[_Submission], result: _Result
    ) -> None:
        async with conn.begin():
            now = self._clock.now()
            seen = await _already_received(conn, batch)
            hints = Counter(s.reserve for s in batch if s.work is not None and s.reserve)
            state = BatchState(conn, hints)
            claimed: set[tuple[str, str]] = set()
            for sub in batch:
                if sub.work is not None:
                    await self._run_work(sub, state, seen, claimed, result, now)
            await flush(state, now)
            for sub in batch:
                if sub.raw is not None:
                    await _run_raw(conn, sub, result)
                    if sub.queues_outbox:
                        result.queued_for(None)
            result.queued_for(state.outbox_due)

    async def _run_work(
        self,
        sub: _Submission,
        state: BatchState,
        seen: dict[tuple[str, str], tuple[str, Any]],
        claimed: set[tuple[str, str]],
        result: _Result,
        now: datetime,
    ) -> None:
        assert sub.work is not None
        if sub.inbound is not None:
            ident = (sub.inbound.source, sub.inbound.key)
            if ident in claimed:
                # the first copy is in this very batch; decide after it commits (or fails)
                result.deferred.append(sub)
                state.numbers.done(sub.reserve)
                return
            if ident in seen:
                fingerprint, response = seen[ident]
                state.numbers.done(sub.reserve)
                if fingerprint != sub.inbound.fingerprint:
                    result.answer(sub, error=IdempotencyMismatch(sub.inbound))
                else:
                    result.answer(sub, WriteResult(None, True, response))
                return
        uow = StorageUnitOfWork(state)
        before = state.numbers.snapshot()
        try:
            value = await sub.work(uow)
            response = sub.respond(value) if sub.respond is not None else None
        except SQLAlchemyError as error:
            raise _BatchBroken() from error
        except Exception as error:
            state.numbers.restore(before)
            result.answer(sub, error=error)
            return
        finally:
            state.numbers.done(sub.reserve)
        state.merge(uow)
        if sub.inbound is not None:
            claimed.add((sub.inbound.source, sub.inbound.key))
            state.inbox.append(
                {
                    "source": sub.inbound.source,
                    "dedupe_key": sub.inbound.key,
                    "fingerprint": sub.inbound.fingerprint,
                    "response": response,
                    "received_at": now,
                }
            )
        result.answer(sub, WriteResult(value))


async def _already_received(
    conn: AsyncConnection, batch: list[_Submission]
) -> dict[tuple[str, str], tuple[str, Any]]:
    """One SELECT for the whole batch: which inbound keys were processed before."""
    pairs = {(s.inbound.source, s.inbound.key) for s in batch if s.inbound is not None}
    if not pairs:
        return {}
    rows = await conn.execute(
        sa.select(inbox.c.source, inbox.c.dedupe_key, inbox.c.fingerprint, inbox.c.response).where(
            rows_in((inbox.c.source, inbox.c.dedupe_key), pairs)
        )
    )
    return {(r.source, r.dedupe_key): (r.fingerprint, r.response) for r in rows}


async def _run_raw(conn: AsyncConnection, sub: _Submission, result: _Result) -> None:
    assert sub.raw is not None
    try:
        async with conn.begin_nested():
            value = await sub.raw(conn)
    except Exception as error:
        result.answer(sub, error=error)
        return
    result.answer(sub, value)


def _cause(error: Exception) -> BaseException:
    """What the submitter is told: the error behind a broken batch, else the error itself."""
    if isinstance(error, _BatchBroken) and error.__cause__ is not None:
        return error.__cause__
    return error


def _settle(sub: _Submission, value: Any, error: BaseException | None) -> None:
    if sub.future.done():
        return
    if error is not None:
        sub.future.set_exception(error)
    else:
        sub.future.set_result(value)


__all__ = [
    "IdempotencyMismatch",
    "Inbound",
    "StorageUnitOfWork",
    "WriteResult",
    "Writer",
]
