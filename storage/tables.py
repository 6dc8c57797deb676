"""The schema, in SQLAlchemy Core. storage/migrations/versions must create exactly this."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Instants as UTC. SQLite keeps no offset, so values go in as naive UTC (which also sorts
    correctly as text) and come back tagged UTC; a naive value going in is a bug, refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite, one C-level step each way instead of our conversion followed by the dialect's
    # strftime / regex (about a quarter of the per-row bind work when profiled). Same text as the dialect's storage
    # format, "YYYY-MM-DD HH:MM:SS.ffffff", so old rows, ordering and comparisons are unchanged.
    def bind_processor(self, dialect: Dialect) -> _Processor | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: pass a timezone-aware instant")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> _Processor | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            return datetime.fromisoformat(value).replace(tzinfo=UTC)

        return process


_Processor = Callable[[Any], Any]


# SQLite only aliases the rowid (and so autoincrements) for a column typed exactly INTEGER
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ticket_fk(nullable: bool = False) -> sa.Column[int]:
    return sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id"), nullable=nullable)


counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("type_id", sa.String(64), nullable=False, index=True),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("requester_id", sa.String(128), nullable=False),
    sa.Column("assignee_id", sa.String(128), nullable=True, index=True),
    sa.Column("team_id", sa.String(64), nullable=True, index=True),
    sa.Column("origin", sa.JSON, nullable=True),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("watchers", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("first_response_at", UTCDateTime, nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # SLA clocks and escalation frozen onto the ticket (core.timekeeping), and its timer token
    sa.Column("sla", sa.JSON, nullable=True),
    sa.Column("timer_generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("wake_at", UTCDateTime, nullable=True),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _ticket_fk(),
    sa.Column("author_id", sa.String(128), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("channel", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "ticket_id"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _ticket_fk(nullable=True),
    sa.Column("comment_id", BigId, sa.ForeignKey("comments.id"), nullable=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    # a path under the attachments directory; "" when the file was over the size limit
    sa.Column("storage_ref", sa.String(1024), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "ticket_id"),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("name_zh", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("person_id", sa.String(128), sa.ForeignKey("people.id"), nullable=False),
    sa.PrimaryKeyConstraint("channel", "external_id"),
    sa.Index(None, "person_id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _ticket_fk(),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("actor_id", sa.String(128), nullable=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "ticket_id", "id"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("dedupe_key", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("response", sa.JSON, nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "dedupe_key"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    _ticket_fk(nullable=True),
    sa.Column("target", sa.JSON, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("card_ref_id", BigId, sa.ForeignKey("card_refs.id"), nullable=True),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "ticket_id"),
)
# One channel's due rows in order, for a claim that leaves out channels with enough queued (a
# platform paced to its quota): without it the claim walked every pending row of the paced
# channel, a backlog of thousands, on each commit. Pending rows only, so it stays small.
sa.Index(
    "ix_outbox_pending_channel",
    outbox.c.channel,
    outbox.c.next_attempt_at,
    outbox.c.id,
    sqlite_where=outbox.c.status == "pending",
    postgresql_where=outbox.c.status == "pending",
)

card_refs = sa.Table(
    "card_refs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _ticket_fk(),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("conversation", sa.String(255), nullable=False),
    sa.Column("thread", sa.String(255), nullable=True),
    sa.Column("message", sa.String(255), nullable=False),
    sa.Column("locale", sa.String(8), nullable=True),
    sa.Column("rendered_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # the status the platform last showed (email: the last status mail), so none repeats
    sa.Column("rendered_status", sa.String(16), nullable=True),
    # what the platform needs to touch the card again (adapters.contract.CardState); None: nothing
    sa.Column("state", sa.JSON, nullable=True),
    # a reminder's or escalation's card: the notice it shows (core.timekeeping.Notice.to_json);
    # None for a ticket's own card
    sa.Column("notice", sa.JSON, nullable=True),
    sa.UniqueConstraint("channel", "conversation", "message"),
    sa.Index(None, "ticket_id"),
)

# addresses a channel must not send to (a permanent bounce); until NULL: for good
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("channel", "address"),
)

timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    _ticket_fk(nullable=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("fired_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # a ticket's live timer is replaced whenever its schedule changes
    sa.Index(None, "ticket_id"),
)
sa.Index(
    "ix_timers_due_unfired",
    timers.c.due_at,
    sqlite_where=timers.c.fired_at.is_(None),
    postgresql_where=timers.c.fired_at.is_(None),
)
