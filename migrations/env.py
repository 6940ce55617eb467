"""Alembic environment for Flask-Migrate; migrations never import application code."""

import logging
import warnings
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):
    """Render the app's TypeDecorators as the plain column types they store."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        impl = obj.impl
        if isinstance(impl, sa.DateTime):
            return f"sa.DateTime(timezone={impl.timezone!r})"
        if isinstance(impl, sa.Text):
            return "sa.Text()"
    return False


# Indexes on expressions, marked ``info={"hand_written": True}`` in the models: SQLite's
# reflection cannot read them back (it warns and skips them), so autogenerate would propose them
# again on every run; their migration writes them and autogenerate leaves them alone.
HAND_WRITTEN = {
    index.name
    for table in target_db.metadata.tables.values()
    for index in table.indexes
    if index.info.get("hand_written")
}
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based")


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "index" and name in HAND_WRITTEN)


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_object", include_object)

    with get_engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (create, copy, drop, rename); with foreign keys
            # enforced, dropping a table other rows point at fails once it holds data. SQLite's
            # own procedure for such changes: keys off (outside a transaction: on the driver's
            # connection, since SQLAlchemy would begin one first and SQLite ignores the pragma
            # inside it) while migrating, then check that every reference still resolves.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection, target_metadata=target_db.metadata, **conf_args
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left dangling references: {broken[:5]}")
            if sqlite and connection.in_transaction():
                connection.commit()  # (so that the pragma below is not ignored inside it)
        finally:
            if sqlite:
                if connection.in_transaction():  # (a failed migration: nothing is kept)
                    connection.rollback()
                # keys on again before the connection goes back to the pool
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
