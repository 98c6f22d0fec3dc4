"""Every page type runs a bounded number of SQL statements, whatever the amount of data.

Each GET page (and API list endpoint) is declared in ``PAGES`` with the person who opens it
and a fixed bound on its SQL statements. The pages are requested on the access-rule test's
world (a few challenges, bids and suppliers), then again after ``grow`` adds many more of
each: the count must stay under the bound and must not grow with the data (an N+1 shows up
as one more statement per added row). A companion check fails when a GET endpoint is
missing from the table, so a new page is counted from the start.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAssessment,
    Challenge,
    User,
    utcnow,
)
from marketplace.services import bids as bid_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation as evaluation_service
from marketplace.services import suppliers as supplier_service
from tests.api_support import ApiClient, token_for
from tests.bid_support import complete_changes, open_challenge
from tests.evaluation_support import score_bid
from tests.factories import SupplierFactory, supplier_user
from tests.team_admin_support import browser, fresh
from tests.test_access_rules import (
    API_BLUEPRINT,
    ROUTES,
    World,
    _url,
    build_world,
)


@dataclass(frozen=True)
class Page:
    """One page type: its endpoint, who opens it, an optional query string and the most
    SQL statements it may run."""

    endpoint: str
    persona: str
    bound: int
    query: str = ""

    @property
    def label(self) -> str:
        return self.endpoint + (f"?{self.query}" if self.query else "")


ANON, BIDDER, SUPPLIER_ADMIN = "anonymous", "supplier_bidder", "supplier_org_admin"
OFFICER, EVALUATOR, COUNCIL_ADMIN = ("council_procurement_officer", "council_evaluator",
                                     "council_org_admin")
OWNER, ADMIN = "council_challenge_owner", "platform_admin"

PAGES: list[Page] = [
    # Public pages
    Page("main.index", ANON, 2),
    Page("main.accessibility", ANON, 2),
    Page("main.cookies", ANON, 2),
    Page("main.privacy", ANON, 2),
    Page("main.healthz", ANON, 4),
    Page("challenges.index", ANON, 6),
    Page("challenges.index", ANON, 7, "q=potholes"),
    Page("challenges.index", ANON, 7, "q=pothole+gritting&sort=newest"),
    Page("challenges.index", ANON, 5,
         "status=open&region=London&budget=100k-500k&sme=1&division=72"),
    Page("challenges.index", ANON, 8, "page=99"),
    Page("challenges.detail", ANON, 20),
    Page("challenges.detail", BIDDER, 20),
    Page("challenges.feed", ANON, 4),
    Page("challenges.awards_feed", ANON, 3),
    Page("challenges.download", ANON, 7),
    Page("opendata.challenge_package", ANON, 12),
    Page("opendata.releases", ANON, 15),
    Page("suppliers.index", ANON, 6),
    Page("suppliers.index", ANON, 7, "q=route+planning"),
    Page("suppliers.detail", ANON, 5),
    Page("developers.api", ANON, 2),
    Page("auth.sign_in", ANON, 2),
    Page("auth.register", ANON, 2),
    Page("auth.register_details", ANON, 4),
    Page("auth.check_email", ANON, 2),
    Page("auth.forgot_password", ANON, 2),
    Page("auth.resend_verification", ANON, 2),
    Page("auth.accept_invitation", ANON, 7),
    Page("auth.reset_password", ANON, 4),
    Page("auth.verify_email", ANON, 6),
    # Signed in, any organisation
    Page("main.dashboard", BIDDER, 6),
    Page("main.dashboard", OFFICER, 6),
    Page("account.details", BIDDER, 7),
    Page("account.change_password", BIDDER, 6),
    Page("account.tokens", BIDDER, 7),
    Page("organisation.team", COUNCIL_ADMIN, 12),
    Page("organisation.invite", COUNCIL_ADMIN, 6),
    Page("organisation.join_request", COUNCIL_ADMIN, 12),
    Page("organisation.member_roles", COUNCIL_ADMIN, 8),
    # Suppliers
    Page("suppliers.profile", SUPPLIER_ADMIN, 14),
    Page("suppliers.edit_section", SUPPLIER_ADMIN, 9),
    Page("suppliers.alerts", BIDDER, 7),
    Page("bids.dashboard", BIDDER, 9),
    Page("bids.edit", BIDDER, 16),
    Page("bids.section", BIDDER, 15),
    Page("bids.outcome", BIDDER, 25),
    Page("bids.receipt", BIDDER, 26),
    Page("bids.withdraw", BIDDER, 14),
    # Councils
    Page("council.dashboard", OFFICER, 29),
    Page("council.challenge", OFFICER, 16),
    Page("council.new", OFFICER, 6),
    Page("council.edit_section", OFFICER, 13),
    Page("council.amend", OFFICER, 13),
    Page("council.preview", OFFICER, 13),
    Page("council.questions", OFFICER, 17),
    Page("council.cancel", OFFICER, 13),
    Page("council.withdraw", OFFICER, 13),
    Page("council.suggested_suppliers", OFFICER, 16),
    Page("bids.council_list", OFFICER, 25),
    Page("bids.council_bid", OFFICER, 30),
    Page("reports.insights", OFFICER, 16),
    Page("reports.audit_trail", OFFICER, 35),
    # Evaluation
    Page("evaluation.overview", OFFICER, 34),
    Page("evaluation.overview", EVALUATOR, 34),
    Page("evaluation.evaluators", OFFICER, 60),
    Page("evaluation.scale", OFFICER, 51),
    Page("evaluation.comparison", OFFICER, 53),
    Page("evaluation.shortlist", OFFICER, 52),
    Page("evaluation.award", OFFICER, 52),
    Page("evaluation.no_suitable_supplier", OFFICER, 13),
    Page("evaluation.declare", EVALUATOR, 35),
    Page("evaluation.score", EVALUATOR, 37),
    Page("evaluation.moderate", OFFICER, 34),
    Page("evaluation.interview", OFFICER, 24),
    Page("evaluation.exclude", OFFICER, 24),
    Page("evaluation.reinstate", OFFICER, 24),
    # Platform administration
    Page("admin.index", ADMIN, 9),
    Page("admin.users", ADMIN, 8),
    Page("admin.user", ADMIN, 7),
    Page("admin.organisations", ADMIN, 6),
    Page("admin.organisation", ADMIN, 8),
    Page("admin.domains", ADMIN, 6),
    Page("admin.audit", ADMIN, 10),
    Page("admin.mailbox", ADMIN, 6),
    Page("admin.mailbox_message", ADMIN, 6),
    Page("admin.matching_vocabulary", ADMIN, 7),
    Page("admin.jobs_page", ADMIN, 6),
    Page("suppliers.import_suppliers", ADMIN, 5),
    # API
    Page("api.index", ANON, 2),
    Page("api.openapi_document", ANON, 2),
    Page("api.challenges_list", ANON, 6),
    Page("api.challenges_list", ANON, 7, "q=potholes&status=open"),
    Page("api.challenges_detail", ANON, 11),
    Page("api.challenges_questions", ANON, 10),
    Page("api.challenges_question", BIDDER, 15),
    Page("api.suppliers_index", ANON, 5),
    Page("api.suppliers_detail", ANON, 5),
    Page("api.me", BIDDER, 6),
    Page("api.bids_list", BIDDER, 9),
    Page("api.bids_get", BIDDER, 15),
    Page("api.bids_problems", BIDDER, 14),
    Page("api.supplier_profile_get", BIDDER, 9),
    Page("api.matches_for_supplier", BIDDER, 14),
    Page("api.challenges_council_list", OFFICER, 15),
    Page("api.challenges_council_questions", OFFICER, 15),
    Page("api.challenges_problems", OFFICER, 13),
    Page("api.matches_suggested_suppliers", OFFICER, 16),
    Page("api.bids_council_list", OFFICER, 26),
]

# GET endpoints that are not pages to count, and why.
NOT_PAGES = {
    # File downloads of one object: a fixed handful of statements, no lists.
    "bids.download": "one attachment's file",
    "reports.export_csv": "the evaluation export (needs an awarded evaluation to run)",
    "reports.export_xlsx": "the evaluation export (needs an awarded evaluation to run)",
}

GROWTH = 12


def _get_endpoints() -> set[str]:
    return {endpoint for endpoint, method, _path in ROUTES if method == "GET"}


def test_every_get_endpoint_has_a_declared_query_bound() -> None:
    declared = {page.endpoint for page in PAGES}
    missing = _get_endpoints() - declared - set(NOT_PAGES)
    assert not missing, (f"GET endpoints without a SQL statement bound: {sorted(missing)}; "
                         "add them to PAGES in tests/test_query_counts.py")
    assert not (declared | set(NOT_PAGES)) - _get_endpoints(), "PAGES names unknown endpoints"


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine while the block runs."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


class Clients:
    def __init__(self, app: Flask, world: World) -> None:
        self.app, self.world = app, world
        self.made: dict[tuple[str, bool], Any] = {}

    def get(self, page: Page) -> Any:
        client, url = self.prepare(page)
        return client.get(url)

    def prepare(self, page: Page) -> tuple[Any, str]:
        """The persona's client and the page's URL (made before counting starts)."""
        persona = self.world.personas[page.persona]
        api = page.endpoint.startswith(API_BLUEPRINT)
        key = (page.persona, api)
        if key not in self.made:
            if api:
                secret = token_for(persona.user, "write") if persona.user is not None else None
                self.made[key] = ApiClient(self.app, secret)
            else:
                self.made[key] = browser(self.app, persona.user)
        org = self.world.org_of(persona)
        url = _url(self.app, self.world, page.endpoint, org, persona.user)
        if page.query:
            url += "?" + page.query
        return self.made[key], url


def _measure(app: Flask, clients: Clients) -> dict[str, tuple[int, int, list[str]]]:
    """Each page's status and statement count (after a warm-up request)."""
    found = {}
    for page in PAGES:
        client, url = clients.prepare(page)
        client.get(url)  # warm-up: per-process caches, vocabularies
        with counting(app) as statements:
            response = client.get(url)
        found[page.label] = (response.status_code, len(statements), statements)
    return found


_suffix = itertools.count(1)


def grow(world: World, n: int = GROWTH) -> None:
    """Add ``n`` more of everything the pages list: published challenges (each with a
    published question and the supplier's draft bid), suppliers with profiles and bids on the
    closed and evaluation challenges, and the supplier's alerts."""
    officer = world.personas[OFFICER].user
    bidder = world.personas[BIDDER].user
    assert officer is not None and bidder is not None
    for i in range(n):
        challenge = open_challenge(officer, f"Pothole gritting sensors {i}")
        question = challenge_service.ask_question(bidder, challenge.id, f"Data room {i}?")
        challenge_service.answer_question(officer, question.id, "Yes, on request.")
        bid = bid_service.start_bid(bidder, challenge.id)
        bid_service.save_bid(bidder, bid.id, complete_changes(bid.challenge))
        if i < supplier_service.MAX_ALERTS - 1:
            supplier_service.create_alert(bidder, f"potholes {i}", [], [])
    rivals = []
    for _ in range(n):
        org = SupplierFactory(name=f"Route Planning {next(_suffix)} Ltd")
        rival = supplier_user("bidder", organisation=org)
        supplier_service.update_profile(rival, org.id, supplier_service.ProfileChanges(
            description="Route planning for refuse collection and gritting",
            regions=["North West"]))
        rivals.append(fresh(User, rival.id))
    # More submitted bids on the closed and the evaluation challenge: reopen each for a
    # moment, submit, close again and open the new bids as the officer's opening did.
    for challenge_id in (world.closed_challenge[world.council.id],
                         world.evaluation_challenge[world.council.id]):
        challenge = fresh(Challenge, challenge_id)
        deadline, started = challenge.submission_deadline, challenge.evaluation_started_at
        challenge.submission_deadline = utcnow() + timedelta(days=1)
        challenge.evaluation_started_at = None
        db.session.commit()
        new_bids = []
        for rival in rivals:
            bid = bid_service.start_bid(rival, challenge_id)
            bid_service.save_bid(rival, bid.id, complete_changes(bid.challenge))
            bid_service.submit_bid(rival, bid.id)
            new_bids.append(bid.id)
        challenge = fresh(Challenge, challenge_id)
        challenge.submission_deadline, challenge.evaluation_started_at = deadline, started
        assessed = set(db.session.scalars(select(BidAssessment.bid_id).where(
            BidAssessment.challenge_id == challenge_id)))
        for bid_id in db.session.scalars(select(Bid.id).where(
                Bid.challenge_id == challenge_id, Bid.submitted_at.is_not(None))):
            if bid_id not in assessed:
                db.session.add(BidAssessment(bid_id=bid_id, challenge_id=challenge_id))
        db.session.commit()
        if challenge_id == world.evaluation_challenge[world.council.id]:
            # As on the world's evaluated bid: each evaluator declared no conflict and the
            # lead scored it, so the comparison and shortlist pages stay open.
            for bid_id in new_bids:
                for name in (OFFICER, EVALUATOR, OWNER):
                    person = world.personas[name].user
                    assert person is not None
                    evaluation_service.declare_conflict(person, bid_id, False, "")
                score_bid(officer, fresh(Bid, bid_id), [3, 3, 3])


def test_pages_run_a_bounded_number_of_statements(app_factory) -> None:  # type: ignore[no-untyped-def]
    # Without the shared cache: the bounds are for a cache miss (tests/test_cache.py covers
    # the cache).
    app = app_factory(CACHE_TYPE="NullCache")
    with app.app_context():
        world = build_world()
        clients = Clients(app, world)
        small = _measure(app, clients)
        grow(world)
        large = _measure(app, clients)
    bounds = {page.label: page.bound for page in PAGES}
    problems = []
    for label, (status, count, _statements) in small.items():
        big_status, big_count, statements = large[label]
        if status >= 400 or big_status >= 400:
            problems.append(f"{label}: status {status} then {big_status}")
        if max(count, big_count) > bounds[label]:
            problems.append(f"{label}: {max(count, big_count)} statements, over its bound of "
                            f"{bounds[label]}")
        if big_count > count:
            repeated, times = Counter(statements).most_common(1)[0]
            problems.append(f"{label}: {count} statements with a few rows, {big_count} with "
                            f"{GROWTH} more of each (N+1?); run {times} times: {repeated[:300]}")
    assert not problems, "\n".join(problems)
