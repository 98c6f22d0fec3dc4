"""Realistic demo data: councils, suppliers and people in every role, and challenges in every
state (see ``marketplace/demo_challenges.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from marketplace import security
from marketplace.demo_challenges import load_challenges
from marketplace.demo_suppliers import load_profiles
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    JoinRequest,
    Organisation,
    OrgKind,
    OrgStatus,
    Role,
    User,
    UserRole,
    utcnow,
)
from marketplace.services import audit
from marketplace.services.uow import unit_of_work

DEMO_PASSWORD = "harbour-lantern-meadow-42"  # noqa: S105 - published demo-only password
ADMIN_EMAIL = "admin@marketplace.example.org"


@dataclass(frozen=True)
class DemoPerson:
    name: str
    email: str
    roles: tuple[Role, ...]
    label: str | None = None


@dataclass(frozen=True)
class DemoOrg:
    kind: OrgKind
    name: str
    status: OrgStatus
    people: tuple[DemoPerson, ...]
    website: str | None = None


ORGS: tuple[DemoOrg, ...] = (
    DemoOrg(OrgKind.COUNCIL, "Leeds City Council", OrgStatus.VERIFIED, (
        DemoPerson("Priya Shah", "priya.shah@leeds.gov.uk", (Role.CHALLENGE_OWNER,),
                   "Council challenge owner"),
        DemoPerson("Tom Whitaker", "tom.whitaker@leeds.gov.uk", (Role.PROCUREMENT_OFFICER,),
                   "Council procurement officer"),
        DemoPerson("Aisha Okafor", "aisha.okafor@leeds.gov.uk", (Role.EVALUATOR,),
                   "Council evaluator"),
        DemoPerson("Helen Brooks", "helen.brooks@leeds.gov.uk", (Role.ORG_ADMIN,),
                   "Council organisation admin"),
    ), "https://www.leeds.gov.uk"),
    DemoOrg(OrgKind.COUNCIL, "Kent County Council", OrgStatus.VERIFIED, (
        DemoPerson("Gareth Price", "gareth.price@kent.gov.uk",
                   (Role.ORG_ADMIN, Role.CHALLENGE_OWNER, Role.PROCUREMENT_OFFICER),
                   "Lead of an evaluation in progress"),
        DemoPerson("Lucy Fenwick", "lucy.fenwick@kent.gov.uk", (Role.EVALUATOR,),
                   "Evaluator who has submitted her scores"),
    ), "https://www.kent.gov.uk"),
    DemoOrg(OrgKind.COUNCIL, "Glasgow City Council", OrgStatus.VERIFIED, (
        DemoPerson("Calum MacLeod", "calum.macleod@glasgow.gov.uk",
                   (Role.ORG_ADMIN, Role.PROCUREMENT_OFFICER)),
        DemoPerson("Morag Campbell", "morag.campbell@glasgow.gov.uk",
                   (Role.CHALLENGE_OWNER, Role.EVALUATOR)),
    ), "https://www.glasgow.gov.uk"),
    DemoOrg(OrgKind.COUNCIL, "Cardiff Council", OrgStatus.VERIFIED, (
        DemoPerson("Rhys Evans", "rhys.evans@cardiff.gov.uk",
                   (Role.ORG_ADMIN, Role.CHALLENGE_OWNER, Role.PROCUREMENT_OFFICER),
                   "Lead of an awarded challenge"),
        DemoPerson("Carys Morgan", "carys.morgan@cardiff.gov.uk", (Role.EVALUATOR,)),
    ), "https://www.cardiff.gov.uk"),
    DemoOrg(OrgKind.COUNCIL, "Vale of Glamorgan Council", OrgStatus.VERIFIED, (
        DemoPerson("Siân Llewellyn", "sian.llewellyn@valeofglamorgan.gov.uk",
                   (Role.ORG_ADMIN, Role.CHALLENGE_OWNER, Role.PROCUREMENT_OFFICER),
                   "Officer of a co-sponsoring council"),
    ), "https://www.valeofglamorgan.gov.uk"),
    DemoOrg(OrgKind.COUNCIL, "Northumberland County Council", OrgStatus.PENDING, (
        DemoPerson("Judith Armstrong", "judith.armstrong@northumberland.gov.uk",
                   (Role.ORG_ADMIN, Role.CHALLENGE_OWNER, Role.PROCUREMENT_OFFICER),
                   "Council admin of an organisation awaiting verification"),
    ), "https://www.northumberland.gov.uk"),
    DemoOrg(OrgKind.SUPPLIER, "Roadsense Analytics Ltd", OrgStatus.VERIFIED, (
        DemoPerson("Sam Patel", "sam@roadsense.example.com", (Role.BIDDER,), "Supplier bidder"),
        DemoPerson("Nadia Hussain", "nadia@roadsense.example.com",
                   (Role.ORG_ADMIN, Role.BIDDER), "Supplier organisation admin"),
    ), "https://roadsense.example.com"),
    DemoOrg(OrgKind.SUPPLIER, "CareLink Technologies", OrgStatus.VERIFIED, (
        DemoPerson("Owen Jones", "owen@carelink.example.com", (Role.ORG_ADMIN, Role.BIDDER)),
        DemoPerson("Grace Murray", "grace@carelink.example.com", (Role.BIDDER,)),
    ), "https://carelink.example.com"),
    DemoOrg(OrgKind.SUPPLIER, "CleanStreets Data Co-operative", OrgStatus.VERIFIED, (
        DemoPerson("Femi Adeyemi", "femi@cleanstreets.example.coop",
                   (Role.ORG_ADMIN, Role.BIDDER)),
    ), "https://cleanstreets.example.coop"),
    DemoOrg(OrgKind.SUPPLIER, "FlowWard Health Systems", OrgStatus.VERIFIED, (
        DemoPerson("Eleanor Grant", "eleanor@flowward.example.com",
                   (Role.ORG_ADMIN, Role.BIDDER)),
    ), "https://flowward.example.com"),
    DemoOrg(OrgKind.SUPPLIER, "Northern Civic Design Studio", OrgStatus.PENDING, (
        DemoPerson("Ben Carter", "ben@civicdesign.example.com", (Role.ORG_ADMIN, Role.BIDDER),
                   "Supplier admin of a company awaiting verification"),
    ), "https://civicdesign.example.com"),
)

# Someone who registered and asked to join an existing company.
JOINER = DemoPerson("Kit Morgan", "kit.morgan@roadsense.example.com", (),
                    "Supplier waiting for a join request decision")


def demo_logins() -> list[tuple[str, str]]:
    """(description, email) pairs printed by ``make run``."""
    rows = [("Platform admin", ADMIN_EMAIL)]
    for org in ORGS:
        for person in org.people:
            if person.label:
                rows.append((f"{person.label} ({org.name})", person.email))
    rows.append((f"{JOINER.label}", JOINER.email))
    return rows


def load_demo_data() -> bool:
    """Create the demo data unless it is already there. Returns True when it created it."""
    if db.session.scalar(select(User).where(User.email == ADMIN_EMAIL)) is not None:
        return False
    password_hash = security.hash_password(DEMO_PASSWORD)
    now = utcnow()
    users: dict[str, User] = {}
    orgs: dict[str, Organisation] = {}
    with unit_of_work():
        admin = User(email=ADMIN_EMAIL, full_name="Marketplace Support", is_platform_admin=True,
                     password_hash=password_hash, email_verified_at=now)
        db.session.add(admin)
        db.session.flush()
        audit.record("user.admin_created", admin, actor=None, actor_label="demo data")
        for spec in ORGS:
            org = Organisation(kind=spec.kind.value, name=spec.name,
                               name_key=Organisation.key_for(spec.name), status=spec.status.value,
                               website=spec.website,
                               verified_at=now if spec.status == OrgStatus.VERIFIED else None)
            db.session.add(org)
            orgs[spec.name] = org
            db.session.flush()
            audit.record("organisation.registered", org, actor=None, actor_label="demo data",
                         organisation=org, after={"name": org.name, "kind": org.kind})
            if spec.status == OrgStatus.VERIFIED:
                audit.record("organisation.verified", org, actor=admin, organisation=org,
                             before={"status": "pending"}, after={"status": "verified"})
            for person in spec.people:
                user = User(email=person.email, full_name=person.name, organisation=org,
                            password_hash=password_hash, email_verified_at=now,
                            role_rows=[UserRole(role=r.value) for r in person.roles])
                db.session.add(user)
                db.session.flush()
                users[user.email] = user
                audit.record("user.registered", user, actor=None, actor_label="demo data",
                             organisation=org,
                             after={"email": user.email, "roles": sorted(user.roles)})
        joiner = User(email=JOINER.email, full_name=JOINER.name, password_hash=password_hash,
                      email_verified_at=now)
        db.session.add(joiner)
        db.session.add(JoinRequest(user=joiner, organisation=orgs["Roadsense Analytics Ltd"]))
    # Profiles, challenges and bids go through the use cases, each in its own transaction
    # (saving a profile records its match revision, so the match index sees it).
    load_profiles(users)
    challenges = load_challenges(users, orgs, now)
    _invite(users, orgs, challenges)
    return True


def _invite(users: dict[str, User], orgs: dict[str, Organisation],
            challenges: dict[str, Challenge]) -> None:
    """Leeds invites the community co-operative that fights fly-tipping and runs recycling
    campaigns to bid for its food waste challenge (a suggestion the page shows as invited)."""
    from marketplace.demo_challenges import FOOD_WASTE, TOM
    from marketplace.services.suggestions import invite_supplier

    invite_supplier(users[TOM], challenges[FOOD_WASTE.title].id,
                    orgs["CleanStreets Data Co-operative"].id,
                    "Your behaviour change campaigns for recycling look relevant to our flats.")
