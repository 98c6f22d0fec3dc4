"""Writing and reading the append-only audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import has_request_context
from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import client_ip, db
from marketplace.models import AuditEvent, Organisation, User


def _ip() -> str | None:
    return client_ip() if has_request_context() else None


def record(
    action: str,
    obj: Any = None,
    *,
    actor: User | None,
    organisation: Organisation | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change it describes)."""
    if obj is not None:
        object_type = object_type or obj.__tablename__
        db.session.flush()
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    org_id = organisation.id if isinstance(organisation, Organisation) else organisation
    if org_id is None and actor is not None:
        org_id = actor.organisation_id
    event = AuditEvent(
        action=action,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else "system"),
        organisation_id=org_id,
        object_type=object_type or "system",
        object_id=str(object_id) if object_id is not None else None,
        before=before,
        after=after,
        ip=_ip(),
    )
    db.session.add(event)
    return event


def record_many(action: str, object_type: str, changes: dict[int, dict[str, Any]], *,
                actor: User, organisation: int | None) -> None:
    """Add one audit event per object (object id -> its ``after`` state) in one statement:
    for a use case that acts on a page of objects at once."""
    if not changes:
        return
    ip = _ip()
    db.session.execute(insert(AuditEvent), [
        {"action": action, "actor_id": actor.id, "actor_label": actor.email,
         "organisation_id": organisation, "object_type": object_type,
         "object_id": str(object_id), "before": None, "after": after, "ip": ip}
        for object_id, after in changes.items()])


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    organisation_id: int | None = None


def audit_query(flt: AuditFilter) -> Select[tuple[AuditEvent]]:
    """Audit events matching a filter, newest first."""
    stmt = select(AuditEvent).options(
        selectinload(AuditEvent.organisation), selectinload(AuditEvent.actor)
    )
    if flt.action:
        stmt = stmt.where(AuditEvent.action.startswith(flt.action))
    if flt.actor:
        stmt = stmt.where(func.lower(AuditEvent.actor_label).contains(flt.actor.lower()))
    if flt.object_type:
        stmt = stmt.where(AuditEvent.object_type == flt.object_type)
    if flt.organisation_id:
        stmt = stmt.where(
            or_(
                AuditEvent.organisation_id == flt.organisation_id,
                (AuditEvent.object_type == "organisation")
                & (AuditEvent.object_id == str(flt.organisation_id)),
            )
        )
    return stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
