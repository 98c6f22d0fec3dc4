"""Public pages, the signed-in dashboard and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import select, text

from marketplace import access
from marketplace.extensions import db, limiter
from marketplace.models import JoinRequest, JoinStatus

bp = Blueprint("main", __name__)


@bp.get("/")
@access.public
def index():
    return render_template("main/index.html")


@bp.get("/dashboard")
@access.signed_in
def dashboard():
    pending = None
    if current_user.organisation is None:
        pending = db.session.scalar(
            select(JoinRequest).where(JoinRequest.user_id == current_user.id,
                                      JoinRequest.status == JoinStatus.PENDING.value)
        )
    return render_template("main/dashboard.html", pending_request=pending,
                           matching=_matching_challenges())


def _matching_challenges():  # type: ignore[no-untyped-def]
    """For people in a listed supplier with a profile: the open challenges that match it
    (None for everyone else, who see nothing about matching)."""
    from marketplace.models import SupplierProfile
    from marketplace.services import suppliers

    org = current_user.organisation
    if org is None or not suppliers.is_listed(org):
        return None
    profile = db.session.get(SupplierProfile, org.id)
    if profile is None:
        return None
    return suppliers.matching_challenges_for(profile)


@bp.get("/accessibility")
@access.public
def accessibility():
    return render_template("main/accessibility.html")


@bp.get("/cookies")
@access.public
def cookies():
    return render_template("main/cookies.html")


@bp.get("/privacy")
@access.public
def privacy():
    return render_template("main/privacy.html")


def _head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", current_app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(cfg).get_current_head()


@bp.get("/healthz")
@access.public
@limiter.exempt
def healthz():
    """Database reachability and migration revision, for load balancers and operators."""
    head = _head_revision()
    try:
        db.session.execute(text("SELECT 1"))
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - report any database failure
        db.session.rollback()
        current, database = None, f"error: {type(exc).__name__}"
    healthy = database == "ok" and current == head
    body = {
        "status": "ok" if healthy else "unhealthy",
        "database": database,
        "migration": {"current": current, "head": head, "up_to_date": current == head},
    }
    return jsonify(body), (200 if healthy else 503)
