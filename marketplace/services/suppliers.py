"""Supplier profiles, the public supplier directory, challenge alerts with their daily email
digest, and the bulk import of suppliers by platform admins.

A profile belongs to a supplier organisation; its organisation admins and bidders edit it.
Every change runs in one transaction and writes an audit event with what changed.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, String, cast, func, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, selectinload

from marketplace import caching, reference
from marketplace.extensions import db
from marketplace.matching import Match
from marketplace.models import (
    SIZE_LABELS,
    Alert,
    CaseStudy,
    Certification,
    CertificationKind,
    Challenge,
    MatchIndexState,
    Organisation,
    OrgKind,
    OrgStatus,
    Role,
    SizeBand,
    SupplierProfile,
    User,
    utcnow,
)
from marketplace.services import audit, matching, search
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.services.uow import transactional, unit_of_work

UK = ZoneInfo("Europe/London")
EDITOR_ROLES = (Role.BIDDER.value, Role.ORG_ADMIN.value)

PAGE_SIZE = 20
NAME_MAX = 200
DESCRIPTION_MAX = 5000
CAPABILITY_MAX = 300
MAX_CAPABILITIES = 20
MAX_CPV_CODES = 50
CASE_STUDY_ROWS = 5
CERTIFICATION_ROWS = 5
MAX_ALERTS = 10
ALERT_KEYWORDS_MAX = 200

# Companies House number prefixes (two letters, then six digits). Companies in England and
# Wales have no prefix: eight digits. Only prefixes on the published Companies House lists.
COMPANIES_HOUSE_PREFIXES = frozenset({
    "SC", "NI", "R0",              # companies: Scotland, Northern Ireland (post/pre-partition)
    "OC", "SO", "NC",              # limited liability partnerships
    "LP", "SL", "NL", "SG",        # limited partnerships; Scottish qualifying partnerships
    "FC", "SF", "NF",              # overseas companies
    "AC", "SA", "NA",              # assurance companies
    "SE", "ES", "EN",              # European companies (Societas Europaea)
    "GE", "GS", "GN",              # European economic interest groupings
    "ZC", "SZ", "NZ",              # unregistered companies (section 1043)
    "CE", "CS",                    # charitable incorporated organisations
    "RC", "SR", "NR",              # Royal Charter bodies
    "IP", "SP", "NP",              # industrial and provident societies
    "IC", "SI", "NV",              # investment companies with variable capital
})
COMPANIES_HOUSE_FORMAT = ("Enter a Companies House number in the correct format, like "
                          "01234567 or SC123456")
_CH_DIGITS = re.compile(r"\d{8}")
_CH_PREFIXED = re.compile(r"([A-Z][A-Z0-9])(\d{6})")
_PHONE = re.compile(r"[0-9+()\-. ]+")


# Reading and permissions -----------------------------------------------------------------------

def can_edit(user: User | None, supplier_id: int) -> bool:
    """Organisation admins and bidders of the supplier may change its profile."""
    return bool(
        user is not None and getattr(user, "is_authenticated", False) and user.is_active
        and user.organisation_id == supplier_id and user.is_supplier_user
        and user.has_role(*EDITOR_ROLES))


def _require_editor(actor: User, supplier_id: int) -> Organisation:
    org = actor.organisation
    if org is None or not org.is_supplier or not actor.is_active:
        raise PermissionDenied("Only suppliers have a supplier profile")
    if org.id != supplier_id:
        raise PermissionDenied("You can only change your own organisation’s profile")
    if not actor.has_role(*EDITOR_ROLES):
        raise PermissionDenied("You need the bidder or organisation admin role to change the "
                               "profile")
    return org


def _supplier_org(actor: User) -> Organisation:
    org = actor.organisation
    if org is None or not org.is_supplier or not actor.is_active:
        raise PermissionDenied("Only suppliers have a supplier profile")
    return org


def is_listed(org: Organisation) -> bool:
    """Verified suppliers appear in the directory (pending and rejected ones do not)."""
    return org.kind == OrgKind.SUPPLIER and org.status == OrgStatus.VERIFIED


def own_profile(actor: User) -> tuple[Organisation, SupplierProfile | None]:
    """The actor's supplier organisation and its profile (None until something is saved)."""
    org = _supplier_org(actor)
    return org, db.session.get(SupplierProfile, org.id)


def public_profile(supplier_id: int, viewer: User | None = None) -> SupplierProfile:
    """A listed supplier's profile. Its own people may preview it before verification."""
    profile = db.session.get(SupplierProfile, supplier_id)
    if profile is None:
        raise NotFound("Supplier not found")
    own = viewer is not None and getattr(viewer, "is_authenticated", False) and (
        viewer.organisation_id == supplier_id)
    if not is_listed(profile.organisation) and not own:
        raise NotFound("Supplier not found")
    return profile


@dataclass(frozen=True)
class ChallengeMatch:
    """An open challenge that fits a supplier's profile: its score out of 100, why, and the
    engine's whole match (breakdown and matched phrases)."""

    challenge: Challenge
    score: int
    reason: str
    match: Match | None = None


MATCH_MIN_SCORE = 20.0
MATCH_TOP = 10


def match_min_score() -> float:
    """The score (out of 100) a challenge needs to be suggested to a supplier."""
    from flask import current_app

    return float(current_app.config.get("MATCH_MIN_SCORE", MATCH_MIN_SCORE))


def open_challenges(now: datetime | None = None, published_after: datetime | None = None
                    ) -> list[Challenge]:
    """Published challenges taking bids now (optionally only those published after a time),
    with what the matching engine and the lists need loaded."""
    now = now or utcnow()
    stmt = (select(Challenge).where(Challenge.published_at.is_not(None),
                                    Challenge.published_at <= now,
                                    Challenge.status_sql(now) == "open")
            .options(lazyload("*"), selectinload(Challenge.outcomes),
                     selectinload(Challenge.cpv_rows), selectinload(Challenge.lead_council))
            .order_by(Challenge.submission_deadline, Challenge.id))
    if published_after is not None:
        stmt = stmt.where(Challenge.published_at > published_after)
    return list(db.session.scalars(stmt))


def _rank_for(supplier_id: int, challenges: list[Challenge], top: int = MATCH_TOP
              ) -> list[ChallengeMatch]:
    ranked = matching.rank_challenges_for(supplier_id, challenges, top=top,
                                          min_score=match_min_score())
    return [ChallengeMatch(challenge, round(match.score), matching.one_line_reason(match),
                           match) for challenge, match in ranked]


def matching_challenges_for(profile: SupplierProfile | None, now: datetime | None = None
                            ) -> list[ChallengeMatch]:
    """Open challenges that match the supplier's profile, best first (at most 10, each
    scoring at least the threshold). Empty until the supplier is listed: only listed
    suppliers are in the match index."""
    if profile is None or not is_listed(profile.organisation):
        return []
    return _rank_for(profile.organisation_id, open_challenges(now))


# Normalising one field at a time -----------------------------------------------------------

def uk_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(UK).date()


def normalise_companies_house(value: str | None) -> str | None:
    """An 8-character Companies House number, upper case without spaces (None when blank).

    Raises ValueError with the message to show for anything else."""
    compact = "".join((value or "").split()).upper()
    if not compact:
        return None
    if _CH_DIGITS.fullmatch(compact):
        return compact
    match = _CH_PREFIXED.fullmatch(compact)
    if match is None:
        if compact.isdigit() and len(compact) < 8:
            raise ValueError("A Companies House number must be 8 characters: add the leading "
                             "zeros, like 01234567")
        raise ValueError(COMPANIES_HOUSE_FORMAT)
    if match.group(1) not in COMPANIES_HOUSE_PREFIXES:
        raise ValueError(f"{match.group(1)} is not a Companies House prefix. "
                         f"{COMPANIES_HOUSE_FORMAT}")
    return compact


def normalise_website(value: str | None) -> str | None:
    """An http or https address (https:// is added when no scheme is given)."""
    text = (value or "").strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if (parts.scheme.lower() not in {"http", "https"} or "." not in host
            or any(c.isspace() for c in text) or host.startswith(".") or host.endswith(".")):
        raise ValueError("Enter a website address in the correct format, like "
                         "https://www.example.com")
    if len(text) > 300:
        raise ValueError("Website address must be 300 characters or fewer")
    return text


def normalise_size(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if text not in {s.value for s in SizeBand}:
        raise ValueError("Select the size of your organisation: micro, small, medium or large")
    return text


def normalise_regions(values: list[str]) -> list[str]:
    """Known regions in the order of ``reference.REGIONS``."""
    chosen = set()
    for value in values:
        if not value.strip():
            continue
        region = reference.normalise_region(value)
        if region is None:
            raise ValueError(f"{value.strip()} is not a UK region. Use the ITL1 regions, like "
                             "North West or Wales, or UK-wide")
        chosen.add(region)
    return [r for r in reference.REGIONS if r in chosen]


def normalise_capabilities(values: list[str]) -> list[str]:
    found: dict[str, str] = {}
    for value in values:
        text = " ".join(value.split())
        if not text:
            continue
        if len(text) > CAPABILITY_MAX:
            raise ValueError(f"Each capability must be {CAPABILITY_MAX} characters or fewer")
        found.setdefault(text.lower(), text)
    if len(found) > MAX_CAPABILITIES:
        raise ValueError(f"List up to {MAX_CAPABILITIES} capabilities")
    return list(found.values())


def normalise_cpv(values: list[str]) -> list[str]:
    codes: list[str] = []
    for raw in values:
        if not raw.strip():
            continue
        code = reference.parse_cpv(raw)  # ValueError with the message to show
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_CPV_CODES:
        raise ValueError(f"Choose up to {MAX_CPV_CODES} CPV codes")
    return codes


def normalise_email_address(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("Enter an email address in the correct format, like "
                         "name@example.com") from None
    if len(text) > 254:
        raise ValueError("Email address must be 254 characters or fewer")
    return text


def normalise_phone(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        return None
    digits = sum(c.isdigit() for c in text)
    if not _PHONE.fullmatch(text) or not 7 <= digits <= 15 or len(text) > 40:
        raise ValueError("Enter a telephone number, like 01632 960 001 or +44 808 157 0192")
    return text


def _text(value: str | None, limit: int, message: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise ValueError(message)
    return text


# Changes -------------------------------------------------------------------------------------

@dataclass
class CaseStudyInput:
    title: str
    outcome: str
    client: str | None = None
    measure: str | None = None
    year: int | None = None


@dataclass
class CertificationInput:
    kind: str
    expires_on: date | None = None
    name: str | None = None


@dataclass
class ProfileChanges:
    """What to change; ``None`` leaves a field alone, "" clears it. Lists replace the list."""

    name: str | None = None
    companies_house_number: str | None = None
    size: str | None = None
    website: str | None = None
    description: str | None = None
    regions: list[str] | None = None
    capabilities: list[str] | None = None
    cpv_codes: list[str] | None = None
    case_studies: list[CaseStudyInput] | None = None
    certifications: list[CertificationInput] | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


Problems = list[tuple[str, str]]


def _case_studies(rows: list[CaseStudyInput], today: date, problems: Problems
                  ) -> list[dict[str, Any]]:
    found = []
    if len(rows) > CASE_STUDY_ROWS:
        problems.append(("case_studies", f"Add up to {CASE_STUDY_ROWS} case studies"))
    for n, row in enumerate(rows[:CASE_STUDY_ROWS], start=1):
        title, outcome = (row.title or "").strip(), (row.outcome or "").strip()
        client, measure = (row.client or "").strip(), (row.measure or "").strip()
        if not any((title, outcome, client, measure, row.year)):
            continue
        if not title:
            problems.append((f"case_study_{n}_title", f"Enter a title for case study {n}"))
        elif len(title) > 200:
            problems.append((f"case_study_{n}_title",
                             f"The title of case study {n} must be 200 characters or fewer"))
        if not outcome:
            problems.append((f"case_study_{n}_outcome",
                             f"Describe the outcome achieved in case study {n}"))
        if len(client) > 200:
            problems.append((f"case_study_{n}_client",
                             f"The client of case study {n} must be 200 characters or fewer"))
        if row.year is not None and not 1950 <= row.year <= today.year:
            problems.append((f"case_study_{n}_year",
                             f"The year of case study {n} must be between 1950 and "
                             f"{today.year}"))
        found.append({"title": title, "client": client or None, "outcome": outcome,
                      "measure": measure or None, "year": row.year})
    return found


def _certifications(rows: list[CertificationInput], problems: Problems
                    ) -> list[dict[str, Any]]:
    found = []
    kinds = {k.value for k in CertificationKind}
    if len(rows) > CERTIFICATION_ROWS:
        problems.append(("certifications", f"Add up to {CERTIFICATION_ROWS} certifications"))
    for n, row in enumerate(rows[:CERTIFICATION_ROWS], start=1):
        kind, name = (row.kind or "").strip(), (row.name or "").strip()
        if not kind and not name and row.expires_on is None:
            continue
        if kind not in kinds:
            problems.append((f"certification_{n}_kind", f"Select certification {n}"))
        elif kind == CertificationKind.OTHER and not name:
            problems.append((f"certification_{n}_name",
                             f"Enter the name of certification {n}"))
        if len(name) > 200:
            problems.append((f"certification_{n}_name",
                             f"The name of certification {n} must be 200 characters or fewer"))
        if row.expires_on is None:
            problems.append((f"certification_{n}_expires_on",
                             f"Enter the expiry date of certification {n}"))
        found.append({"kind": kind, "name": name if kind == CertificationKind.OTHER else None,
                      "expires_on": row.expires_on})
    return found


def _prepare(changes: ProfileChanges, today: date) -> tuple[dict[str, Any], Problems]:
    """The changes normalised, and every problem with them as (field, message) pairs."""
    values: dict[str, Any] = {}
    problems: Problems = []

    def take(name: str, convert: Any, raw: Any) -> None:
        if raw is None:
            return
        try:
            values[name] = convert(raw)
        except ValueError as exc:
            problems.append((name, str(exc)))

    if changes.name is not None:
        name = " ".join(changes.name.split())
        if not name:
            problems.append(("name", "Enter the name of your company"))
        elif len(name) > NAME_MAX:
            problems.append(("name", f"Company name must be {NAME_MAX} characters or fewer"))
        else:
            values["name"] = name
    take("companies_house_number", normalise_companies_house, changes.companies_house_number)
    take("size", normalise_size, changes.size)
    take("website", normalise_website, changes.website)
    take("description", lambda v: _text(v, DESCRIPTION_MAX, "Description must be 5,000 "
                                        "characters or fewer"), changes.description)
    take("regions", normalise_regions, changes.regions)
    take("capabilities", normalise_capabilities, changes.capabilities)
    take("cpv_codes", normalise_cpv, changes.cpv_codes)
    take("contact_name", lambda v: _text(v, 200, "Contact name must be 200 characters or "
                                         "fewer") or None, changes.contact_name)
    take("contact_email", normalise_email_address, changes.contact_email)
    take("contact_phone", normalise_phone, changes.contact_phone)
    if changes.case_studies is not None:
        values["case_studies"] = _case_studies(changes.case_studies, today, problems)
    if changes.certifications is not None:
        values["certifications"] = _certifications(changes.certifications, problems)
    return values, problems


def _name_clash(name: str, organisation_id: int | None) -> Organisation | None:
    stmt = select(Organisation).where(Organisation.kind == OrgKind.SUPPLIER.value,
                                      Organisation.name_key == Organisation.key_for(name))
    if organisation_id is not None:
        stmt = stmt.where(Organisation.id != organisation_id)
    return db.session.scalar(stmt)


def _number_clash(number: str, organisation_id: int | None) -> SupplierProfile | None:
    stmt = select(SupplierProfile).where(SupplierProfile.companies_house_number == number)
    if organisation_id is not None:
        stmt = stmt.where(SupplierProfile.organisation_id != organisation_id)
    return db.session.scalar(stmt)


NAME_TAKEN = "A supplier called ‘{}’ is already registered on the marketplace"
NUMBER_TAKEN = ("Another supplier on the marketplace has Companies House number {}. Check the "
                "number, or contact us if it is yours")


def _uniqueness_problems(values: dict[str, Any], organisation_id: int | None) -> Problems:
    problems: Problems = []
    if "name" in values:
        clash = _name_clash(values["name"], organisation_id)
        if clash is not None:
            problems.append(("name", NAME_TAKEN.format(clash.name)))
    number = values.get("companies_house_number")
    if number and _number_clash(number, organisation_id) is not None:
        problems.append(("companies_house_number", NUMBER_TAKEN.format(number)))
    return problems


# Snapshots, indexing, applying -------------------------------------------------------------

def snapshot(org: Organisation, profile: SupplierProfile) -> dict[str, Any]:
    """Everything in a profile, as JSON-ready data (for audit)."""
    return {
        "name": org.name,
        "companies_house_number": profile.companies_house_number,
        "size": profile.size,
        "website": profile.website,
        "description": profile.description or "",
        "regions": list(profile.regions or []),
        "capabilities": list(profile.capabilities or []),
        "cpv_codes": list(profile.cpv_codes or []),
        "case_studies": [{"title": c.title, "client": c.client, "outcome": c.outcome,
                          "measure": c.measure, "year": c.year} for c in profile.case_studies],
        "certifications": [{"kind": c.kind, "name": c.name,
                            "expires_on": c.expires_on.isoformat() if c.expires_on else None}
                           for c in profile.certifications],
        "contact_name": profile.contact_name,
        "contact_email": profile.contact_email,
        "contact_phone": profile.contact_phone,
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def index_text(org: Organisation, profile: SupplierProfile) -> str:
    """The lower-cased text the directory search matches against."""
    cpv = reference.load_cpv()
    size = SIZE_LABELS.get(profile.size or "", ("", ""))[0]
    parts = [org.name, profile.description, " ".join(profile.capabilities or []),
             " ".join(f"{c.title} {c.client or ''} {c.outcome} {c.measure or ''}"
                      for c in profile.case_studies),
             " ".join(cpv[c].label for c in profile.cpv_codes or [] if c in cpv),
             " ".join(c.label for c in profile.certifications),
             " ".join(profile.regions or []), size]
    return " ".join(" ".join(p.split()) for p in parts if p).lower()


def _new_profile(org: Organisation) -> SupplierProfile:
    profile = SupplierProfile(organisation=org, regions=[], capabilities=[], cpv_codes=[],
                              description="", website=org.website, search_text="")
    db.session.add(profile)
    return profile


def _apply(org: Organisation, profile: SupplierProfile, values: dict[str, Any]) -> None:
    if "name" in values:
        org.name = values["name"]
        org.name_key = Organisation.key_for(values["name"])
    if "website" in values:
        # The organisation's own website column (shown to admins) follows the profile's.
        org.website = profile.website = values["website"]
    for name in ("companies_house_number", "size", "description", "regions", "capabilities",
                 "cpv_codes", "contact_name", "contact_email", "contact_phone"):
        if name in values:
            setattr(profile, name, values[name])
    if "case_studies" in values:
        profile.case_studies = [CaseStudy(position=n, **row)
                                for n, row in enumerate(values["case_studies"])]
    if "certifications" in values:
        profile.certifications = [Certification(position=n, **row)
                                  for n, row in enumerate(values["certifications"])]


def _reindex(org: Organisation, profile: SupplierProfile) -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two suppliers saving the same number or name at once: the database has the last word.
        raise ValidationFailed("That company name or Companies House number has just been "
                               "registered by another supplier", field="name") from exc
    db.session.refresh(profile)
    profile.search_text = index_text(org, profile)
    profile.updated_at = utcnow()
    # Every process's match index picks the change up on its next use.
    matching.touch_supplier(org.id)


def _lock_profile(org: Organisation) -> SupplierProfile | None:
    """The organisation's profile, if it has one, with the organisation's row locked (on
    PostgreSQL): changes to one supplier's profile, its first save included, happen one
    after another."""
    db.session.scalar(select(Organisation.id).where(Organisation.id == org.id)
                      .with_for_update())
    return db.session.scalar(select(SupplierProfile).where(
        SupplierProfile.organisation_id == org.id))


# Use cases: profiles -----------------------------------------------------------------------

@transactional
def get_or_create_profile(actor: User) -> SupplierProfile:
    """The profile of the actor's supplier organisation, created empty the first time."""
    org = _require_editor(actor, actor.organisation_id or 0)
    profile = _lock_profile(org)
    if profile is None:
        profile = _new_profile(org)
        _reindex(org, profile)
        audit.record("supplier_profile.created", org, actor=actor, organisation=org,
                     object_type="supplier_profile", after=snapshot(org, profile))
    return profile


@transactional
def update_profile(actor: User, supplier_id: int, changes: ProfileChanges) -> SupplierProfile:
    """Change parts of a supplier's profile (its org admins and bidders only)."""
    org = _require_editor(actor, supplier_id)
    values, problems = _prepare(changes, uk_today())
    if problems:
        field_name, message = problems[0]
        raise ValidationFailed(message, field=field_name)
    problems = _uniqueness_problems(values, org.id)
    if problems:
        field_name, message = problems[0]
        raise ValidationFailed(message, field=field_name)
    profile = _lock_profile(org)
    created = profile is None
    if profile is None:
        profile = _new_profile(org)
        _reindex(org, profile)
    before = snapshot(org, profile)
    _apply(org, profile, values)
    _reindex(org, profile)
    old, new = _diff(before, snapshot(org, profile))
    if created or new:
        audit.record("supplier_profile.created" if created else "supplier_profile.updated",
                     org, actor=actor, organisation=org, object_type="supplier_profile",
                     before=None if created else old,
                     after=snapshot(org, profile) if created else new)
    return profile


def certification_expired(certification: Certification, today: date | None = None) -> bool:
    return certification.expires_on is not None and certification.expires_on < (
        today or uk_today())


# The directory -------------------------------------------------------------------------------

def _listed() -> list[Any]:
    return [SupplierProfile.organisation_id == Organisation.id,
            Organisation.kind == OrgKind.SUPPLIER.value,
            Organisation.status == OrgStatus.VERIFIED.value]


def _listed_texts() -> Select[Any]:
    return select(SupplierProfile.search_text).join(Organisation).where(*_listed())


def _listed_fingerprint() -> Select[Any]:
    # The match index state: every change to a profile's text or to whether it is listed
    # bumps its revision (see services/matching.py). One row, rather than a scan of every
    # listed profile on each search.
    # (Aggregates: one row even before the state row exists.)
    return select(func.max(MatchIndexState.revision),
                  func.max(MatchIndexState.vocabulary_changed_at)).where(
        MatchIndexState.id == matching.STATE_ID)


VOCABULARY = search.Vocabulary(_listed_texts, _listed_fingerprint)


@dataclass(frozen=True)
class DirectoryParams:
    q: str = ""
    region: str | None = None
    size: str | None = None
    certification: str | None = None
    division: str | None = None
    page: int = 1


@dataclass
class DirectoryPage:
    items: list[SupplierProfile]
    total: int
    page: int
    pages: int
    params: DirectoryParams
    corrections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def spelling(self) -> dict[str, list[str]]:
        return search.spelling(self.corrections)


def _json_list_has(column: Any, quoted_prefix: str) -> Any:
    """True when a JSON list of strings has an item starting with the given text.

    The lists hold ASCII region names and CPV digits, stored as JSON text on both SQLite and
    PostgreSQL (the ``json`` type keeps its text), so ``"London"`` or ``"72`` can be found in
    that text portably."""
    return cast(column, String).contains(quoted_prefix, autoescape=True)


def profile_filters(params: DirectoryParams, today: date | None = None) -> list[Any]:
    """Conditions on supplier_profile alone for the directory's filters (region served,
    counting UK-wide suppliers; size; a certification that has not expired; CPV division).
    The suggested suppliers page filters with them too."""
    today = today or uk_today()
    clauses: list[Any] = []
    region = reference.normalise_region(params.region or "")
    if region:
        options = {region, reference.UK_WIDE}
        clauses.append(or_(*(_json_list_has(SupplierProfile.regions, f'"{r}"')
                             for r in sorted(options))))
    if params.size in {s.value for s in SizeBand}:
        clauses.append(SupplierProfile.size == params.size)
    if params.certification in {k.value for k in CertificationKind}:
        clauses.append(SupplierProfile.organisation_id.in_(
            select(Certification.organisation_id).where(
                Certification.kind == params.certification,
                or_(Certification.expires_on.is_(None), Certification.expires_on >= today))))
    division = params.division or ""
    if len(division) == 2 and division.isdigit():
        clauses.append(_json_list_has(SupplierProfile.cpv_codes, f'"{division}'))
    return clauses


def directory_query(params: DirectoryParams, today: date | None = None
                    ) -> tuple[Select[tuple[SupplierProfile]], dict[str, list[str]]]:
    stmt = select(SupplierProfile).join(Organisation).where(*_listed())
    clauses, corrections = search.keyword_clauses(params.q, SupplierProfile.search_text,
                                                  VOCABULARY)
    stmt = stmt.where(*clauses, *profile_filters(params, today))
    return stmt, corrections


def _find(params: DirectoryParams, today: date | None) -> search.Found:
    stmt, corrections = directory_query(params, today)
    total = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, params.page), pages)
    ids = list(db.session.scalars(
        stmt.with_only_columns(SupplierProfile.organisation_id)
        .order_by(Organisation.name_key, Organisation.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return search.Found(ids, total, page, pages, corrections)


def directory(params: DirectoryParams, today: date | None = None) -> DirectoryPage:
    """One page (20) of listed suppliers matching the search, by name.

    Without an explicit ``today``, what was found (ids, total, corrections) is shared through
    the cache, keyed by the parameters, the match index revision (bumped by every change to
    a profile or to whether it is listed) and the UK date (certifications expire); the
    profiles themselves are always loaded fresh."""
    if today is None and caching.enabled():
        state = matching.read_state()
        key = "directory:" + caching.digest(
            caching.version(caching.SUPPLIERS), state.revision, state.vocabulary_changed_at,
            uk_today(), params)
        found = caching.cached(key, lambda: _find(params, None), 300)
    else:
        found = _find(params, today)
    ids, total, page, pages, corrections = (
        found.ids, found.total, found.page, found.pages, found.corrections)
    loaded = {p.organisation_id: p for p in db.session.scalars(
        select(SupplierProfile).where(SupplierProfile.organisation_id.in_(ids))
        .options(lazyload(SupplierProfile.case_studies),
                 selectinload(SupplierProfile.certifications)))} if ids else {}
    return DirectoryPage(items=[loaded[i] for i in ids if i in loaded], total=total,
                         page=page, pages=pages, params=params, corrections=corrections)


# Alerts --------------------------------------------------------------------------------------

def _require_supplier_user(actor: User) -> None:
    org = actor.organisation
    if org is None or not org.is_supplier or not actor.is_active:
        raise PermissionDenied("Only suppliers can set up challenge alerts")


def alerts_for(actor: User) -> list[Alert]:
    return list(db.session.scalars(
        select(Alert).where(Alert.user_id == actor.id).order_by(Alert.created_at, Alert.id)))


def alert_summary(alert: Alert) -> str:
    """A one-line description of what an alert looks for."""
    parts = []
    if alert.keywords:
        parts.append(f"“{alert.keywords}”")
    if alert.regions:
        parts.append("in " + ", ".join(alert.regions))
    if alert.divisions:
        labels = []
        for division in alert.divisions:
            try:
                labels.append(reference.division_label(division))
            except ValueError:
                labels.append(division)
        parts.append("about " + "; ".join(labels))
    return " ".join(parts) or "Every new challenge"


@transactional
def create_alert(actor: User, keywords: str, regions: list[str], divisions: list[str]
                 ) -> Alert:
    """Save a search: new challenges that match it arrive in a daily email."""
    _require_supplier_user(actor)
    words = " ".join((keywords or "").split())
    if len(words) > ALERT_KEYWORDS_MAX:
        raise ValidationFailed(f"Keywords must be {ALERT_KEYWORDS_MAX} characters or fewer",
                               field="keywords")
    try:
        chosen_regions = normalise_regions(regions)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="regions") from exc
    known = [d.division for d in reference.cpv_divisions()]
    wrong = [d for d in divisions if d not in known]
    if wrong:
        raise ValidationFailed("Select categories from the list", field="divisions")
    chosen_divisions = [d for d in known if d in set(divisions)]
    if not words and not chosen_regions and not chosen_divisions:
        raise ValidationFailed("Enter keywords, or choose a region or a category",
                               field="keywords")
    count = db.session.scalar(select(func.count(Alert.id)).where(Alert.user_id == actor.id))
    if (count or 0) >= MAX_ALERTS:
        raise Conflict(f"You can have up to {MAX_ALERTS} alerts. Delete one to add another",
                       field="keywords")
    alert = Alert(user_id=actor.id, keywords=words, regions=chosen_regions,
                  divisions=chosen_divisions)
    db.session.add(alert)
    db.session.flush()
    audit.record("alert.created", alert, actor=actor,
                 after={"keywords": words, "regions": chosen_regions,
                        "divisions": chosen_divisions})
    return alert


@transactional
def delete_alert(actor: User, alert_id: int) -> None:
    """Delete one of the actor's own alerts (anyone else's does not exist for them)."""
    alert = db.session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None or alert.user_id != actor.id:
        raise NotFound("Alert not found")
    audit.record("alert.deleted", alert, actor=actor,
                 before={"keywords": alert.keywords, "regions": alert.regions,
                         "divisions": alert.divisions})
    db.session.delete(alert)


def alert_matches(alert: Alert, since: datetime, now: datetime) -> set[int]:
    """Ids of open challenges published after ``since`` that match the alert, found with the
    public search (so keywords are typo tolerant and UK-wide challenges match any region).

    An alert matches a challenge in any of its regions and about any of its categories: the
    challenges of each region (and of each category) are found with one search each, in one
    query, and the two sets intersected."""

    def ids(options: list[dict[str, str | None]]) -> set[int]:
        statements = []
        for extra in options:
            stmt, _ = search.build_query(search.SearchParams(
                q=alert.keywords, status="open", **extra), now)  # type: ignore[arg-type]
            statements.append(stmt.where(Challenge.published_at > since)
                              .with_only_columns(Challenge.id))
        if len(statements) == 1:
            return set(db.session.scalars(statements[0]))
        found = union(*statements).subquery()
        return set(db.session.scalars(select(found.c[0])))

    by_region = ids([{"region": r} for r in alert.regions or [None]])
    if not alert.divisions or not by_region:
        return by_region
    return by_region & ids([{"division": d} for d in alert.divisions])


def _digest_recipients() -> list[int]:
    """People with alerts who can still read and manage them: active supplier users with a
    confirmed email address."""
    return list(db.session.scalars(
        select(User.id).join(Organisation, Organisation.id == User.organisation_id).where(
            User.id.in_(select(Alert.user_id)), User.suspended_at.is_(None),
            User.email_verified_at.is_not(None),
            Organisation.kind == OrgKind.SUPPLIER.value)
        .order_by(User.id)))


def _send_digest(user_id: int, now: datetime) -> bool:
    """Queue one user's digest if they have not had one today and something new matches."""
    today = uk_today(now)
    alerts = list(db.session.scalars(
        select(Alert).where(Alert.user_id == user_id).order_by(Alert.id).with_for_update()))
    if not alerts or any(a.last_sent_at is not None and uk_today(a.last_sent_at) == today
                         for a in alerts):
        return False
    ids: set[int] = set()
    for alert in alerts:
        ids |= alert_matches(alert, alert.last_sent_at or alert.created_at, now)
    user = db.session.get(User, user_id)
    assert user is not None
    since = min(a.last_sent_at or a.created_at for a in alerts)
    profile_matches = _profile_matches(user, since, now)
    if not ids and not profile_matches:
        return False
    challenges = list(db.session.scalars(
        select(Challenge).where(Challenge.id.in_(ids | set(profile_matches)))
        .options(lazyload("*"), selectinload(Challenge.lead_council))
        .order_by(Challenge.submission_deadline, Challenge.id)))
    links = {c.id: absolute_url("challenges.detail", challenge_id=c.id) for c in challenges}
    queue_email(user.email, "alert_digest", user=user, challenges=challenges, links=links,
                alerts=[alert_summary(a) for a in alerts], alert_ids=ids,
                profile_matches=profile_matches, manage=absolute_url("suppliers.alerts"))
    for alert in alerts:
        alert.last_sent_at = now
    return True


def _profile_matches(user: User, since: datetime, now: datetime) -> dict[int, ChallengeMatch]:
    """Open challenges published since ``since`` that match the person's company profile
    above the threshold, by challenge id."""
    profile = db.session.get(SupplierProfile, user.organisation_id) \
        if user.organisation_id else None
    if profile is None or not is_listed(profile.organisation):
        return {}
    new = open_challenges(now, published_after=since)
    return {m.challenge.id: m for m in _rank_for(profile.organisation_id, new, top=20)}


def send_alert_digests(now: datetime | None = None) -> int:
    """Queue the daily digests: one email per person listing the open challenges published
    since their alerts last sent (or were set up) that match any of them, or that match
    their company's profile above the matching threshold. Nobody gets two in
    one UK day, and nobody gets one with nothing new. Returns how many were queued.

    Each person is handled in their own transaction, with their alerts locked, so two runs
    at once cannot both send to them."""
    now = now or utcnow()
    sent = 0
    for user_id in _digest_recipients():
        with unit_of_work():
            if _send_digest(user_id, now):
                sent += 1
    return sent


# Bulk import by platform admins --------------------------------------------------------------

IMPORT_COLUMNS = ("name", "companies_house_number", "size", "regions", "website",
                  "description", "capabilities", "cpv_codes", "contact_name", "contact_email")
REQUIRED_COLUMNS = ("name",)
IMPORT_MAX_ROWS = 2000


@dataclass
class ImportRow:
    number: int  # the row in the spreadsheet: the header is row 1
    name: str
    action: str = ""  # "create" or "update"
    organisation_id: int | None = None
    existing_name: str | None = None
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # about the whole file
    dry_run: bool = True
    imported: bool = False

    @property
    def error_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if r.errors]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.error_rows and bool(self.rows)

    @property
    def to_create(self) -> int:
        return sum(1 for r in self.rows if r.action == "create" and not r.errors)

    @property
    def to_update(self) -> int:
        return sum(1 for r in self.rows if r.action == "update" and not r.errors)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _row_changes(row: dict[str, str]) -> ProfileChanges:
    """A CSV row as changes: an empty cell leaves what is there alone."""

    def cell(name: str) -> str | None:
        return (row.get(name) or "").strip() or None

    def listed(name: str) -> list[str] | None:
        value = cell(name)
        return _split(value) if value else None

    return ProfileChanges(
        name=cell("name") or "", companies_house_number=cell("companies_house_number"),
        size=cell("size"), website=cell("website"), description=cell("description"),
        regions=listed("regions"), capabilities=listed("capabilities"),
        cpv_codes=listed("cpv_codes"), contact_name=cell("contact_name"),
        contact_email=cell("contact_email"))


def _read_csv(csv_text: str, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    """The rows with a cell filled in, each with its spreadsheet row number (the header is
    row 1; a cell with line breaks does not change the numbering)."""
    text = csv_text.lstrip("\ufeff")
    if not text.strip():
        report.errors.append("The file is empty. Add a header row and one row per supplier")
        return []
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(records)]
        named = [h for h in header if h]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        unknown = [h for h in named if h not in IMPORT_COLUMNS]
        if missing:
            report.errors.append("The header row must include the column "
                                 + ", ".join(missing) + ". The columns are: "
                                 + ", ".join(IMPORT_COLUMNS))
        if unknown:
            report.errors.append("Unknown column " + ", ".join(unknown) + ". The columns are: "
                                 + ", ".join(IMPORT_COLUMNS))
        if len(set(named)) != len(named):
            report.errors.append("A column appears twice in the header row")
        if report.errors:
            return []
        rows = []
        for number, cells in enumerate(records, start=2):
            if not any(c.strip() for c in cells):
                continue
            row = {name: value for name, value in zip(header, cells, strict=False) if name}
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                row["__extra__"] = "1"
            rows.append((number, row))
            if len(rows) > IMPORT_MAX_ROWS:
                report.errors.append(f"Import up to {IMPORT_MAX_ROWS:,} suppliers at a time")
                return []
    except StopIteration:
        report.errors.append("The file is empty. Add a header row and one row per supplier")
        return []
    except csv.Error as exc:
        report.errors.append(f"The file is not valid CSV: {exc}")
        return []
    if not rows:
        report.errors.append("The file has a header row but no suppliers")
    return rows


def _match(values: dict[str, Any]) -> tuple[Organisation | None, list[str]]:
    """The existing supplier a row updates: same Companies House number, or same name."""
    by_number = None
    number = values.get("companies_house_number")
    if number:
        profile = _number_clash(number, None)
        by_number = profile.organisation if profile is not None else None
    by_name = _name_clash(values["name"], None) if "name" in values else None
    if by_number is not None and by_name is not None and by_number.id != by_name.id:
        return None, [f"Companies House number {number} belongs to {by_number.name}, but "
                      f"{by_name.name} is another supplier"]
    if by_number is None and by_name is not None and number:
        existing = db.session.get(SupplierProfile, by_name.id)
        if existing is not None and existing.companies_house_number not in (None, number):
            return None, [f"{by_name.name} is registered with Companies House number "
                          f"{existing.companies_house_number}, not {number}"]
    return by_number or by_name, []


def _check_rows(rows: list[tuple[int, dict[str, str]]], report: ImportReport
                ) -> list[tuple[ImportRow, dict[str, Any], Organisation | None]]:
    today = uk_today()
    planned = []
    seen_names: dict[str, int] = {}
    seen_numbers: dict[str, int] = {}
    seen_orgs: dict[int, int] = {}
    for number, row in rows:
        item = ImportRow(number=number, name=(row.get("name") or "").strip())
        report.rows.append(item)
        if row.get("__extra__"):
            item.errors.append("The row has more cells than the header row")
        values, problems = _prepare(_row_changes(row), today)
        for field_name, message in problems:
            item.errors.append(f"{field_name}: {message}")
        if "name" not in values:
            planned.append((item, values, None))
            continue
        key = Organisation.key_for(values["name"])
        if key in seen_names:
            item.errors.append(f"name: the same supplier is in row {seen_names[key]}")
        seen_names.setdefault(key, number)
        ch = values.get("companies_house_number")
        if ch:
            if ch in seen_numbers:
                item.errors.append(f"companies_house_number: {ch} is also in row "
                                   f"{seen_numbers[ch]}")
            seen_numbers.setdefault(ch, number)
        org, clashes = _match(values)
        item.errors.extend(clashes)
        if org is not None:
            item.action, item.organisation_id, item.existing_name = "update", org.id, org.name
            if org.id in seen_orgs and seen_orgs[org.id] != number:
                item.errors.append(f"{org.name} is also updated by row {seen_orgs[org.id]}")
            seen_orgs.setdefault(org.id, number)
            if org.status == OrgStatus.REJECTED:
                item.errors.append(f"{org.name} was rejected by the marketplace team, so it "
                                   "cannot be imported")
            if org.name != values["name"]:
                item.notes.append(f"Matched {org.name} by Companies House number; its name is "
                                  "kept")
            if org.status == OrgStatus.PENDING:
                item.notes.append("Still waiting for verification: it is listed once verified")
        elif not clashes:
            item.action = "create"
        planned.append((item, values, org))
    return planned


def import_suppliers(actor: User, csv_text: str, dry_run: bool) -> ImportReport:
    """Check (``dry_run``) or import a CSV of suppliers (one a row; see IMPORT_COLUMNS).

    Every row is checked and every problem reported against its row number. A real run
    writes all rows in one transaction, and refuses to write anything if any row has a
    problem. New suppliers are verified organisations without users; a supplier already on
    the marketplace with the same Companies House number or name is updated instead (empty
    cells leave its details alone)."""
    if not actor.is_platform_admin or not actor.is_active:
        raise PermissionDenied("Only platform admins can import suppliers")
    if dry_run:
        report = ImportReport(dry_run=True)
        _check_rows(_read_csv(csv_text, report), report)
        return report
    return _import(actor, csv_text)


@transactional
def _import(actor: User, csv_text: str) -> ImportReport:
    report = ImportReport(dry_run=False)
    planned = _check_rows(_read_csv(csv_text, report), report)
    if not report.ok:
        return report
    try:
        created, updated = _write(actor, planned)
    except IntegrityError as exc:
        # Someone registered or imported one of these suppliers in the meantime.
        raise Conflict("Another supplier with one of these names or Companies House numbers "
                       "was added while you were importing. Check the file again") from exc
    audit.record("suppliers.imported", actor=actor, object_type="supplier_import",
                 after={"rows": len(planned), "created": created, "updated": updated})
    report.imported = True
    return report


def _write(actor: User, planned: list[tuple[ImportRow, dict[str, Any], Organisation | None]]
           ) -> tuple[int, int]:
    now = utcnow()
    created = updated = 0
    for item, values, org in planned:
        values = dict(values)
        if org is None:
            org = Organisation(kind=OrgKind.SUPPLIER.value, name=values["name"],
                               name_key=Organisation.key_for(values["name"]),
                               status=OrgStatus.VERIFIED.value, verified_at=now)
            db.session.add(org)
            db.session.flush()
            profile = _new_profile(org)
            _apply(org, profile, values)
            _reindex(org, profile)
            audit.record("organisation.imported", org, actor=actor, organisation=org,
                         after={"name": org.name, "kind": org.kind, "status": org.status,
                                "row": item.number, **snapshot(org, profile)})
            item.organisation_id = org.id
            created += 1
        else:
            values.pop("name", None)  # an existing supplier keeps its name
            profile = db.session.get(SupplierProfile, org.id) or _new_profile(org)
            before = snapshot(org, profile)
            _apply(org, profile, values)
            _reindex(org, profile)
            old, new = _diff(before, snapshot(org, profile))
            if new:
                audit.record("supplier_profile.updated", org, actor=actor, organisation=org,
                             object_type="supplier_profile", before=old,
                             after={**new, "imported_row": item.number})
            updated += 1
    return created, updated
