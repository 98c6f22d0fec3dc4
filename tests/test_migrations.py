"""The migrations build the schema the models describe, and can be undone and redone.

Runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, MetaData, String, inspect, text

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import POSTGRESQL_ONLY_INDEXES, Base
from tests.dbutil import fresh_database


@pytest.fixture
def empty_app(tmp_path: Path, session_tmp: Path) -> Iterator[Flask]:
    """An app on a brand-new empty database (no tables, not even alembic_version)."""
    with fresh_database(tmp_path, "migrations") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": "testing"})
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _model_tables() -> set[str]:
    return set(Base.metadata.tables)


def _head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", current_app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def _current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _audit_guards() -> set[str]:
    """Names of the database objects that make audit_event append-only."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            triggers = conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
            functions = conn.execute(
                text("SELECT proname FROM pg_proc WHERE proname = 'audit_event_append_only'")
            ).scalars()
            return set(triggers) | set(functions)
        return set(
            conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
        )


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Everything but the PostgreSQL-only indexes the migrations add by hand."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


def _schema_diff() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": conn.dialect.name == "sqlite",
                "include_object": include_object,
            },
        )
        return compare_metadata(context, Base.metadata)


def test_upgrade_downgrade_upgrade_round_trip(empty_app: Flask) -> None:
    assert _tables() == set()

    upgrade()
    assert _current_revision() == _head()
    assert _tables() == _model_tables() | {"alembic_version"}
    assert _audit_guards() >= {"audit_event_no_update"}

    downgrade(revision="base")
    leftovers = _tables() - {"alembic_version"}
    assert leftovers == set(), f"downgrade to base left tables behind: {sorted(leftovers)}"
    assert _current_revision() is None
    assert _audit_guards() == set(), "downgrade left the audit triggers or function behind"

    upgrade()
    assert _current_revision() == _head()
    assert _tables() == _model_tables() | {"alembic_version"}
    assert _audit_guards() >= {"audit_event_no_update"}


def test_models_match_migrations(empty_app: Flask) -> None:
    upgrade()
    diff = _schema_diff()
    assert diff == [], (
        "The models and the migrations disagree. Generate a migration with "
        f"`flask db migrate` and review it. Differences: {diff!r}"
    )


def test_models_match_migrations_after_a_round_trip(empty_app: Flask) -> None:
    """Downgrading and upgrading again rebuilds exactly the same schema."""
    upgrade()
    downgrade(revision="base")
    upgrade()
    assert _schema_diff() == []


def test_the_comparison_would_notice_a_drift(empty_app: Flask) -> None:
    """Guard the guard: a model change without a migration does show up in the diff."""
    upgrade()
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["organisation"].append_column(Column("motto", String(50)))
    drifted.tables["user_account"].c.full_name.type = String(50)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"}
        )
        diff = compare_metadata(context, drifted)
    kinds = {entry[0] if isinstance(entry, tuple) else entry[0][0] for entry in diff}
    assert "add_column" in kinds
    assert "modify_type" in kinds
