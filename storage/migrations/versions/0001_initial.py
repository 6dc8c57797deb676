"""Initial schema: tickets, audit events, inbox/outbox, card refs, people, timers.

Revision ID: 0001
Revises:
Create Date: 2026-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

# Written out by hand on purpose: a migration is a frozen fact, it must not follow tables.py.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _pk(name: str = "id") -> sa.Column[int]:
    return sa.Column(name, Id, primary_key=True, autoincrement=True)


def _ticket_id(table: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        "ticket_id",
        Id,
        sa.ForeignKey("tickets.id", name=f"fk_{table}_ticket_id_tickets"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.create_table(
        "tickets",
        _pk(),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("type_id", sa.String(64), nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requester_id", sa.String(128), nullable=False),
        sa.Column("assignee_id", sa.String(128), nullable=True),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("origin", sa.JSON, nullable=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("watchers", sa.JSON, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("first_response_at", When, nullable=True),
        sa.Column("resolved_at", When, nullable=True),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("key", name="uq_tickets_key"),
    )
    for column in ("type_id", "status", "assignee_id", "team_id", "created_at"):
        op.create_index(f"ix_tickets_{column}", "tickets", [column])

    op.create_table(
        "comments",
        _pk(),
        _ticket_id("comments"),
        sa.Column("author_id", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("channel", sa.JSON, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
    )
    op.create_index("ix_comments_ticket_id", "comments", ["ticket_id"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.String(64), nullable=False),
        _ticket_id("attachments", nullable=True),
        sa.Column(
            "comment_id",
            Id,
            sa.ForeignKey("comments.id", name="fk_attachments_comment_id_comments"),
            nullable=True,
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("storage_ref", sa.String(1024), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
    )

    op.create_table(
        "people",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
    )
    op.create_table(
        "identities",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column(
            "person_id",
            sa.String(128),
            sa.ForeignKey("people.id", name="fk_identities_person_id_people"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name="pk_identities"),
    )
    op.create_index("ix_identities_person_id", "identities", ["person_id"])

    op.create_table(
        "events",
        _pk(),
        _ticket_id("events"),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_ticket_id_id", "events", ["ticket_id", "id"])

    op.create_table(
        "inbox",
        _pk(),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("response", sa.JSON, nullable=True),
        sa.Column("received_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("source", "dedupe_key", name="uq_inbox_source_dedupe_key"),
    )

    op.create_table(
        "card_refs",
        _pk(),
        _ticket_id("card_refs"),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation", sa.String(255), nullable=False),
        sa.Column("thread", sa.String(255), nullable=True),
        sa.Column("message", sa.String(255), nullable=False),
        sa.Column("locale", sa.String(8), nullable=True),
        sa.Column("rendered_version", sa.Integer, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_card_refs"),
        sa.UniqueConstraint(
            "channel", "conversation", "message", name="uq_card_refs_channel_conversation_message"
        ),
    )
    op.create_index("ix_card_refs_ticket_id", "card_refs", ["ticket_id"])

    op.create_table(
        "outbox",
        _pk(),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        _ticket_id("outbox", nullable=True),
        sa.Column("target", sa.JSON, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", When, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", When, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When, nullable=True),
        sa.Column(
            "card_ref_id",
            Id,
            sa.ForeignKey("card_refs.id", name="fk_outbox_card_ref_id_card_refs"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_ticket_id", "outbox", ["ticket_id"])

    op.create_table(
        "timers",
        _pk(),
        _ticket_id("timers", nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("due_at", When, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", When, nullable=True),
        sa.Column("fired_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_timers"),
    )
    op.create_index(
        "ix_timers_due_unfired",
        "timers",
        ["due_at"],
        sqlite_where=sa.text("fired_at IS NULL"),
        postgresql_where=sa.text("fired_at IS NULL"),
    )


def downgrade() -> None:
    for table in (
        "timers",
        "outbox",
        "card_refs",
        "inbox",
        "events",
        "identities",
        "people",
        "attachments",
        "comments",
        "tickets",
        "counters",
    ):
        op.drop_table(table)
