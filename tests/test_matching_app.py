"""Supplier matching in the app: match revisions on every write path, each process's index kept
up to date across processes, the suggested suppliers page, invitations to bid, the team
vocabulary, and the challenges suggested to suppliers (pages and daily digest)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from markupsafe import Markup
from sqlalchemy import delete, select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.matching import Span
from marketplace.models import (
    ChallengeInvitation,
    ChallengeSponsor,
    MatchIndexState,
    OrgStatus,
    SupplierProfile,
    User,
    utcnow,
)
from marketplace.services import admin as admin_service
from marketplace.services import matching
from marketplace.services import suggestions as suggestion_service
from marketplace.services import suppliers as supplier_service
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.suppliers import CaseStudyInput, CertificationInput, ProfileChanges
from marketplace.templating import highlight
from tests.bid_support import close, open_challenge
from tests.challenge_support import publishable
from tests.conftest import CSRFClient
from tests.dbutil import using_postgres
from tests.factories import (
    CouncilFactory,
    SupplierFactory,
    admin_user,
    council_user,
    supplier_user,
)
from tests.team_admin_support import (
    audit_events,
    browser,
    fresh,
    is_sign_in_redirect,
    outbox,
    text_of,
)

# --------------------------------------------------------------------------- helpers

POTHOLE_CAPABILITIES = ["Computer vision on dashcam and refuse lorry footage",
                        "Machine learning to predict potholes and road defects"]


FITTING_SUMMARY = ("Use machine learning and computer vision on dashcam footage to predict "
                   "potholes and road defects before they form.")


def revision_of(org_id: int) -> int:
    db.session.expire_all()
    profile = db.session.get(SupplierProfile, org_id)
    assert profile is not None
    return profile.match_revision


def state_revision() -> int:
    db.session.expire_all()
    return matching.read_state().revision


def supplier_with_profile(name: str, *, status: str = OrgStatus.VERIFIED.value,
                          **changes: Any) -> User:
    """A supplier organisation admin whose profile was saved through the service."""
    user = supplier_user("org_admin", organisation=SupplierFactory(
        name=name, status=status, verified_at=utcnow() if status == "verified" else None))
    supplier_service.update_profile(user, user.organisation_id, ProfileChanges(**changes))
    return user


def roads_supplier(name: str = "Roadsense Analytics Ltd", **changes: Any) -> User:
    values: dict[str, Any] = dict(
        description="We use computer vision and machine learning to find potholes early.",
        capabilities=POTHOLE_CAPABILITIES, regions=["Yorkshire and The Humber"],
        cpv_codes=["72000000"], size="small",
        case_studies=[CaseStudyInput("Pothole prediction pilot",
                                     "Emergency pothole repairs fell by 22%",
                                     measure="Category 1 defects per 100 miles")])
    values.update(changes)
    return supplier_with_profile(name, **values)


def care_supplier(name: str = "CareLink Technologies", **changes: Any) -> User:
    values: dict[str, Any] = dict(
        description="Digital telecare alarms and a monitoring centre for older people.",
        capabilities=["Digital telecare alarms", "24-hour monitoring and response centre"],
        regions=["Scotland"], cpv_codes=["85300000"], size="medium")
    values.update(changes)
    return supplier_with_profile(name, **values)


def ranked_names(officer: User, challenge_id: int, **filters: Any) -> list[str]:
    page = suggestion_service.suggest_suppliers(
        officer, challenge_id, suggestion_service.SuggestionFilters(**filters))
    return [item.name for item in page.items]


@pytest.fixture
def officer(app: Flask) -> User:
    return council_user("procurement_officer", organisation=CouncilFactory(name="Leeds"))


@pytest.fixture
def pothole(officer: User) -> int:
    """An open pothole challenge of the officer's council (the lead council)."""
    return open_challenge(officer).id


def suggested_url(challenge_id: int, query: str = "") -> str:
    return f"/council/challenges/{challenge_id}/suggested-suppliers" + (
        f"?{query}" if query else "")


def invite_url(challenge_id: int, supplier_id: int) -> str:
    return f"/council/challenges/{challenge_id}/suggested-suppliers/{supplier_id}/invite"


# --------------------------------------------------------------------------- revisions


def test_every_write_path_bumps_the_match_revision(app: Flask) -> None:
    user = supplier_user("org_admin", organisation=SupplierFactory(name="Bump Ltd"))
    org_id = user.organisation_id
    assert state_revision() == 0

    supplier_service.get_or_create_profile(user)
    seen = [revision_of(org_id)]
    assert seen[-1] == state_revision() > 0

    def bumped() -> None:
        now = revision_of(org_id)
        assert now > seen[-1], "the revision did not move"
        assert now == state_revision()
        seen.append(now)

    changes = [
        ProfileChanges(name="Bump Analytics Ltd"),
        ProfileChanges(description="Street lighting analytics", size="micro"),
        ProfileChanges(regions=["Wales"]),
        ProfileChanges(capabilities=["Lighting fault prediction"]),
        ProfileChanges(cpv_codes=["72000000"]),
        ProfileChanges(case_studies=[CaseStudyInput("Lights", "Faults fixed in a day")]),
        ProfileChanges(certifications=[CertificationInput("iso_9001", date(2030, 1, 1))]),
    ]
    for change in changes:
        supplier_service.update_profile(user, org_id, change)
        bumped()

    # Through the profile pages as well.
    client = browser(app, user)
    response = client.post("/supplier/profile/case-studies", data={
        "case_study_1_title": "Lanterns", "case_study_1_outcome": "Dark streets lit again"})
    assert response.status_code == 302, text_of(response)[:500]
    bumped()

    # Rejection and verification by platform admins list and unlist the supplier.
    admin = admin_user()
    admin_service.reject_organisation(admin, org_id, "Not a real company")
    bumped()
    admin_service.verify_organisation(admin, org_id)
    bumped()

    # The CSV import: a new supplier and an update of this one.
    report = supplier_service.import_suppliers(
        admin, "name,description\nImported Ltd,Gritting\nBump Analytics Ltd,New words\n",
        dry_run=False)
    assert report.imported
    bumped()
    imported = db.session.scalar(select(SupplierProfile).join(SupplierProfile.organisation)
                                 .where(SupplierProfile.description == "Gritting"))
    assert imported is not None and imported.match_revision > 0


def test_demo_data_sets_match_revisions(app: Flask) -> None:
    from marketplace.demo import load_demo_data

    assert load_demo_data()
    revisions = list(db.session.scalars(select(SupplierProfile.match_revision)))
    assert revisions and all(r > 0 for r in revisions)
    assert len(set(revisions)) == len(revisions)
    assert max(revisions) <= state_revision()


def test_a_missing_state_row_is_recreated(app: Flask) -> None:
    db.session.execute(delete(MatchIndexState))
    db.session.commit()
    assert matching.read_state().revision == 0
    user = roads_supplier()
    assert db.session.get(MatchIndexState, 1) is not None
    assert revision_of(user.organisation_id) == state_revision() > 0


# --------------------------------------------------------------------------- the index


@pytest.fixture
def second_worker(app: Flask) -> Iterator[Flask]:
    """Another process's app on the same database: its own match index, its own sessions."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "ENV_NAME": "testing", "BASE_URL": app.config["BASE_URL"]})
    other.test_client_class = CSRFClient
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_another_worker_sees_a_profile_change_on_its_next_request(
        app: Flask, second_worker: Flask, officer: User, pothole: int) -> None:
    roads = roads_supplier()
    care = care_supplier(capabilities=["Telecare alarms"], regions=["Scotland"])
    assert ranked_names(officer, pothole)[0] == "Roadsense Analytics Ltd"
    assert matching.index_stats()["builds"] == 1

    # The other worker builds its own index, then the supplier changes its profile there.
    with second_worker.app_context():
        other_officer = db.session.get(User, officer.id)
        assert ranked_names(other_officer, pothole)[0] == "Roadsense Analytics Ltd"
        other_care = db.session.get(User, care.id)
        supplier_service.update_profile(other_care, care.organisation_id, ProfileChanges(
            name="CareLink Roads", capabilities=POTHOLE_CAPABILITIES + [
                "Pothole detection from bus cameras across Yorkshire"],
            regions=["Yorkshire and The Humber"], cpv_codes=["72000000"],
            description="Computer vision that finds potholes and road defects early."))
        other_roads = db.session.get(User, roads.id)
        supplier_service.update_profile(other_roads, roads.organisation_id, ProfileChanges(
            capabilities=["Bookkeeping"], description="Accounts", cpv_codes=[], regions=[],
            case_studies=[]))
        assert matching.index_stats()["builds"] == 1

    # This worker's index catches up without being rebuilt.
    db.session.expire_all()
    names = ranked_names(officer, pothole)
    assert names[0] == "CareLink Roads"
    assert "CareLink Technologies" not in names
    stats = matching.index_stats()
    assert stats["builds"] == 1 and stats["updates"] >= 1
    assert stats["revision"] == state_revision()
    with second_worker.app_context():
        assert matching.index_stats()["builds"] == 1


def test_the_index_is_not_shared_between_apps(app: Flask, second_worker: Flask) -> None:
    roads_supplier()
    first = matching.current_index()
    with second_worker.app_context():
        assert matching.current_index() is not first
    assert matching.current_index() is first


def test_unlisted_suppliers_leave_the_index(app: Flask, officer: User, pothole: int) -> None:
    roads = roads_supplier()
    pending = roads_supplier("Pending Roads Ltd", status=OrgStatus.PENDING.value)
    org_id = str(roads.organisation_id)
    index = matching.current_index()
    assert org_id in index and str(pending.organisation_id) not in index
    assert "Pending Roads Ltd" not in ranked_names(officer, pothole)

    admin = admin_user()
    admin_service.reject_organisation(admin, roads.organisation_id, "Duplicate account")
    assert org_id not in matching.current_index()
    assert "Roadsense Analytics Ltd" not in ranked_names(officer, pothole)

    admin_service.verify_organisation(admin, roads.organisation_id)
    admin_service.verify_organisation(admin, pending.organisation_id)
    index = matching.current_index()
    assert org_id in index and str(pending.organisation_id) in index
    assert matching.index_stats()["builds"] == 1


def test_supplier_input_uses_the_profile_and_case_studies(app: Flask) -> None:
    user = roads_supplier(case_studies=[
        CaseStudyInput("Pothole pilot", "Repairs fell by 22%.", measure="Defects per mile"),
        CaseStudyInput("Gully routes", "Mileage cut by a third")])
    item = matching.supplier_input(user.organisation_id)
    assert item is not None
    assert item.id == str(user.organisation_id)
    assert item.name == "Roadsense Analytics Ltd"
    assert item.capabilities == tuple(POTHOLE_CAPABILITIES)
    assert item.outcomes == ("Pothole pilot: Repairs fell by 22% (measured by defects per mile)",
                             "Gully routes: Mileage cut by a third")
    assert item.regions == ("Yorkshire and The Humber",)
    assert item.cpv_codes == ("72000000",)
    assert item.size == "small"


# --------------------------------------------------------------------------- suggested page


def test_suggested_page_ranks_and_explains(app: Flask, officer: User, pothole: int) -> None:
    roads = roads_supplier()
    care_supplier()
    client = browser(app, officer)
    response = client.get(suggested_url(pothole))
    assert response.status_code == 200
    page = text_of(response)
    assert "Suggested suppliers" in page
    assert page.index("Roadsense Analytics Ltd") < page.index("CareLink Technologies") \
        if "CareLink Technologies" in page else "Roadsense Analytics Ltd" in page
    html = response.get_data(as_text=True)
    assert f'href="/suppliers/{roads.organisation_id}"' in html
    assert "out of 100" in page
    for label in ("Capabilities", "Outcomes", "CPV codes", "Region"):
        assert label in page
    assert "<mark>" in html
    assert "Invite to bid" in page
    # Nothing about bids.
    assert "bid submitted" not in page.lower() and "has bid" not in page.lower()

    # The council's challenge page links to it.
    assert suggested_url(pothole) in client.get(f"/council/challenges/{pothole}").get_data(
        as_text=True)


def test_suggested_page_permissions(app: Flask, officer: User, pothole: int) -> None:
    roads_supplier()
    url = suggested_url(pothole)
    owner = council_user("challenge_owner", organisation=officer.organisation)
    assert browser(app, owner).get(url).status_code == 200
    evaluator = council_user("evaluator", organisation=officer.organisation)
    assert browser(app, evaluator).get(url).status_code == 403
    other = council_user("procurement_officer", "challenge_owner")
    assert browser(app, other).get(url).status_code == 404
    bidder = supplier_user("bidder")
    assert browser(app, bidder).get(url).status_code == 403
    assert is_sign_in_redirect(browser(app).get(url), url)

    # A co-sponsoring council shares the challenge but not its suggestions.
    sponsor = council_user("procurement_officer")
    db.session.add(ChallengeSponsor(challenge_id=pothole,
                                    organisation_id=sponsor.organisation_id))
    db.session.commit()
    assert browser(app, sponsor).get(url).status_code == 403
    with pytest.raises(PermissionDenied):
        suggestion_service.suggest_suppliers(sponsor, pothole)
    with pytest.raises(NotFound):
        suggestion_service.suggest_suppliers(other, pothole)
    # Invitations follow the same rules.
    supplier_id = supplier_user("bidder").organisation_id
    assert browser(app, other).post(invite_url(pothole, supplier_id)).status_code == 404
    assert browser(app, sponsor).post(invite_url(pothole, supplier_id)).status_code == 403
    assert browser(app, evaluator).post(invite_url(pothole, supplier_id)).status_code == 403
    assert db.session.scalars(select(ChallengeInvitation)).all() == []


def test_drafts_have_suggestions_but_withdrawn_challenges_do_not(app: Flask,
                                                                  officer: User) -> None:
    roads_supplier()
    draft = publishable(officer)
    client = browser(app, officer)
    response = client.get(suggested_url(draft.id))
    assert response.status_code == 200
    assert "once the challenge is published" in text_of(response)
    assert "Invite to bid" not in text_of(response)

    from marketplace.services import challenges as challenge_service

    challenge = open_challenge(officer, "Gritting routes")
    challenge_service.withdraw(officer, challenge.id, "Budget cut")
    assert suggested_url(challenge.id) not in client.get(
        f"/council/challenges/{challenge.id}").get_data(as_text=True)
    response = client.get(suggested_url(challenge.id))
    assert response.status_code == 302
    with pytest.raises(Conflict):
        suggestion_service.suggest_suppliers(officer, challenge.id)


def test_filters_narrow_the_suggestions(app: Flask, officer: User, pothole: int) -> None:
    roads_supplier(certifications=[CertificationInput("iso_27001", date(2099, 1, 1))])
    roads_supplier("Welsh Roads Ltd", regions=["Wales"], size="medium",
                   certifications=[CertificationInput("iso_27001", date(2001, 1, 1))])
    roads_supplier("Anywhere Roads Ltd", regions=["UK-wide"], size="micro")
    everyone = set(ranked_names(officer, pothole))
    assert {"Roadsense Analytics Ltd", "Welsh Roads Ltd", "Anywhere Roads Ltd"} <= everyone

    assert set(ranked_names(officer, pothole, region="Yorkshire and The Humber")) == {
        "Roadsense Analytics Ltd", "Anywhere Roads Ltd"}
    assert ranked_names(officer, pothole, size="medium") == ["Welsh Roads Ltd"]
    assert ranked_names(officer, pothole, certification="iso_27001") == [
        "Roadsense Analytics Ltd"]
    assert ranked_names(officer, pothole, size="large") == []

    client = browser(app, officer)
    response = client.get(suggested_url(pothole, "region=Wales&size=&certification="
                                                 "&weight_capability=60&weight_outcome=25"
                                                 "&weight_cpv=10&weight_region=5"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Welsh Roads Ltd" in page and "Roadsense Analytics Ltd" not in page
    assert "Filtered by: Wales" in page
    response = client.get(suggested_url(pothole, "size=large"))
    assert "No supplier in the directory matches these filters" in text_of(response)


def test_weights_change_the_scores_and_bad_weights_are_errors(app: Flask, officer: User,
                                                              pothole: int) -> None:
    roads_supplier()
    client = browser(app, officer)
    default = client.get(suggested_url(pothole))
    assert 'value="60"' in default.get_data(as_text=True)  # the defaults, from Weights()

    only_region = client.get(suggested_url(
        pothole, "weight_capability=0&weight_outcome=0&weight_cpv=0&weight_region=100"))
    assert only_region.status_code == 200
    assert "Score 100 out of 100" in text_of(only_region)

    for query, message in (
        ("weight_capability=abc&weight_outcome=25&weight_cpv=10&weight_region=5",
         "Capabilities weight must be a whole number"),
        ("weight_capability=101&weight_outcome=25&weight_cpv=10&weight_region=5",
         "Capabilities weight must be 100 or less"),
        ("weight_capability=60&weight_outcome=&weight_cpv=10&weight_region=5",
         "Enter a weight for outcomes"),
        ("weight_capability=0&weight_outcome=0&weight_cpv=0&weight_region=0",
         "At least one weight must be more than 0"),
    ):
        response = client.get(suggested_url(pothole, query))
        assert response.status_code == 400, query
        page = text_of(response)
        assert "There is a problem" in page, query
        assert message in page, (query, page[:600])
        assert 'href="#weight_' in response.get_data(as_text=True)
        # The default ranking is still shown.
        assert "Roadsense Analytics Ltd" in page


def test_highlighting_escapes_supplier_text(app: Flask, officer: User, pothole: int) -> None:
    roads_supplier(capabilities=[
        '<script>alert("x")</script> Computer vision <b>to</b> predict potholes',
        "Machine learning & road defects"])
    response = browser(app, officer).get(suggested_url(pothole))
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<b>to</b>" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>" in html


def test_highlight_marks_spans_and_escapes_every_piece() -> None:
    text = "<b>Pothole</b> & road defects"
    marked = highlight(text, (Span(3, 10), Span(17, 21), Span(19, 29), Span(50, 60)))
    assert isinstance(marked, Markup)
    assert str(marked) == ("&lt;b&gt;<mark>Pothole</mark>&lt;/b&gt; &amp; <mark>road "
                           "defects</mark>")
    assert str(highlight("a<b", ())) == "a&lt;b"
    assert str(highlight(None)) == ""


# --------------------------------------------------------------------------- invitations


def test_invite_to_bid(app: Flask, officer: User, pothole: int) -> None:
    roads = roads_supplier()
    bidder = supplier_user("bidder", organisation=roads.organisation,
                           email="sam@roads.example.com")
    evaluator_only = supplier_user("org_admin", organisation=roads.organisation,
                                   email="off@roads.example.com", suspended_at=utcnow())
    client = browser(app, officer)
    response = client.post(invite_url(pothole, roads.organisation_id),
                           data={"message": "Your pilot looks <relevant>."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"{suggested_url(pothole)}#supplier-{roads.organisation_id}")
    invitations = db.session.scalars(select(ChallengeInvitation)).all()
    assert len(invitations) == 1
    invitation = invitations[0]
    assert (invitation.challenge_id, invitation.supplier_id, invitation.invited_by_id) == (
        pothole, roads.organisation_id, officer.id)
    assert invitation.message == "Your pilot looks <relevant>."
    [event] = audit_events("challenge.supplier_invited")
    assert event.actor_id == officer.id
    assert event.organisation_id == officer.organisation_id
    assert event.after["supplier_id"] == roads.organisation_id
    assert event.after["message"] == "Your pilot looks <relevant>."
    for person in (roads, bidder):
        [email] = outbox(person.email)
        assert email.subject.startswith("Leeds invites Roadsense Analytics Ltd to bid")
        assert f"http://marketplace.test/challenges/{pothole}" in email.body_text
        assert "Your pilot looks <relevant>." in email.body_text
    assert outbox(evaluator_only.email) == []

    page = client.get(suggested_url(pothole))
    text = text_of(page)
    assert "has been invited to bid" in text
    assert f"Invited on {date.today().day}" in text

    # A second invitation is refused with a message, not an error page.
    response = client.post(invite_url(pothole, roads.organisation_id), data={})
    assert response.status_code == 302
    text = text_of(client.get(response.headers["Location"]))
    assert "Roadsense Analytics Ltd was already invited to bid on" in text
    assert len(db.session.scalars(select(ChallengeInvitation)).all()) == 1
    assert len(outbox(bidder.email)) == 1
    with pytest.raises(Conflict, match="already invited"):
        suggestion_service.invite_supplier(officer, pothole, roads.organisation_id)


def test_invitations_only_while_the_challenge_is_open(app: Flask, officer: User) -> None:
    roads = roads_supplier()
    challenge = open_challenge(officer)
    close(challenge.id)
    client = browser(app, officer)
    response = client.post(invite_url(challenge.id, roads.organisation_id), data={})
    assert response.status_code == 302
    assert "only invite suppliers to bid while the challenge is open" in text_of(
        client.get(response.headers["Location"]))
    page = text_of(client.get(suggested_url(challenge.id)))
    assert "The submission deadline has passed" in page and "Invite to bid" not in page
    draft = publishable(officer, "Draft roads")
    with pytest.raises(Conflict):
        suggestion_service.invite_supplier(officer, draft.id, roads.organisation_id)
    assert db.session.scalars(select(ChallengeInvitation)).all() == []
    assert outbox(roads.email) == []


def test_invitations_go_to_listed_suppliers_only(app: Flask, officer: User,
                                                 pothole: int) -> None:
    pending = roads_supplier("Pending Ltd", status=OrgStatus.PENDING.value)
    with pytest.raises(NotFound):
        suggestion_service.invite_supplier(officer, pothole, pending.organisation_id)
    with pytest.raises(NotFound):
        suggestion_service.invite_supplier(officer, pothole, officer.organisation_id)
    with pytest.raises(ValidationFailed, match="2,000 characters"):
        suggestion_service.invite_supplier(officer, pothole, roads_supplier().organisation_id,
                                           "x" * 2001)
    assert db.session.scalars(select(ChallengeInvitation)).all() == []


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_admin_validates_saves_audits_and_rebuilds(app: Flask) -> None:
    admin = admin_user()
    client = browser(app, admin)
    assert client.get("/admin/matching-vocabulary").status_code == 200
    roads_supplier()
    matching.current_index()
    revision = state_revision()

    response = client.post("/admin/matching-vocabulary",
                           data={"vocabulary": "street-lights: street lighting\nnot a line"})
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page and "line 2" in page
    assert matching.vocabulary_text() == ""
    assert state_revision() == revision

    lines = ("# Our words\r\nour-highways: highway assets\r\n"
             "street-lights (our-highways): street lighting; lamp columns\r\n"
             "pothole-spotting (our-highways): pothole spotting; defect detection  \r\n")
    response = client.post("/admin/matching-vocabulary", data={"vocabulary": lines})
    assert response.status_code == 302
    saved = matching.vocabulary_text()
    assert saved == ("# Our words\nour-highways: highway assets\n"
                     "street-lights (our-highways): street lighting; lamp columns\n"
                     "pothole-spotting (our-highways): pothole spotting; defect detection")
    assert state_revision() == revision + 1
    [event] = audit_events("matching.vocabulary_changed")
    assert event.actor_id == admin.id
    assert event.before == {"vocabulary": ""} and event.after == {"vocabulary": saved}
    assert "lamp columns" in client.get("/admin/matching-vocabulary").get_data(as_text=True)

    # Every process rebuilds its index with the new vocabulary on its next use.
    assert matching.index_stats()["builds"] == 1
    matching.current_index()
    assert matching.index_stats()["builds"] == 2
    # Saving the same lines again changes nothing.
    assert matching.save_vocabulary(admin, lines) is False
    assert len(audit_events("matching.vocabulary_changed")) == 1

    with pytest.raises(PermissionDenied):
        matching.save_vocabulary(council_user("procurement_officer"), "x: y")
    assert browser(app, council_user("org_admin")).get(
        "/admin/matching-vocabulary").status_code == 403


# --------------------------------------------------------------------------- supplier side


def test_supplier_pages_list_matching_open_challenges(app: Flask, officer: User) -> None:
    roads = roads_supplier()
    matching_open = open_challenge(officer, "Predicting potholes before they form")
    closed = open_challenge(officer, "Finding potholes on rural roads")
    close(closed.id)
    draft = publishable(officer, "Pothole draft")
    client = browser(app, roads)
    for path in ("/dashboard", "/supplier/profile"):
        page = text_of(client.get(path))
        assert "Challenges that match your profile" in page, path
        assert matching_open.title in page, path
        assert "Finding potholes on rural roads" not in page, path
        assert draft.title not in page, path
        assert "out of 100" in page
    items = supplier_service.matching_challenges_for(fresh(SupplierProfile,
                                                           roads.organisation_id))
    assert [m.challenge.id for m in items] == [matching_open.id]
    assert items[0].score >= supplier_service.MATCH_MIN_SCORE
    assert items[0].reason

    # An unrelated supplier is not shown it; a council person sees nothing about matching.
    care = care_supplier()
    page = text_of(browser(app, care).get("/dashboard"))
    assert matching_open.title not in page
    assert "Challenges that match your profile" not in text_of(
        browser(app, officer).get("/dashboard"))


def test_pending_suppliers_see_no_matches(app: Flask, officer: User) -> None:
    pending = roads_supplier("Pending Ltd", status=OrgStatus.PENDING.value)
    open_challenge(officer)
    assert supplier_service.matching_challenges_for(
        fresh(SupplierProfile, pending.organisation_id)) == []
    assert "Challenges that match your profile" not in text_of(
        browser(app, pending).get("/dashboard"))


def test_alert_digest_includes_challenges_matching_the_profile(app: Flask,
                                                               officer: User) -> None:
    from tests.test_public_challenges import make_challenge

    roads = roads_supplier()
    care = care_supplier()
    for person in (roads, care):
        alert = supplier_service.create_alert(person, "libraries", [], [])
        alert.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    council = officer.organisation
    fitting = make_challenge(council, "Predicting potholes with computer vision",
                             published_ago=timedelta(hours=3), region="Yorkshire and The Humber",
                             cpv=("72000000",), summary=FITTING_SUMMARY)
    make_challenge(council, "Old pothole prediction", published_ago=timedelta(days=9),
                   region="Yorkshire and The Humber", cpv=("72000000",))
    libraries = make_challenge(council, "Libraries after dark",
                               published_ago=timedelta(hours=2), summary="Library hours.",
                               cpv=("92511000",))
    assert supplier_service.send_alert_digests() == 2
    [email] = outbox(roads.email)
    assert fitting.title in email.body_text and libraries.title in email.body_text
    assert "Old pothole prediction" not in email.body_text
    assert "Matches your company’s profile" in email.body_text
    assert email.subject == "2 new challenges matching your alerts and your company’s profile"
    [other] = outbox(care.email)
    assert fitting.title not in other.body_text
    assert other.subject == "1 new challenge matching your alerts"


def test_digest_with_only_profile_matches(app: Flask, officer: User) -> None:
    from tests.test_public_challenges import make_challenge

    roads = roads_supplier()
    alert = supplier_service.create_alert(roads, "zebra crossings", [], [])
    alert.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    make_challenge(officer.organisation, "Predicting potholes with computer vision",
                   published_ago=timedelta(hours=3), region="Yorkshire and The Humber",
                   cpv=("72000000",), summary=FITTING_SUMMARY)
    assert supplier_service.send_alert_digests() == 1
    [email] = outbox(roads.email)
    assert email.subject == "1 new challenge matching your company’s profile"


@pytest.mark.skipif(not using_postgres(), reason="needs PostgreSQL row locks")
def test_revisions_commit_in_order_under_concurrency(app: Flask) -> None:  # pragma: no cover
    """Writers take turns on the state row, so no two changes share a revision."""
    import threading

    users = [roads_supplier(f"Concurrent {n} Ltd") for n in range(6)]
    ids = [u.id for u in users]
    errors: list[BaseException] = []

    def save(user_id: int) -> None:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                assert user is not None
                supplier_service.update_profile(user, user.organisation_id, ProfileChanges(
                    description=f"Changed by thread {user_id}"))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    revisions = [revision_of(u.organisation_id) for u in users]
    assert len(set(revisions)) == len(revisions)
    assert max(revisions) == state_revision()


def test_a_new_vocabulary_is_built_in_the_background(app: Flask) -> None:
    """With many suppliers a build takes longer than a request may: a new vocabulary is
    built in a thread while pages keep using the current index (caught up as usual)."""
    app.config["MATCH_REBUILD_IN_BACKGROUND"] = True
    roads_supplier()
    old = matching.current_index()
    matching.save_vocabulary(admin_user(), "our-roads: carriageway defects; road faults")
    care = care_supplier()
    assert matching.current_index() is old  # still serving, and caught up
    assert str(care.organisation_id) in old
    cache = app.extensions[matching.EXTENSION]
    assert cache.rebuilding is not None
    cache.rebuilding.join(timeout=60)
    new = matching.current_index()
    assert new is not old
    assert str(care.organisation_id) in new and len(new) == 2
    assert matching.index_stats()["builds"] == 2


def test_preload_builds_the_index_before_workers_fork(app: Flask) -> None:
    roads = roads_supplier()
    matching.preload(app)
    assert matching.index_stats()["builds"] == 1
    assert str(roads.organisation_id) in matching.current_index()
    assert matching.index_stats()["builds"] == 1
