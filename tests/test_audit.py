"""The audit trail: append-only in the database, written by the services, read by admins."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from marketplace.extensions import db
from marketplace.models import AuditEvent, User
from marketplace.services import audit, organisations
from marketplace.services.errors import ValidationFailed
from tests.factories import admin_user, council_user, supplier_user
from tests.team_admin_support import (
    audit_events,
    browser,
    fresh,
    last_email,
)


def _event(action: str = "test.recorded") -> AuditEvent:
    event = audit.record(action, actor=None, object_type="test", object_id=1,
                         before={"v": 1}, after={"v": 2})
    db.session.commit()
    return event


# --------------------------------------------------------------------------- append-only


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'tampered' WHERE id = :id",
        "UPDATE audit_event SET after = NULL WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        "DELETE FROM audit_event",
    ],
)
def test_raw_sql_cannot_change_or_delete_audit_events(app: Flask, statement: str) -> None:
    event = _event()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement), {"id": event.id})
        db.session.flush()
    db.session.rollback()
    again = fresh(AuditEvent, event.id)
    assert again.action == "test.recorded"
    assert again.after == {"v": 2}


def test_a_separate_connection_cannot_bypass_the_guard(app: Flask) -> None:
    """The triggers live in the database, so any client is refused, not just the ORM."""
    event = _event()
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(update(AuditEvent).where(AuditEvent.id == event.id)
                         .values(actor_label="someone else"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(delete(AuditEvent).where(AuditEvent.id == event.id))
        conn.rollback()
    assert fresh(AuditEvent, event.id).actor_label == "system"


def test_the_orm_cannot_change_or_delete_audit_events(app: Flask) -> None:
    event = _event()
    event.action = "tampered"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()

    db.session.delete(fresh(AuditEvent, event.id))
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert fresh(AuditEvent, event.id).action == "test.recorded"


def test_new_events_can_still_be_added(app: Flask) -> None:
    _event("first")
    _event("second")
    assert [e.action for e in audit_events()] == ["first", "second"]


# --------------------------------------------------------------------------- written by services


def test_role_change_records_before_and_after(app: Flask) -> None:
    admin = council_user("org_admin")
    member = council_user("challenge_owner", "evaluator", organisation=admin.organisation)

    organisations.set_member_roles(admin, member.id, ["procurement_officer", "evaluator"])

    (event,) = audit_events("user.roles_changed")
    assert event.actor_id == admin.id
    assert event.actor_label == admin.email
    assert event.organisation_id == admin.organisation_id
    assert (event.object_type, event.object_id) == ("user_account", str(member.id))
    assert event.before == {"roles": ["challenge_owner", "evaluator"]}
    assert event.after == {"roles": ["evaluator", "procurement_officer"]}
    assert event.occurred_at.tzinfo is not None


def test_role_change_through_the_page_records_the_ip(app: Flask) -> None:
    admin = council_user("org_admin")
    member = council_user("challenge_owner", organisation=admin.organisation)
    client = browser(app, admin)
    response = client.post(f"/organisation/members/{member.id}/roles",
                           data={"roles": ["evaluator"]},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 302
    (event,) = audit_events("user.roles_changed")
    assert event.ip == "203.0.113.9"
    assert event.before == {"roles": ["challenge_owner"]}
    assert event.after == {"roles": ["evaluator"]}
    assert "evaluator" in last_email(member.email).body_text.lower()


def test_an_unchanged_role_set_writes_no_event(app: Flask) -> None:
    admin = council_user("org_admin")
    member = council_user("evaluator", organisation=admin.organisation)
    organisations.set_member_roles(admin, member.id, ["evaluator"])
    assert audit_events("user.roles_changed") == []


def test_a_refused_change_writes_no_event(app: Flask) -> None:
    """The event commits with the change it describes, so a refused change leaves no trace."""
    admin = council_user("org_admin")
    with pytest.raises(ValidationFailed):
        organisations.set_member_roles(admin, admin.id, ["evaluator"])
    assert audit_events("user.roles_changed") == []
    assert fresh(User, admin.id).roles == {"org_admin"}


# --------------------------------------------------------------------------- the audit log page


def _actions(response) -> list[str]:  # type: ignore[no-untyped-def]
    body = response.get_data(as_text=True)
    return [html.unescape(a) for a in
            re.findall(r'<td class="govuk-table__cell"><code>([^<]*)</code></td>', body)]


def test_audit_log_lists_events_newest_first_with_before_and_after(app: Flask) -> None:
    platform = admin_user()
    admin = council_user("org_admin")
    member = council_user("challenge_owner", organisation=admin.organisation)
    organisations.set_member_roles(admin, member.id, ["evaluator"])

    client = browser(app, platform)
    response = client.get("/admin/audit")
    assert response.status_code == 200
    actions = _actions(response)
    assert actions[0] == "user.signed_in"  # the admin's own sign-in, the newest
    assert "user.roles_changed" in actions
    page = html.unescape(response.get_data(as_text=True))
    assert json.dumps({"roles": ["challenge_owner"]}) in page  # before
    assert json.dumps({"roles": ["evaluator"]}) in page  # after
    assert admin.email in page
    assert admin.organisation.name in page


def test_audit_log_filters(app: Flask) -> None:
    platform = admin_user(email="root@example.com")
    council_admin = council_user("org_admin", email="boss@filters.gov.uk")
    colleague = council_user("challenge_owner", organisation=council_admin.organisation)
    supplier_admin = supplier_user("org_admin", email="chief@supplier.example.com")
    organisations.set_member_roles(council_admin, colleague.id, ["evaluator"])
    organisations.invite(supplier_admin, "new.bidder@supplier.example.com", ["bidder"])
    client = browser(app, platform)

    by_action = _actions(client.get("/admin/audit?action=invitation."))
    assert by_action == ["invitation.created"]

    by_prefix = _actions(client.get("/admin/audit?action=user."))
    assert "user.roles_changed" in by_prefix and "user.signed_in" in by_prefix
    assert all(a.startswith("user.") for a in by_prefix)

    by_actor = client.get("/admin/audit?actor=BOSS@filters")
    assert _actions(by_actor) == ["user.roles_changed"]

    by_object = _actions(client.get("/admin/audit?object_type=invitation"))
    assert by_object == ["invitation.created"]

    combined = _actions(client.get("/admin/audit?action=user.&actor=root@"))
    assert combined == ["user.signed_in"]

    nothing = client.get("/admin/audit?action=no.such.action")
    assert _actions(nothing) == []
    assert "No events match" in nothing.get_data(as_text=True)


def test_audit_log_pages(app: Flask) -> None:
    platform = admin_user()
    for n in range(55):
        _event(f"bulk.{n:02d}")
    client = browser(app, platform)
    first = _actions(client.get("/admin/audit?action=bulk."))
    second = _actions(client.get("/admin/audit?action=bulk.&page=2"))
    assert len(first) == 50
    assert first[0] == "bulk.54"
    assert second == [f"bulk.{n:02d}" for n in range(4, -1, -1)]
    assert _actions(client.get("/admin/audit?action=bulk.&page=nonsense")) == first


@pytest.mark.parametrize("role", ["org_admin", "procurement_officer"])
def test_audit_log_is_for_platform_admins_only(app: Flask, role: str) -> None:
    person = council_user(role)
    assert browser(app, person).get("/admin/audit").status_code == 403
