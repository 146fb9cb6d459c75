"""Alembic environment: the URL comes from the app's settings unless the caller set one."""

from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError

from multisms.config import get_settings
from multisms.db import get_engine
from multisms.errors import OldAppDatabase
from multisms.legacy import refuse_old_app_database
from multisms.models import Base

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    try:  # `alembic upgrade head` (make run, the release step): before the engine opens the file
        refuse_old_app_database(url)
    except OldAppDatabase as refused:
        raise CommandError(str(refused)) from None  # Alembic prints "FAILED: …" and exits non-zero
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
