"""People from the configuration, kept in the database so reports and other replicas see them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.i18n import Text, as_locale
from core.people import Person, Role
from storage.db import rows_in, upsert
from storage.tables import identities, people


async def sync_people(
    conn: AsyncConnection, persons: Iterable[Person], now: datetime | None = None
) -> None:
    """Upsert people and make their identities match the configuration (startup)."""
    persons = list(persons)
    if not persons:
        return
    now = now or datetime.now(UTC)
    insert = upsert(conn)
    stmt = insert(people)
    stmt = stmt.on_conflict_do_update(
        index_elements=[people.c.id],
        set_={
            name: stmt.excluded[name] for name in ("name_en", "name_zh", "email", "locale", "roles")
        },
    )
    await conn.execute(
        stmt,
        [
            {
                "id": p.id,
                "name_en": p.name.en,
                "name_zh": p.name.zh,
                "email": p.email,
                "locale": p.locale,
                "roles": sorted(r.value for r in p.roles),
                "created_at": now,
            }
            for p in persons
        ],
    )
    pairs = [(ch, ext, p.id) for p in persons for ch, ext in p.identities.items()]
    # an identity moves with the config, even if it used to belong to someone else
    await conn.execute(
        sa.delete(identities).where(identities.c.person_id.in_([p.id for p in persons]))
    )
    if pairs:
        await conn.execute(
            sa.delete(identities).where(
                rows_in(
                    (identities.c.channel, identities.c.external_id),
                    [(ch, ext) for ch, ext, _ in pairs],
                )
            )
        )
        await conn.execute(
            sa.insert(identities),
            [{"channel": ch, "external_id": ext, "person_id": pid} for ch, ext, pid in pairs],
        )


async def load_people(conn: AsyncConnection) -> list[Person]:
    known: dict[str, dict[str, str]] = {}
    for channel, external_id, person_id in await conn.execute(
        sa.select(identities.c.channel, identities.c.external_id, identities.c.person_id)
    ):
        known.setdefault(person_id, {})[channel] = external_id
    rows = await conn.execute(sa.select(people).order_by(people.c.id))
    return [
        Person(
            id=r.id,
            name=Text(en=r.name_en, zh=r.name_zh),
            email=r.email,
            locale=as_locale(r.locale),
            roles=frozenset(Role(v) for v in r.roles),
            identities=known.get(r.id, {}),
        )
        for r in rows
    ]
