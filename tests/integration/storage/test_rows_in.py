"""Looking up many (source, key) pairs at once finds them through the index, whatever the size
of the table: the dedupe check of every batch must not read every key ever received."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from storage.db import create_engine, rows_in
from storage.migrate import migrate
from storage.tables import inbox

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


async def test_pairs_from_several_sources_are_found_by_index_search(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    await migrate(url)
    engine = create_engine(url)
    stored = [(source, f"k{i}") for source in ("dingtalk", "slack") for i in range(500)]
    asked = [("dingtalk", "k1"), ("dingtalk", "k499"), ("slack", "k7"), ("wecom", "k1")]
    query = sa.select(inbox.c.source, inbox.c.dedupe_key).where(
        rows_in((inbox.c.source, inbox.c.dedupe_key), asked)
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(inbox),
                [
                    {"source": s, "dedupe_key": k, "fingerprint": "", "received_at": NOW}
                    for s, k in stored
                ],
            )
        async with engine.connect() as conn:
            found = sorted(tuple(r) for r in await conn.execute(query))
            compiled = query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True})
            plan = [r[-1] for r in await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
    finally:
        await engine.dispose()

    assert found == [("dingtalk", "k1"), ("dingtalk", "k499"), ("slack", "k7")]
    assert plan and all(not step.startswith("SCAN inbox") for step in plan), plan
    assert any(step.startswith("SEARCH inbox") for step in plan), plan
