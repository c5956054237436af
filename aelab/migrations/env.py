"""Alembic's environment for the class board's tables. aelab runs it itself (db.upgrade, with an open connection);
a deployer may also run `alembic upgrade head` from the repository root (alembic.ini), against AELAB_DATABASE_URL.
"""
from alembic import context

from aelab import board_tables, db


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=board_tables.metadata, version_table=db.VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # `alembic upgrade head --sql`: print the SQL instead of running it
    from aelab import config

    context.configure(url=config.get("database_url"), target_metadata=board_tables.metadata,
                      version_table=db.VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif context.config.attributes.get("connection") is not None:
    run(context.config.attributes["connection"])
else:  # the alembic command line: connect to AELAB_DATABASE_URL, take the same lock as db.upgrade
    from aelab import config

    with db.writing(db.create(config.get("database_url"))) as conn:
        db.lock_for_migration(conn)
        run(conn)
