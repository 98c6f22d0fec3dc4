"""Organisation admins managing their team, through the services and through the pages."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace import security
from marketplace.extensions import db
from marketplace.models import (
    Invitation,
    JoinRequest,
    JoinStatus,
    Organisation,
    User,
    utcnow,
)
from marketplace.services import admin as admin_service
from marketplace.services import organisations
from marketplace.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tests.conftest import TEST_PASSWORD
from tests.dbutil import using_postgres
from tests.factories import UserFactory, admin_user, council_user, supplier_user
from tests.team_admin_support import (
    audit_events,
    browser,
    fresh,
    is_sign_in_redirect,
    last_email,
    outbox,
    text_of,
    token_from,
)


@pytest.fixture
def council_admin(app: Flask) -> User:
    return council_user("org_admin", "challenge_owner", email="admin@borough.gov.uk")


@pytest.fixture
def supplier_admin(app: Flask) -> User:
    return supplier_user("org_admin", "bidder", email="admin@civictech.example.com")


def _roles(user_id: int) -> set[str]:
    return fresh(User, user_id).roles


def _invite_token(admin: User, email: str, roles: list[str]) -> str:
    organisations.invite(admin, email, roles)
    return token_from(last_email(email).body_text, "/invitations/")


def _join_request(org: Organisation, email: str) -> JoinRequest:
    applicant = UserFactory(email=email, full_name="Jo Applicant")
    request = JoinRequest(user=applicant, organisation=org)
    db.session.add(request)
    db.session.commit()
    return request


# --------------------------------------------------------------------------- invitations


def test_invite_queues_an_email_with_a_working_link(app: Flask, council_admin: User) -> None:
    invitation = organisations.invite(council_admin, " New.Person@Borough.gov.uk ",
                                      ["evaluator", "challenge_owner"])
    assert invitation.email == "new.person@borough.gov.uk"
    assert invitation.roles == ["challenge_owner", "evaluator"]
    assert invitation.expires_at > utcnow() + timedelta(days=13)

    email = last_email("new.person@borough.gov.uk")
    assert council_admin.organisation.name in email.subject
    token = token_from(email.body_text, "/invitations/")
    assert email.body_text.count("http://marketplace.test/invitations/") == 1
    assert security.digest(token) == invitation.token_hash
    assert token not in str(invitation.token_hash)  # only the hash is stored

    (event,) = audit_events("invitation.created")
    assert event.after == {"email": "new.person@borough.gov.uk",
                           "roles": ["challenge_owner", "evaluator"]}


def test_invite_through_the_page(app: Flask, council_admin: User) -> None:
    client = browser(app, council_admin)
    assert client.get("/organisation/invite").status_code == 200
    response = client.post("/organisation/invite",
                           data={"email": "colleague@borough.gov.uk", "roles": ["evaluator"]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/organisation"
    assert outbox("colleague@borough.gov.uk")
    team = text_of(client.get("/organisation"))
    assert "Invitations waiting" in team
    assert "colleague@borough.gov.uk" in team


def test_council_invitations_need_a_public_sector_address(app: Flask,
                                                          council_admin: User) -> None:
    with pytest.raises(ValidationFailed, match="public-sector domain") as err:
        organisations.invite(council_admin, "someone@gmail.com", ["evaluator"])
    assert err.value.field == "email"

    client = browser(app, council_admin)
    response = client.post("/organisation/invite",
                           data={"email": "someone@gmail.com", "roles": ["evaluator"]})
    assert response.status_code == 200
    assert "Council colleagues need an email address on a public-sector domain" in text_of(
        response)
    assert outbox("someone@gmail.com") == []
    assert db.session.scalars(select(Invitation)).all() == []


def test_suppliers_may_invite_any_address(app: Flask, supplier_admin: User) -> None:
    organisations.invite(supplier_admin, "someone@gmail.com", ["bidder"])
    assert outbox("someone@gmail.com")


def test_invitations_only_offer_the_organisations_roles(app: Flask,
                                                        council_admin: User) -> None:
    with pytest.raises(ValidationFailed, match="bidder is not a role in a council"):
        organisations.invite(council_admin, "x@borough.gov.uk", ["bidder"])
    with pytest.raises(ValidationFailed, match="Select at least one role"):
        organisations.invite(council_admin, "x@borough.gov.uk", [])


def test_cannot_invite_someone_already_in_an_organisation(
    app: Flask, council_admin: User, supplier_admin: User
) -> None:
    elsewhere = council_user("evaluator", email="taken@otherplace.gov.uk")
    colleague = council_user("evaluator", organisation=council_admin.organisation,
                             email="mine@borough.gov.uk")
    with pytest.raises(ValidationFailed, match="already belongs to another organisation"):
        organisations.invite(council_admin, elsewhere.email, ["evaluator"])
    with pytest.raises(ValidationFailed, match="already in your organisation"):
        organisations.invite(council_admin, colleague.email, ["evaluator"])

    client = browser(app, supplier_admin)
    response = client.post("/organisation/invite",
                           data={"email": "TAKEN@otherplace.gov.uk", "roles": ["bidder"]})
    assert response.status_code == 200
    assert "taken@otherplace.gov.uk already belongs to another organisation" in text_of(response)
    assert outbox(elsewhere.email) == []


def test_accept_invitation_as_a_new_person(app: Flask, council_admin: User) -> None:
    token = _invite_token(council_admin, "newbie@borough.gov.uk", ["evaluator"])
    client = browser(app)
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert f"Join {council_admin.organisation.name}" in text_of(page)

    response = client.post(f"/invitations/{token}", data={
        "full_name": "  Nia   Newbie ", "password": TEST_PASSWORD,
        "password_confirm": TEST_PASSWORD,
    })
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"

    user = db.session.scalar(select(User).where(User.email == "newbie@borough.gov.uk"))
    assert user is not None
    assert user.full_name == "Nia Newbie"
    assert user.email_verified
    assert user.organisation_id == council_admin.organisation_id
    assert user.roles == {"evaluator"}
    # Signed in straight away.
    team = client.get("/organisation")
    assert team.status_code == 200
    assert "Nia Newbie" in text_of(team)
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None and invitation.accepted_at is not None
    assert [e.actor_id for e in audit_events("invitation.accepted")] == [user.id]


def test_accept_invitation_checks_the_new_password(app: Flask, council_admin: User) -> None:
    token = _invite_token(council_admin, "weak@borough.gov.uk", ["evaluator"])
    response = browser(app).post(f"/invitations/{token}", data={
        "full_name": "Wes Weak", "password": "password1", "password_confirm": "password1",
    })
    assert response.status_code == 200
    assert "Password must be 10 characters or more" in text_of(response)
    assert db.session.scalar(select(User).where(User.email == "weak@borough.gov.uk")) is None


def test_accept_invitation_as_an_existing_person_without_an_organisation(
    app: Flask, council_admin: User
) -> None:
    person = UserFactory(email="drifter@borough.gov.uk", full_name="Dee Drifter")
    pending = _join_request(council_admin.organisation, "other@borough.gov.uk")
    stale = JoinRequest(user=person, organisation=pending.organisation)
    db.session.add(stale)
    db.session.commit()
    token = _invite_token(council_admin, person.email, ["challenge_owner", "evaluator"])

    anonymous = browser(app)
    page = anonymous.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert "Sign in with it to accept the invitation" in text_of(page)
    assert anonymous.post(f"/invitations/{token}").status_code == 403

    someone_else = browser(app, UserFactory(email="nosy@borough.gov.uk"))
    assert someone_else.post(f"/invitations/{token}").status_code == 403

    client = browser(app, person)
    assert "Accept invitation" in text_of(client.get(f"/invitations/{token}"))
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/organisation"
    joined = fresh(User, person.id)
    assert joined.organisation_id == council_admin.organisation_id
    assert joined.roles == {"challenge_owner", "evaluator"}
    assert fresh(JoinRequest, stale.id).status == JoinStatus.REJECTED  # superseded
    assert client.get("/organisation").status_code == 200


def _expire(invitation_id: int) -> None:
    invitation = fresh(Invitation, invitation_id)
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


@pytest.mark.parametrize(
    ("spoil", "status", "message"),
    [
        ("expire", 409, "This invitation has expired. Ask your colleague to invite you again"),
        ("revoke", 409, "This invitation was withdrawn. Ask your colleague to invite you again"),
        ("use", 409, "This invitation has already been accepted. Sign in instead"),
        ("garble", 404, "This invitation link is not valid"),
    ],
)
def test_unusable_invitations_are_refused_with_a_clear_page(
    app: Flask, council_admin: User, spoil: str, status: int, message: str
) -> None:
    token = _invite_token(council_admin, "late@borough.gov.uk", ["evaluator"])
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None
    if spoil == "expire":
        _expire(invitation.id)
    elif spoil == "revoke":
        organisations.revoke_invitation(council_admin, invitation.id)
    elif spoil == "use":
        organisations.accept_invitation(token, full_name="Lee Late", password=TEST_PASSWORD)
    else:
        token = token[:-4] + "AAAA"

    client = browser(app)
    page = client.get(f"/invitations/{token}")
    assert page.status_code == status
    assert "There is a problem with this link" in text_of(page)
    assert message in text_of(page)
    users_before = db.session.scalars(select(User.id)).all()
    attempt = client.post(f"/invitations/{token}", data={
        "full_name": "Lee Again", "password": TEST_PASSWORD, "password_confirm": TEST_PASSWORD,
    })
    assert attempt.status_code == status
    assert db.session.scalars(select(User.id)).all() == users_before
    with pytest.raises((Conflict, NotFound)):
        organisations.invitation_for_token(token)


def test_revoke_invitation_through_the_page(app: Flask, council_admin: User) -> None:
    organisations.invite(council_admin, "oops@borough.gov.uk", ["evaluator"])
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None
    client = browser(app, council_admin)
    response = client.post(f"/organisation/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert fresh(Invitation, invitation.id).revoked_at is not None
    assert "oops@borough.gov.uk" not in text_of(client.get("/organisation"))
    (event,) = audit_events("invitation.revoked")
    assert event.before == {"open": True} and event.after == {"open": False}


# --------------------------------------------------------------------------- roles


def test_change_roles_through_the_page(app: Flask, council_admin: User) -> None:
    member = council_user("challenge_owner", organisation=council_admin.organisation,
                          email="member@borough.gov.uk", full_name="Mo Member")
    client = browser(app, council_admin)
    page = client.get(f"/organisation/members/{member.id}/roles")
    assert page.status_code == 200
    assert "Roles for Mo Member" in text_of(page)

    response = client.post(f"/organisation/members/{member.id}/roles",
                           data={"roles": ["evaluator", "procurement_officer"]})
    assert response.status_code == 302
    assert _roles(member.id) == {"evaluator", "procurement_officer"}

    (event,) = audit_events("user.roles_changed")
    assert event.actor_id == council_admin.id
    assert event.before == {"roles": ["challenge_owner"]}
    assert event.after == {"roles": ["evaluator", "procurement_officer"]}
    email = last_email(member.email)
    assert email.subject == f"Your roles at {council_admin.organisation.name} have changed"
    assert "Evaluator" in email.body_text and "Procurement officer" in email.body_text


def test_change_roles_refuses_roles_of_the_other_kind(app: Flask, council_admin: User) -> None:
    member = council_user("evaluator", organisation=council_admin.organisation)
    with pytest.raises(ValidationFailed, match="bidder is not a role"):
        organisations.set_member_roles(council_admin, member.id, ["bidder"])
    client = browser(app, council_admin)
    response = client.post(f"/organisation/members/{member.id}/roles",
                           data={"roles": ["bidder"]})
    assert response.status_code == 200
    assert _roles(member.id) == {"evaluator"}


def test_the_last_org_admin_cannot_be_demoted(app: Flask, council_admin: User) -> None:
    with pytest.raises(ValidationFailed, match="must keep at least one organisation admin"):
        organisations.set_member_roles(council_admin, council_admin.id, ["challenge_owner"])

    client = browser(app, council_admin)
    response = client.post(f"/organisation/members/{council_admin.id}/roles",
                           data={"roles": ["challenge_owner"]})
    assert response.status_code == 200
    assert ("The organisation must keep at least one organisation admin. "
            "Make someone else an admin first") in text_of(response)
    assert "org_admin" in _roles(council_admin.id)


def test_the_last_org_admin_cannot_be_removed(app: Flask, council_admin: User) -> None:
    with pytest.raises(ValidationFailed, match="cannot remove the last organisation admin"):
        organisations.remove_member(council_admin, council_admin.id)

    client = browser(app, council_admin)
    response = client.post(f"/organisation/members/{council_admin.id}/remove",
                           follow_redirects=True)
    assert response.status_code == 200
    assert "You cannot remove the last organisation admin" in text_of(response)
    assert fresh(User, council_admin.id).organisation_id is not None


def test_a_suspended_admin_does_not_count_as_the_other_admin(
    app: Flask, council_admin: User
) -> None:
    other = council_user("org_admin", organisation=council_admin.organisation)
    admin_service.suspend_user(admin_user(), other.id, "Left the council")
    with pytest.raises(ValidationFailed, match="at least one organisation admin"):
        organisations.set_member_roles(council_admin, council_admin.id, ["evaluator"])


def test_an_admin_may_step_down_when_another_admin_remains(app: Flask,
                                                           council_admin: User) -> None:
    other = council_user("org_admin", organisation=council_admin.organisation)
    organisations.set_member_roles(council_admin, council_admin.id, ["challenge_owner"])
    assert _roles(council_admin.id) == {"challenge_owner"}
    assert _roles(other.id) == {"org_admin"}
    with pytest.raises(PermissionDenied):  # no longer an admin
        organisations.set_member_roles(fresh(User, council_admin.id), other.id, ["evaluator"])


# --------------------------------------------------------------------------- other organisations


def test_an_admin_cannot_touch_another_organisations_team(
    app: Flask, council_admin: User, supplier_admin: User
) -> None:
    bidder = supplier_user("bidder", organisation=supplier_admin.organisation)
    request = _join_request(supplier_admin.organisation, "hopeful@example.com")
    organisations.invite(supplier_admin, "invited@example.com", ["bidder"])
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None

    with pytest.raises(NotFound):
        organisations.set_member_roles(council_admin, bidder.id, ["evaluator"])
    with pytest.raises(NotFound):
        organisations.set_member_roles(council_admin, supplier_admin.id, ["evaluator"])
    with pytest.raises(NotFound):
        organisations.remove_member(council_admin, bidder.id)
    with pytest.raises(NotFound):
        organisations.decide_join_request(council_admin, request.id, approve=True,
                                          roles=["evaluator"])
    with pytest.raises(NotFound):
        organisations.decide_join_request(council_admin, request.id, approve=False)
    with pytest.raises(NotFound):
        organisations.revoke_invitation(council_admin, invitation.id)

    client = browser(app, council_admin)
    for method, url, data in (
        ("get", f"/organisation/members/{bidder.id}/roles", None),
        ("post", f"/organisation/members/{bidder.id}/roles", {"roles": ["evaluator"]}),
        ("post", f"/organisation/members/{bidder.id}/remove", {}),
        ("post", f"/organisation/members/{supplier_admin.id}/remove", {}),
        ("get", f"/organisation/join-requests/{request.id}", None),
        ("post", f"/organisation/join-requests/{request.id}", {"approve": "Approve"}),
        ("post", f"/organisation/invitations/{invitation.id}/revoke", {}),
    ):
        response = client.get(url) if method == "get" else client.post(url, data=data)
        assert response.status_code == 404, (method, url, response.status_code)

    assert fresh(User, bidder.id).organisation_id == supplier_admin.organisation_id
    assert _roles(bidder.id) == {"bidder"}
    assert fresh(JoinRequest, request.id).status == JoinStatus.PENDING
    assert fresh(Invitation, invitation.id).revoked_at is None
    assert audit_events("user.roles_changed") == []


@pytest.mark.parametrize("role", ["challenge_owner", "procurement_officer", "evaluator"])
def test_members_who_are_not_admins_get_403(app: Flask, council_admin: User, role: str) -> None:
    member = council_user(role, organisation=council_admin.organisation)
    colleague = council_user("evaluator", organisation=council_admin.organisation)
    request = _join_request(council_admin.organisation, "wannabe@borough.gov.uk")
    organisations.invite(council_admin, "soon@borough.gov.uk", ["evaluator"])
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None

    client = browser(app, member)
    assert client.get("/organisation").status_code == 200  # members see their team
    for method, url in (
        ("get", "/organisation/invite"),
        ("post", "/organisation/invite"),
        ("get", f"/organisation/members/{colleague.id}/roles"),
        ("post", f"/organisation/members/{colleague.id}/roles"),
        ("post", f"/organisation/members/{colleague.id}/remove"),
        ("get", f"/organisation/join-requests/{request.id}"),
        ("post", f"/organisation/join-requests/{request.id}"),
        ("post", f"/organisation/invitations/{invitation.id}/revoke"),
    ):
        response = client.get(url) if method == "get" else client.post(
            url, data={"roles": ["org_admin"], "email": "x@borough.gov.uk", "approve": "Approve"})
        assert response.status_code == 403, (method, url, response.status_code)

    for attempt in (
        lambda: organisations.invite(member, "x@borough.gov.uk", ["evaluator"]),
        lambda: organisations.set_member_roles(member, member.id, ["org_admin"]),
        lambda: organisations.remove_member(member, colleague.id),
        lambda: organisations.decide_join_request(member, request.id, approve=True),
        lambda: organisations.revoke_invitation(member, invitation.id),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert _roles(member.id) == {role}
    assert fresh(JoinRequest, request.id).status == JoinStatus.PENDING


# --------------------------------------------------------------------------- join requests


def test_approve_a_join_request_with_chosen_roles(app: Flask, council_admin: User) -> None:
    request = _join_request(council_admin.organisation, "joiner@borough.gov.uk")
    client = browser(app, council_admin)
    team = text_of(client.get("/organisation"))
    assert "Requests to join" in team and "joiner@borough.gov.uk" in team
    assert client.get(f"/organisation/join-requests/{request.id}").status_code == 200

    response = client.post(f"/organisation/join-requests/{request.id}",
                           data={"roles": ["evaluator", "procurement_officer"],
                                 "approve": "Approve"})
    assert response.status_code == 302
    decided = fresh(JoinRequest, request.id)
    assert decided.status == JoinStatus.APPROVED
    assert decided.decided_by_id == council_admin.id
    joiner = fresh(User, request.user_id)
    assert joiner.organisation_id == council_admin.organisation_id
    assert joiner.roles == {"evaluator", "procurement_officer"}
    assert last_email(joiner.email).subject == (
        f"You have joined {council_admin.organisation.name}")
    assert [e.after for e in audit_events("join_request.approved")] == [{"status": "approved"}]
    assert audit_events("user.joined_organisation")[0].after["roles"] == [
        "evaluator", "procurement_officer"]


@pytest.mark.parametrize(("maker", "default"), [("council", {"challenge_owner"}),
                                                ("supplier", {"bidder"})])
def test_approve_a_join_request_with_the_default_roles(
    app: Flask, council_admin: User, supplier_admin: User, maker: str, default: set[str]
) -> None:
    admin = council_admin if maker == "council" else supplier_admin
    request = _join_request(admin.organisation, f"plain@{maker}.gov.uk")
    response = browser(app, admin).post(f"/organisation/join-requests/{request.id}",
                                        data={"approve": "Approve"})
    assert response.status_code == 302
    assert _roles(request.user_id) == default
    assert fresh(User, request.user_id).organisation_id == admin.organisation_id


def test_reject_a_join_request(app: Flask, council_admin: User) -> None:
    request = _join_request(council_admin.organisation, "stranger@borough.gov.uk")
    response = browser(app, council_admin).post(f"/organisation/join-requests/{request.id}",
                                                data={"reject": "Reject"})
    assert response.status_code == 302
    assert fresh(JoinRequest, request.id).status == JoinStatus.REJECTED
    applicant = fresh(User, request.user_id)
    assert applicant.organisation_id is None and applicant.roles == set()
    email = last_email(applicant.email)
    assert email.subject == f"Your request to join {council_admin.organisation.name}"
    assert email.body_text.startswith("Hello Jo Applicant,")
    assert "did not approve" in email.body_text
    assert audit_events("join_request.rejected")
    with pytest.raises(Conflict, match="already been decided"):
        organisations.decide_join_request(council_admin, request.id, approve=True)
    # A decided request no longer has a page.
    assert browser(app, council_admin).get(
        f"/organisation/join-requests/{request.id}").status_code == 404


def test_cannot_approve_someone_who_joined_elsewhere_meanwhile(
    app: Flask, council_admin: User
) -> None:
    request = _join_request(council_admin.organisation, "fickle@borough.gov.uk")
    elsewhere = council_user("org_admin")
    applicant = fresh(User, request.user_id)
    applicant.organisation_id = elsewhere.organisation_id
    db.session.commit()
    with pytest.raises(Conflict, match="already belongs to an organisation"):
        organisations.decide_join_request(council_admin, request.id, approve=True)
    assert fresh(User, request.user_id).organisation_id == elsewhere.organisation_id
    assert fresh(JoinRequest, request.id).status == JoinStatus.PENDING


# --------------------------------------------------------------------------- removal


def test_removing_a_member_ends_their_sessions(app: Flask, council_admin: User) -> None:
    member = council_user("challenge_owner", organisation=council_admin.organisation,
                          email="leaver@borough.gov.uk", full_name="Lou Leaver")
    members_browser = browser(app, member)
    other_browser = browser(app, member)
    assert members_browser.get("/organisation").status_code == 200

    admin_browser = browser(app, council_admin)
    response = admin_browser.post(f"/organisation/members/{member.id}/remove")
    assert response.status_code == 302
    assert "leaver@borough.gov.uk" not in text_of(admin_browser.get("/organisation"))

    for client in (members_browser, other_browser):
        assert is_sign_in_redirect(client.get("/organisation"), "/organisation")
        assert is_sign_in_redirect(client.get("/dashboard"), "/dashboard")
    gone = fresh(User, member.id)
    assert gone.organisation_id is None and gone.roles == set()
    (event,) = audit_events("user.removed_from_organisation")
    assert event.before["organisation_id"] == council_admin.organisation_id
    assert event.after["organisation_id"] is None
    # They can sign in again, but belong to no organisation now.
    again = browser(app, member)
    assert again.get("/organisation").status_code == 403


def test_an_admin_demoted_meanwhile_cannot_act_on_a_stale_copy(
    app: Flask, council_admin: User
) -> None:
    """A request that loaded its person before a colleague demoted them must be refused.

    The services re-read the actor once they hold the organisation lock.
    """
    other_admin = council_user("org_admin", organisation=council_admin.organisation)
    bystander = council_user("evaluator", organisation=council_admin.organisation)
    with app.app_context():  # a second request, started before the demotion
        stale = db.session.get(User, other_admin.id)
        assert stale is not None and stale.is_org_admin
        with app.app_context():  # meanwhile, the first admin demotes them
            organisations.set_member_roles(db.session.get(User, council_admin.id),
                                           other_admin.id, ["evaluator"])
        with pytest.raises(PermissionDenied):
            organisations.remove_member(stale, bystander.id)
    assert fresh(User, bystander.id).organisation_id == council_admin.organisation_id


# --------------------------------------------------------------------------- concurrency


@pytest.mark.skipif(not using_postgres(),
                    reason="needs PostgreSQL: SQLite has no row locks (SELECT ... FOR UPDATE) "
                           "and serialises writers on the whole file")
def test_two_admins_demoting_each_other_at_once_leave_an_admin(
    app: Flask, council_admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = council_user("org_admin", organisation=council_admin.organisation)
    pairs = [(council_admin.id, other.id), (other.id, council_admin.id)]

    # Each thread pauses right after counting the other admins. Without the row lock both
    # would count one, meet here and both demote; with it, the second waits for the lock
    # (so the first times out here and commits) and then counts none.
    counted = threading.Barrier(2)
    original_count = organisations._other_admin_count

    def count_then_pause(org: Organisation, excluding: User) -> int:
        result = original_count(org, excluding)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(timeout=1.0)
        return result

    monkeypatch.setattr(organisations, "_other_admin_count", count_then_pause)
    start = threading.Barrier(2, timeout=10)
    results: dict[int, object] = {}

    def demote(actor_id: int, target_id: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, actor_id)
                assert actor is not None and actor.is_org_admin and actor.organisation
                start.wait()
                organisations.set_member_roles(actor, target_id, ["evaluator"])
                results[actor_id] = "demoted"
            except Exception as err:  # reported by the assertions below
                results[actor_id] = err
            finally:
                db.session.remove()

    threads = [threading.Thread(target=demote, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)

    admins = [uid for uid in (council_admin.id, other.id) if "org_admin" in _roles(uid)]
    assert admins, f"no org admin left: {results}"
    outcomes = sorted(results.values(), key=lambda r: isinstance(r, str))
    assert len(outcomes) == 2 and outcomes[1] == "demoted", results
    assert isinstance(outcomes[0], ValidationFailed | PermissionDenied), results
    assert len(audit_events("user.roles_changed")) == 1
