"""Every route declares an access rule, and the rule is what really happens.

The authorisation matrix is built from ``app.url_map`` and each view's declared rule, so a new
route is checked automatically: its expected outcome for each kind of person is derived from
its rule, and its path parameters are filled with real objects (a route with a parameter this
file does not know how to fill fails loudly, asking for one).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from werkzeug.routing import IntegerConverter, Rule

from marketplace import create_app
from marketplace.access import rule_of
from marketplace.extensions import db
from marketplace.models import (
    AllowedDomain,
    Bid,
    BidAttachment,
    Challenge,
    ChallengeStatus,
    ClarificationQuestion,
    Invitation,
    JoinRequest,
    JoinStatus,
    Organisation,
    OrgStatus,
    OutboxEmail,
    QuestionStatus,
    User,
    utcnow,
)
from marketplace.services import accounts, organisations
from marketplace.services import admin as admin_service
from marketplace.services import challenges as challenge_service
from marketplace.services import evaluation as evaluation_service
from marketplace.services import suppliers as supplier_service
from marketplace.services import tokens as token_service
from tests.api_support import ApiClient, token_for
from tests.bid_support import close, open_challenge, submitted_bid
from tests.challenge_support import publishable
from tests.evaluation_support import score_bid
from tests.factories import (
    CouncilFactory,
    SupplierFactory,
    UserFactory,
    admin_user,
    council_user,
    supplier_user,
)
from tests.team_admin_support import (
    browser,
    fresh,
    is_sign_in_redirect,
    last_email,
    token_from,
)

# Endpoints that may have no access rule. Only Flask's own static files.
UNRULED_ENDPOINTS = {"static"}

PERSONAS = (
    "anonymous",
    "supplier_bidder",
    "supplier_org_admin",
    "council_challenge_owner",
    "council_procurement_officer",
    "council_evaluator",
    "council_org_admin",
    "platform_admin",
)

# Routes whose challenge parameter is an unpublished draft (editing one that is published
# sends you to the amendment page); every other route gets a published, open challenge.
DRAFT_ENDPOINTS = {"council.edit_section"}

# Routes whose challenge parameter is a closed challenge with submitted bids (the list of bids
# is only there to open after the deadline; before it, the page shows a count).
CLOSED_ENDPOINTS = {"bids.council_list", "api.bids_council_list"}

# Routes with an organisation-scoped rule whose object is nevertheless public: anyone the
# rule lets in may act on any published challenge, whichever council owns it (suppliers ask
# questions; any council's editors reuse a challenge). Unpublished ones are still 404.
PUBLIC_OBJECT_ENDPOINTS = {"challenges.ask", "council.copy", "bids.start"}

# Signed-in routes whose object-level rule is the service's: an attachment of a bid is for its
# supplier and, after the deadline, for the challenge's procurement officers. The people the
# route's rule lets in but the service refuses get these statuses instead (platform admins are
# in no council, so the bid does not exist for them).
OBJECT_REFUSALS: dict[str, dict[str, int]] = {
    "bids.download": {"council_challenge_owner": 403, "council_evaluator": 403,
                      "council_org_admin": 403, "platform_admin": 404},
    # The lead is let in, but there is nothing to export before the bids are opened.
    "reports.export_csv": {"council_procurement_officer": 409},
    "reports.export_xlsx": {"council_procurement_officer": 409},
    # A pending question is seen only by its supplier and the challenge's councils.
    "api.challenges_question": {"anonymous": 404, "platform_admin": 404},
}

# Evaluation routes (the "evaluation" blueprint) act on a challenge in evaluation: its bids
# opened, the main council's officer, evaluator and challenge owner personas its evaluators.
EVALUATION_BLUEPRINT = "evaluation."

# The section filled in for routes with a ``section`` parameter (default: "about").
SECTION_OF = {"suppliers.edit_section": "details", "bids.section": "answers"}

# Public pages that, by design, send a signed-in person elsewhere (endpoint -> target path).
PUBLIC_REDIRECTS_WHEN_SIGNED_IN = {"auth.sign_in": "/dashboard"}

ALLOW, SIGN_IN, FORBIDDEN, UNAUTHORISED = "allowed", "302 to sign-in", "403", "401"

# API routes (the "api" blueprint) use the same rule vocabulary prefixed with "api:"; where a
# page sends an anonymous visitor to sign in, the API answers 401. Each persona calls the API
# with a write token of their own.
API_BLUEPRINT = "api."


# --------------------------------------------------------------------------- the routes


@functools.cache
def _route_app() -> Flask:
    """An app used only to read its routes (it never touches a database)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "ENV_NAME": "testing"})


def _routes() -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route and method except static files."""
    found = []
    for rule in _route_app().url_map.iter_rules():
        if rule.endpoint in UNRULED_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


ROUTES = _routes()


def test_every_endpoint_declares_an_access_rule() -> None:
    app = _route_app()
    missing = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint not in UNRULED_ENDPOINTS and rule_of(view) is None
    )
    assert missing == [], f"views without an access rule (use marketplace.access): {missing}"
    # The exceptions are real endpoints, and really have no rule.
    for endpoint in UNRULED_ENDPOINTS:
        assert endpoint in app.view_functions
        assert rule_of(app.view_functions[endpoint]) is None


def test_every_declared_rule_is_understood() -> None:
    app = _route_app()
    for endpoint, view in app.view_functions.items():
        if endpoint in UNRULED_ENDPOINTS:
            continue
        rule = rule_of(view)
        assert rule is not None
        expected_outcome(rule, None)  # raises for a rule this matrix does not know


def test_the_matrix_covers_the_important_routes() -> None:
    """A sanity check on route discovery itself (the matrix must not be silently empty)."""
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert {"main.dashboard", "organisation.member_roles", "admin.user",
            "auth.accept_invitation", "challenges.index", "challenges.detail",
            "challenges.ask", "challenges.follow", "council.dashboard", "council.challenge",
            "council.edit_section", "council.publish", "council.answer", "suppliers.index",
            "suppliers.detail", "suppliers.edit_section", "suppliers.delete_alert",
            "suppliers.import_suppliers", "bids.start", "bids.edit", "bids.section",
            "bids.submit", "bids.download", "bids.council_list", "bids.council_bid"} <= endpoints
    assert any(method == "POST" for _, method, _ in ROUTES)


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Persona:
    name: str
    user: User | None

    @property
    def anonymous(self) -> bool:
        return self.user is None


def expected_outcome(rule: str, user: User | None) -> str:
    """What the declared rule says should happen to this person (None: anonymous)."""
    if rule.startswith("api:"):
        outcome = expected_outcome(rule[len("api:"):], user)
        return UNAUTHORISED if outcome == SIGN_IN else outcome
    if rule == "public":
        return ALLOW
    if rule == "signed_in":
        return ALLOW if user is not None else SIGN_IN
    if rule == "platform_admin":
        if user is None:
            return SIGN_IN
        return ALLOW if user.is_platform_admin else FORBIDDEN
    if rule.startswith("roles:"):
        _, kind, labels = rule.split(":", 2)
        allowed_roles = set() if labels == "member" else set(labels.split(","))
        if user is None:
            return SIGN_IN
        org = user.organisation
        if org is None or (kind != "any" and org.kind != kind):
            return FORBIDDEN
        if allowed_roles and not user.roles & allowed_roles:
            return FORBIDDEN
        return ALLOW
    raise AssertionError(f"the access matrix does not understand the rule {rule!r}")


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    personas: dict[str, Persona]
    council: Organisation
    supplier: Organisation
    pending_org: Organisation
    # A second council: the "other organisation" of council people.
    other_council: Organisation
    # Objects that belong to one organisation, keyed by organisation id.
    target_member: dict[int, int] = field(default_factory=dict)
    open_invitation: dict[int, int] = field(default_factory=dict)
    pending_request: dict[int, int] = field(default_factory=dict)
    # Each council's challenges (open: published and taking questions; draft: unpublished)
    # and a pending question on its open challenge, keyed by council id.
    open_challenge: dict[int, int] = field(default_factory=dict)
    draft_challenge: dict[int, int] = field(default_factory=dict)
    pending_question: dict[int, int] = field(default_factory=dict)
    # A closed challenge of each council, with submitted bids (attachments included) that its
    # procurement officer has opened. For a supplier, its own bid on the main council's; for a
    # council, a rival supplier's bid on its own closed challenge (the rival's is also
    # "another organisation's" for suppliers).
    closed_challenge: dict[int, int] = field(default_factory=dict)
    bid: dict[int, int] = field(default_factory=dict)
    attachment: dict[int, int] = field(default_factory=dict)
    # A challenge of each council in evaluation, with a rival supplier's bid. On the main
    # council's, the officer, evaluator and challenge owner personas are its evaluators; each
    # declared no conflict with the bid, and the officer (its lead) submitted scores.
    evaluation_challenge: dict[int, int] = field(default_factory=dict)
    evaluation_bid: dict[int, int] = field(default_factory=dict)
    evaluator_id: int = 0
    domain_id: int = 0
    message_id: int = 0
    # Challenge alerts belong to a person: each supplier persona's own alert (keyed by user
    # id), and for each organisation an alert of someone else (keyed by organisation id).
    own_alert: dict[int, int] = field(default_factory=dict)
    others_alert: dict[int, int] = field(default_factory=dict)
    some_user_id: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    # Each person's own API token id, keyed by user id (anonymous: the bystander's).
    api_token: dict[int, int] = field(default_factory=dict)

    def org_of(self, persona: Persona) -> Organisation:
        """The organisation whose objects fill organisation-scoped parameters."""
        if persona.user is not None and persona.user.organisation_id == self.supplier.id:
            return self.supplier
        return self.council

    def other_org(self, org: Organisation) -> Organisation:
        """Another organisation of the same kind where there is one: the other council for
        council people, the council for supplier people."""
        return self.council if org.id != self.council.id else self.other_council

    def challenge_council(self, org: Organisation) -> int:
        """The council whose challenges fill challenge parameters: a council's own; for
        everyone else (suppliers, people without an organisation) the main council's
        published challenge, which the public pages show to anyone."""
        return org.id if org.id in self.open_challenge else self.council.id

    def params(self, endpoint: str, rule: Rule, org: Organisation,
               user: User | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in sorted(rule.arguments):
            values[name] = self.param(endpoint, name, org, user)
        return values

    def param(self, endpoint: str, name: str, org: Organisation,
              user: User | None = None) -> Any:
        owner = self.challenge_council(org)
        challenges = (self.draft_challenge if endpoint in DRAFT_ENDPOINTS
                      else self.closed_challenge if endpoint in CLOSED_ENDPOINTS
                      else self.open_challenge)
        by_name: dict[str, Any] = {
            "member_id": self.target_member[org.id],
            "invitation_id": self.open_invitation[org.id],
            "request_id": self.pending_request[org.id],
            "org_id": self.pending_org.id,
            "domain_id": self.domain_id,
            "user_id": self.some_user_id,
            "message_id": self.message_id,
            "kind": "supplier",
            "challenge_id": challenges[owner],
            "question_id": self.pending_question[owner],
            "section": SECTION_OF.get(endpoint, "about"),
            "bid_id": self.bid[org.id],
            "attachment_id": self.attachment[org.id],
            "number": 1,
            "supplier_id": self.supplier.id,
            "token_id": self.api_token.get(user.id if user is not None else self.some_user_id),
            "alert_id": (self.own_alert[user.id] if user is not None
                         and user.id in self.own_alert else self.others_alert.get(org.id)),
        }
        if endpoint.startswith(EVALUATION_BLUEPRINT):
            evaluation = {
                "challenge_id": self.evaluation_challenge[owner],
                "bid_id": self.evaluation_bid.get(org.id, self.evaluation_bid[owner]),
                "user_id": self.evaluator_id,
            }
            if name in evaluation:
                return evaluation[name]
        if name == "token":
            if endpoint not in self.tokens:
                raise AssertionError(f"no token fixture for {endpoint}: add one to build_world")
            return self.tokens[endpoint]
        if name not in by_name:
            raise AssertionError(
                f"{endpoint} has a path parameter {name!r} the access matrix cannot fill: "
                "create a real object for it in build_world"
            )
        return by_name[name]


def build_world() -> World:
    council_admin = council_user("org_admin")
    council = council_admin.organisation
    supplier = SupplierFactory()
    personas = {
        "anonymous": Persona("anonymous", None),
        "supplier_bidder": Persona(
            "supplier_bidder", supplier_user("bidder", organisation=supplier)
        ),
        "supplier_org_admin": Persona(
            "supplier_org_admin", supplier_user("org_admin", organisation=supplier)
        ),
        "council_challenge_owner": Persona(
            "council_challenge_owner", council_user("challenge_owner", organisation=council)
        ),
        "council_procurement_officer": Persona(
            "council_procurement_officer",
            council_user("procurement_officer", organisation=council),
        ),
        "council_evaluator": Persona(
            "council_evaluator", council_user("evaluator", organisation=council)
        ),
        "council_org_admin": Persona("council_org_admin", council_admin),
        "platform_admin": Persona("platform_admin", admin_user()),
    }
    assert set(personas) == set(PERSONAS)
    pending_org = SupplierFactory(status=OrgStatus.PENDING.value, verified_at=None)
    supplier_user("org_admin", organisation=pending_org)
    other_admin = council_user("org_admin", organisation=CouncilFactory(name="Other Borough"))
    other_council = other_admin.organisation
    world = World(personas=personas, council=council, supplier=supplier,
                  pending_org=pending_org, other_council=other_council)

    admins = {council.id: council_admin, supplier.id: personas["supplier_org_admin"].user,
              other_council.id: other_admin}
    for org, member_maker, email in (
        (council, council_user, "invitee@newtown.gov.uk"),
        (supplier, supplier_user, "invitee@newco.example.com"),
        (other_council, council_user, "invitee@otherborough.gov.uk"),
    ):
        role = "evaluator" if org.is_council else "bidder"
        world.target_member[org.id] = member_maker(role, organisation=org).id
        invitation = organisations.invite(admins[org.id], email, [role])
        world.open_invitation[org.id] = invitation.id
        joiner = UserFactory(
            email=f"joiner{org.id}@{'joiners.gov.uk' if org.is_council else 'example.com'}"
        )
        request = JoinRequest(user=joiner, organisation=org)
        db.session.add(request)
        db.session.commit()
        world.pending_request[org.id] = request.id

    world.tokens["auth.accept_invitation"] = token_from(
        last_email("invitee@newtown.gov.uk").body_text, "/invitations/"
    )
    unverified = UserFactory(email="unverified@example.com", email_verified_at=None)
    accounts.resend_verification(unverified.email)
    world.tokens["auth.verify_email"] = token_from(
        last_email(unverified.email).body_text, "/verify-email/"
    )
    forgetful = UserFactory(email="forgetful@example.com")
    accounts.request_password_reset(forgetful.email)
    world.tokens["auth.reset_password"] = token_from(
        last_email(forgetful.email).body_text, "/password/reset/"
    )

    domain = AllowedDomain(domain="newtown.example.org")
    db.session.add(domain)
    db.session.commit()
    world.domain_id = domain.id
    world.message_id = last_email(forgetful.email).id
    world.some_user_id = UserFactory(email="bystander@example.com").id
    for person in [p.user for p in personas.values()] + [fresh(User, world.some_user_id)]:
        if person is not None:
            made = token_service.create_token(person, "matrix", "read")
            world.api_token[person.id] = made.token.id

    # Challenges: the main council's officer persona publishes its own (an officer's draft
    # is approved by publishing it), so the buttons the matrix presses find nothing to do.
    asker = personas["supplier_bidder"].user
    officers = {council.id: personas["council_procurement_officer"].user,
                other_council.id: council_user("procurement_officer",
                                               organisation=other_council)}
    for org in (council, other_council):
        officer = officers[org.id]
        assert officer is not None and asker is not None
        challenge = challenge_service.publish(officer, publishable(officer).id)
        world.open_challenge[org.id] = challenge.id
        world.draft_challenge[org.id] = publishable(officer, "Fly-tipping hotspots").id
        question = challenge_service.ask_question(asker, challenge.id, "Is there a data room?")
        world.pending_question[org.id] = question.id

    # Closed challenges whose bids their councils' procurement officers have opened.
    rival = supplier_user("bidder", organisation=SupplierFactory(name="Rival Analytics Ltd"))
    for org in (council, other_council):
        closed = open_challenge(officers[org.id], "Gritting routes in snow")
        world.closed_challenge[org.id] = closed.id
        if org.id == council.id:
            own = submitted_bid(asker, closed.id)
            world.bid[supplier.id] = own.id
            world.attachment[supplier.id] = own.current_attachments[0].id
        theirs = submitted_bid(rival, closed.id)
        world.bid[org.id] = theirs.id
        world.attachment[org.id] = theirs.current_attachments[0].id
        close(closed.id)
        evaluation_service.open_bids(officers[org.id], closed.id)

    # Challenges in evaluation (see World.evaluation_challenge).
    for org in (council, other_council):
        evaluated = open_challenge(officers[org.id], "Street lighting faults")
        world.evaluation_bid[org.id] = submitted_bid(rival, evaluated.id, attachment=False).id
        close(evaluated.id)
        evaluation_service.open_bids(officers[org.id], evaluated.id)
        world.evaluation_challenge[org.id] = evaluated.id
    evaluated_bid = fresh(Bid, world.evaluation_bid[council.id])
    for name in ("council_procurement_officer", "council_evaluator", "council_challenge_owner"):
        person = personas[name].user
        assert person is not None
        evaluation_service.assign_evaluator(officers[council.id], evaluated_bid.challenge_id,
                                            person.id)
        evaluation_service.declare_conflict(person, evaluated_bid.id, False, "")
    score_bid(officers[council.id], evaluated_bid, [3, 3, 3])
    world.evaluator_id = personas["council_evaluator"].user.id  # type: ignore[union-attr]

    # The supplier's profile (public), and alerts: each supplier persona's own, a colleague's
    # (the supplier's other member) and one of a person in another supplier.
    supplier_admin = personas["supplier_org_admin"].user
    assert supplier_admin is not None
    supplier_service.update_profile(supplier_admin, supplier.id, supplier_service.ProfileChanges(
        description="Route planning for refuse collection", regions=["North West"]))
    for name in ("supplier_bidder", "supplier_org_admin"):
        person = personas[name].user
        assert person is not None
        world.own_alert[person.id] = supplier_service.create_alert(
            person, f"potholes {name}", [], []).id
    colleague = fresh(User, world.target_member[supplier.id])
    world.others_alert[supplier.id] = supplier_service.create_alert(
        colleague, "colleague", [], []).id
    stranger = supplier_user("bidder", email="stranger@elsewhere.example.com")
    world.others_alert[council.id] = supplier_service.create_alert(
        stranger, "stranger", [], []).id
    return world


@pytest.fixture
def world(app: Flask) -> World:
    return build_world()


# --------------------------------------------------------------------------- the matrix


def _request(client: Any, method: str, url: str) -> Any:
    if isinstance(client, ApiClient):
        return client.open(method, url)
    if method == "GET":
        return client.get(url)
    return client.post(url, data={})


class Clients:
    """One browser (session cookie) and one API client (write token) per persona."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.made: dict[tuple[str, bool], Any] = {}

    def __call__(self, persona: Persona, endpoint: str) -> Any:
        is_api = endpoint.startswith(API_BLUEPRINT)
        key = (persona.name, is_api)
        if key not in self.made:
            if is_api:
                secret = token_for(persona.user, "write") if persona.user is not None else None
                self.made[key] = ApiClient(self.app, secret)
            else:
                self.made[key] = browser(self.app, persona.user)
        return self.made[key]


def _check(endpoint: str, method: str, url: str, persona: Persona, outcome: str,
           response: Any) -> str | None:
    """None when the response is the expected outcome, else a description of the mismatch."""
    status = response.status_code
    got = f"{status} {response.headers.get('Location', '')}".strip()
    if outcome == SIGN_IN:
        if not is_sign_in_redirect(response, url):
            return f"expected a redirect to /sign-in?next={url}, got {got}"
        return None
    if outcome == FORBIDDEN:
        return None if status == 403 else f"expected 403, got {got}"
    if outcome == UNAUTHORISED:
        return None if status == 401 else f"expected 401, got {got}"
    # Allowed: the access rule let them through to the view.
    if status >= 500 or status in {401, 403, 404, 405} or is_sign_in_redirect(response):
        return f"expected to be let through, got {got}"
    if method == "GET":
        redirect_to = PUBLIC_REDIRECTS_WHEN_SIGNED_IN.get(endpoint)
        if redirect_to and not persona.anonymous:
            if status != 302 or response.headers["Location"] != redirect_to:
                return f"expected a redirect to {redirect_to}, got {got}"
        elif status != 200:
            return f"expected 200, got {got}"
    return None


def _url(app: Flask, world: World, endpoint: str, org: Organisation,
         user: User | None = None, **replace: Any) -> str:
    """The endpoint's URL with its parameters filled by objects of ``org`` (or, for
    objects that belong to a person, of ``user``)."""
    rule = _rule(app, endpoint)
    values = world.params(endpoint, rule, org, user)
    values.update(replace)
    with app.test_request_context():
        return url_for(endpoint, **values)


def _rule(app: Flask, endpoint: str) -> Rule:
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def _declared(app: Flask, endpoint: str) -> str:
    declared = rule_of(app.view_functions[endpoint])
    assert declared is not None, endpoint
    return declared


GET_ROUTES = [(endpoint, path) for endpoint, method, path in ROUTES if method == "GET"]
WRITE_ROUTES = [(endpoint, method, path) for endpoint, method, path in ROUTES
                if method != "GET"]


@pytest.mark.parametrize("persona_name", PERSONAS)
def test_get_matrix(app: Flask, world: World, persona_name: str) -> None:
    """Every GET route, as one kind of person (GET pages change nothing, so one world)."""
    persona = world.personas[persona_name]
    clients = Clients(app)
    problems = []
    for endpoint, path in GET_ROUTES:
        declared = _declared(app, endpoint)
        url = _url(app, world, endpoint, world.org_of(persona), persona.user)
        outcome = expected_outcome(declared, persona.user)
        response = _request(clients(persona, endpoint), "GET", url)
        refusal = OBJECT_REFUSALS.get(endpoint, {}).get(persona_name)
        if outcome == ALLOW and refusal is not None:
            if response.status_code != refusal:
                problems.append(f"GET {path}: expected the service's {refusal}, got "
                                f"{response.status_code}")
            continue
        problem = _check(endpoint, "GET", url, persona, outcome, response)
        if problem:
            problems.append(f"GET {path} (rule {declared}): {problem}")
    assert not problems, f"as {persona_name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(("endpoint", "method", "path"), WRITE_ROUTES,
                         ids=[f"{m} {p}" for _, m, p in WRITE_ROUTES])
def test_post_matrix(app: Flask, world: World, endpoint: str, method: str, path: str) -> None:
    """One POST route, as every kind of person (each acts on their own organisation's
    objects, so the people who are let through do not disturb each other)."""
    declared = _declared(app, endpoint)
    problems = []
    for name in PERSONAS:
        persona = world.personas[name]
        url = _url(app, world, endpoint, world.org_of(persona), persona.user)
        outcome = expected_outcome(declared, persona.user)
        response = _request(Clients(app)(persona, endpoint), method, url)
        problem = _check(endpoint, method, url, persona, outcome, response)
        if problem:
            problems.append(f"{name}: {problem}")
    assert not problems, f"{method} {path} (rule {declared}):\n  " + "\n  ".join(problems)


def _id_routes(*rule_kinds: str) -> list[tuple[str, str, str]]:
    app = _route_app()
    chosen = []
    for endpoint, method, path in ROUTES:
        rule = _rule(app, endpoint)
        declared = _declared(app, endpoint)
        has_id = any(isinstance(rule._converters[a], IntegerConverter) for a in rule.arguments)
        if has_id and declared.split(":")[0] in rule_kinds:
            chosen.append((endpoint, method, path))
    return chosen


ORG_SCOPED = [r for r in _id_routes("roles") if r[0] not in PUBLIC_OBJECT_ENDPOINTS]
ID_ROUTES = _id_routes("roles", "platform_admin", "signed_in", "public")
CHALLENGE_ROUTES = [(endpoint, method, path) for endpoint, method, path in ROUTES
                    if "challenge_id" in _rule(_route_app(), endpoint).arguments]


def _let_in(declared: str, world: World) -> list[Persona]:
    """The people the declared rule lets through, in PERSONAS order."""
    return [world.personas[n] for n in PERSONAS
            if expected_outcome(declared, world.personas[n].user) == ALLOW]


def test_the_exceptions_are_real_organisation_scoped_routes() -> None:
    scoped = {endpoint for endpoint, _, _ in _id_routes("roles")}
    assert scoped >= PUBLIC_OBJECT_ENDPOINTS, PUBLIC_OBJECT_ENDPOINTS - scoped
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert endpoints >= DRAFT_ENDPOINTS, DRAFT_ENDPOINTS - endpoints


def test_members_get_404_for_another_organisations_objects(app: Flask, world: World) -> None:
    """Everyone an organisation-scoped rule lets in, given the objects of another
    organisation of the same kind (a team member of another company; a challenge, even a
    published one, or a question of another council on the council pages), gets 404."""
    assert ORG_SCOPED, "no organisation-scoped routes with ids were found"
    assert any(endpoint.startswith("council.") for endpoint, _, _ in ORG_SCOPED)
    problems = []
    clients = Clients(app)
    for endpoint, method, path in ORG_SCOPED:
        for persona in _let_in(_declared(app, endpoint), world):
            assert persona.user is not None and persona.user.organisation_id is not None
            foreign = world.other_org(world.org_of(persona))
            url = _url(app, world, endpoint, foreign)
            response = _request(clients(persona, endpoint), method, url)
            if response.status_code != 404:
                problems.append(f"{persona.name} {method} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)

    # Nothing of any organisation changed.
    for org in (world.council, world.supplier, world.other_council):
        assert fresh(User, world.target_member[org.id]).organisation_id == org.id
        assert fresh(Invitation, world.open_invitation[org.id]).revoked_at is None
        assert fresh(JoinRequest, world.pending_request[org.id]).status == JoinStatus.PENDING
    _assert_challenges_untouched(world, world.other_council)


def _assert_challenges_untouched(world: World, council: Organisation) -> None:
    assert fresh(Challenge, world.open_challenge[council.id]).status == ChallengeStatus.OPEN
    draft = fresh(Challenge, world.draft_challenge[council.id])
    assert draft.status == ChallengeStatus.DRAFT
    assert draft.title == "Fly-tipping hotspots"
    question = fresh(ClarificationQuestion, world.pending_question[council.id])
    assert question.status == QuestionStatus.PENDING
    copies = db.session.scalars(select(Challenge).where(
        Challenge.copied_from_id == world.draft_challenge[council.id])).all()
    assert copies == []


def test_another_councils_drafts_are_404_on_every_challenge_route(app: Flask,
                                                                 world: World) -> None:
    """An unpublished challenge does not exist outside its councils: public pages, supplier
    actions, following, reuse and the council pages all answer 404, for everyone the route's
    rule lets in (none of the personas belongs to the other council)."""
    assert CHALLENGE_ROUTES
    draft_id = world.draft_challenge[world.other_council.id]
    problems = []
    clients = Clients(app)
    for endpoint, method, path in CHALLENGE_ROUTES:
        for persona in _let_in(_declared(app, endpoint), world):
            url = _url(app, world, endpoint, world.org_of(persona), challenge_id=draft_id)
            response = _request(clients(persona, endpoint), method, url)
            if response.status_code != 404:
                problems.append(f"{persona.name} {method} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
    _assert_challenges_untouched(world, world.other_council)


def test_published_challenges_of_other_councils_are_public(app: Flask, world: World) -> None:
    """The other side of the routes in PUBLIC_OBJECT_ENDPOINTS: another council's published
    challenge is not a 404 on the public pages, for questions or for reuse."""
    other_open = world.open_challenge[world.other_council.id]
    bidder = browser(app, world.personas["supplier_bidder"].user)
    assert bidder.get(f"/challenges/{other_open}").status_code == 200
    with app.test_request_context():
        ask = url_for("challenges.ask", challenge_id=other_open)
        copy = url_for("council.copy", challenge_id=other_open)
    response = bidder.post(ask, data={"question": "Which systems hold the data?"})
    assert response.status_code == 302, response.status_code
    owner = browser(app, world.personas["council_challenge_owner"].user)
    response = owner.post(copy, data={})
    assert response.status_code == 302, response.status_code
    copied = db.session.scalars(select(Challenge).where(
        Challenge.copied_from_id == other_open)).one()
    assert copied.lead_council_id == world.council.id


def test_unknown_ids_give_404_to_people_allowed_in(app: Flask, world: World) -> None:
    assert ID_ROUTES
    problems = []
    clients = Clients(app)
    for endpoint, method, path in ID_ROUTES:
        declared = _declared(app, endpoint)
        persona = next(
            world.personas[n] for n in PERSONAS
            if world.personas[n].user is not None
            and expected_outcome(declared, world.personas[n].user) == ALLOW
        )
        rule = _rule(app, endpoint)
        missing = {a: 987654 for a in rule.arguments
                   if isinstance(rule._converters[a], IntegerConverter)}
        url = _url(app, world, endpoint, world.org_of(persona), **missing)
        response = _request(clients(persona, endpoint), method, url)
        if response.status_code != 404:
            problems.append(f"{persona.name} {method} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_anonymous_redirect_keeps_the_query_string(app: Flask) -> None:
    response = browser(app).get("/admin/users?q=smith")
    assert is_sign_in_redirect(response, "/admin/users?q=smith")


def test_anonymous_post_to_a_protected_route_changes_nothing(app: Flask, world: World) -> None:
    council = world.council
    member_id = world.target_member[council.id]
    response = browser(app).post(f"/organisation/members/{member_id}/remove")
    assert is_sign_in_redirect(response, f"/organisation/members/{member_id}/remove")
    assert fresh(User, member_id).organisation_id == council.id


def test_suspended_org_admin_is_signed_out_and_cannot_use_admin_pages(
    app: Flask, world: World
) -> None:
    """A suspended person's existing session stops working on the very next request."""
    admin = world.personas["council_org_admin"].user
    assert admin is not None
    client = browser(app, admin)
    assert client.get("/organisation/invite").status_code == 200
    platform = world.personas["platform_admin"].user
    assert platform is not None
    admin_service.suspend_user(platform, admin.id, "Left the council")
    assert is_sign_in_redirect(client.get("/organisation/invite"), "/organisation/invite")


def test_the_matrix_loads_real_objects(app: Flask, world: World) -> None:
    """The ids used to fill parameters point at real rows of the right organisations."""
    for org in (world.council, world.supplier):
        assert fresh(User, world.target_member[org.id]).organisation_id == org.id
        assert fresh(Invitation, world.open_invitation[org.id]).organisation_id == org.id
        assert fresh(JoinRequest, world.pending_request[org.id]).organisation_id == org.id
    assert fresh(Organisation, world.pending_org.id).status == OrgStatus.PENDING
    assert fresh(OutboxEmail, world.message_id)
    assert fresh(AllowedDomain, world.domain_id)
    now = utcnow()
    for council in (world.council, world.other_council):
        challenge = fresh(Challenge, world.open_challenge[council.id])
        assert challenge.lead_council_id == council.id
        assert challenge.status_at(now) == ChallengeStatus.OPEN
        assert challenge_service.questions_open(challenge, now)
        draft = fresh(Challenge, world.draft_challenge[council.id])
        assert draft.lead_council_id == council.id and draft.status == ChallengeStatus.DRAFT
        question = fresh(ClarificationQuestion, world.pending_question[council.id])
        assert question.challenge_id == challenge.id
        assert question.status == QuestionStatus.PENDING
        closed = fresh(Challenge, world.closed_challenge[council.id])
        assert closed.lead_council_id == council.id
        assert closed.status_at(now) == ChallengeStatus.EVALUATION
        rival_bid = fresh(Bid, world.bid[council.id])
        assert rival_bid.challenge_id == closed.id and rival_bid.submitted_at is not None
        assert rival_bid.supplier_id != world.supplier.id
        assert fresh(BidAttachment, world.attachment[council.id]).bid_id == rival_bid.id
        evaluated = fresh(Challenge, world.evaluation_challenge[council.id])
        assert evaluated.lead_council_id == council.id
        assert evaluated.status_at(now) == ChallengeStatus.EVALUATION
        assert fresh(Bid, world.evaluation_bid[council.id]).challenge_id == evaluated.id
    own_bid = fresh(Bid, world.bid[world.supplier.id])
    assert own_bid.supplier_id == world.supplier.id
    assert own_bid.challenge_id == world.closed_challenge[world.council.id]
    assert fresh(BidAttachment, world.attachment[world.supplier.id]).bid_id == own_bid.id
    assert world.other_council.id not in {
        p.user.organisation_id for p in world.personas.values() if p.user is not None}


def test_sensitive_areas_keep_their_rules() -> None:
    """Policy by area, so a new admin or team page cannot ship with a weaker rule."""
    app = _route_app()
    for endpoint, view in app.view_functions.items():
        rule = rule_of(view)
        if endpoint.startswith("admin."):
            assert rule == "platform_admin", f"{endpoint} is an admin page but has rule {rule}"
        if endpoint.startswith("organisation.") and endpoint != "organisation.team":
            assert rule == "roles:any:org_admin", (
                f"{endpoint} manages the team but has rule {rule}"
            )
    assert rule_of(app.view_functions["organisation.team"]) == "roles:any:member"
    # Every page under /admin is for platform admins, whichever blueprint it is in.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            declared = rule_of(app.view_functions[rule.endpoint])
            assert declared == "platform_admin", f"{rule.rule} has rule {declared}"
    # A supplier profile is changed by its bidders and organisation admins only.
    for endpoint in ("suppliers.profile", "suppliers.edit_section"):
        assert rule_of(app.view_functions[endpoint]) == "roles:supplier:bidder,org_admin"
    # Bids: a supplier's bidders and organisation admins work on their bids; only procurement
    # officers open councils' bids; attachments are checked object by object by the service.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("bids."):
            rule = rule_of(view)
            if endpoint.startswith("bids.council_"):
                assert rule == "roles:council:procurement_officer", f"{endpoint}: {rule}"
            elif endpoint == "bids.download":
                assert rule == "signed_in", f"{endpoint}: {rule}"
            else:
                assert rule == "roles:supplier:bidder,org_admin", f"{endpoint}: {rule}"
    for endpoint, view in app.view_functions.items():
        rule = rule_of(view) or ""
        if endpoint.startswith("council."):
            assert rule.startswith("roles:council:"), (
                f"{endpoint} is a council page but has rule {rule}")
            roles = set(rule.split(":", 2)[2].split(","))
            assert roles <= {"member", "challenge_owner", "procurement_officer"}, (
                f"{endpoint} lets in {roles}: council pages are for members, or for "
                "challenge owners and procurement officers")
        if endpoint.startswith("challenges."):
            assert rule in {"public", "signed_in"} or rule.startswith("roles:supplier:"), (
                f"{endpoint} is a public challenge page but has rule {rule}")
    # Evaluation pages are for council members who can evaluate; deciding is for officers.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(EVALUATION_BLUEPRINT):
            assert rule_of(view) in {
                "roles:council:procurement_officer",
                "roles:council:evaluator,challenge_owner,procurement_officer"}, endpoint
    for endpoint in ("evaluation.open_bids", "evaluation.moderate", "evaluation.shortlist",
                     "evaluation.award", "evaluation.no_suitable_supplier"):
        assert rule_of(app.view_functions[endpoint]) == "roles:council:procurement_officer"
    # Approval, publication and ending a challenge are for procurement officers only.
    for endpoint in ("council.approve", "council.publish", "council.return_to_draft",
                     "council.withdraw", "council.cancel"):
        assert rule_of(app.view_functions[endpoint]) == "roles:council:procurement_officer"
