"""Alembic environment. Runs on a connection handed over by storage.migrate, or offline (--sql)."""

from __future__ import annotations

from alembic import context

from storage.tables import metadata

config = context.config

if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with storage.migrate.migrate(url) or `gongdan migrate`")
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
