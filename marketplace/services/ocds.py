"""Open data: every published challenge as OCDS 1.1 releases, and their validation.

A challenge is one contracting process (``ocid`` = ``OCDS_PREFIX`` + ``-`` + its id). Its
releases are derived from its timestamps, like its status, so fetching them twice gives the
same JSON:

- ``tender`` at publication;
- ``tenderAmendment`` at each amendment;
- ``tenderUpdate`` at the submission deadline once it has passed (unless the challenge was
  withdrawn or cancelled first): the tenderers and the bid counts appear here;
- ``tenderCancellation`` when it is withdrawn or cancelled;
- ``award`` at the award decision (award ``pending``: during the standstill the public learns
  only that a decision was made, as on the challenge page), then ``awardUpdate`` when the
  standstill is over (award ``active``, with the suppliers, the value and the public summary);
- ``award`` with an ``unsuccessful`` award when no suitable supplier was found.

Each release shows the process as it was at its date: the tender text is rebuilt from the
amendments' recorded before-values, and nothing known only later (tenderers, counts, the
award) is in an earlier release. Nothing from bids is published except the bidders'
organisation names and counts once the deadline has passed; nothing from the evaluation
(scores, comments, rationale, exclusions, losing prices) ever is.

The builders read the database and the app configuration (prefix, publisher, ``BASE_URL``
for links), never the request.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import Integer, String, func, literal_column, or_, select, union_all
from sqlalchemy.orm import selectinload

from marketplace import reference
from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAssessment,
    Challenge,
    ChallengeAmendment,
    ClarificationQuestion,
    Organisation,
    QuestionStatus,
    SupplierProfile,
)
from marketplace.services.award import SME_SIZES
from marketplace.services.challenges import snapshot
from marketplace.services.email import absolute_url

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "ocds"
OCDS_VERSION = "1.1"
CURRENCY = "GBP"
PAGE_SIZE = 100
LICENSE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
SUITABILITY_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                         "ocds_suitability_extension/master/extension.json")
BID_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                 "ocds_bid_extension/master/extension.json")
PAGINATION_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                        "ocds_pagination_extension/master/extension.json")
PROCUREMENT_METHOD_DETAILS = "Challenge-based procurement (innovation partnership style)"
PREFIX_SHAPE = re.compile(r"ocds-[A-Za-z0-9]{6}")
PARTY_ID = "GB-MKT-ORG-{}"


class OcdsConfigError(RuntimeError):
    """The OCDS configuration cannot produce valid identifiers."""


# Identifiers and dates ------------------------------------------------------------------------

def ocid_prefix() -> str:
    """The configured ``OCDS_PREFIX``, checked: "ocds-" and 6 letters or digits."""
    prefix = str(current_app.config.get("OCDS_PREFIX") or "")
    if not PREFIX_SHAPE.fullmatch(prefix):
        raise OcdsConfigError(
            f"OCDS_PREFIX must be 'ocds-' followed by 6 letters or digits (the prefix the Open "
            f"Contracting Partnership registered for this publisher), not {prefix!r}")
    return prefix


def ocid(challenge: Challenge | int) -> str:
    """The challenge's Open Contracting ID, stable for its whole life."""
    challenge_id = challenge if isinstance(challenge, int) else challenge.id
    return f"{ocid_prefix()}-{challenge_id}"


def iso(value: datetime) -> str:
    """UTC ISO 8601 with ``Z`` (microseconds kept when there are any, so ``since`` is exact)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(value: Any) -> datetime | None:
    """A snapshot date value (ISO text, or None) as an aware datetime."""
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_since(value: str) -> datetime:
    """A ``since`` parameter: an ISO 8601 date (midnight UTC) or date-time (naive = UTC).

    Raises ValueError with a message for people."""
    text = (value or "").strip()
    if not text:
        raise ValueError("since must be a date like 2026-01-31 or a date-time like "
                         "2026-01-31T09:00:00Z")
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"since must be an ISO 8601 date like 2026-01-31 or date-time like "
                         f"2026-01-31T09:00:00Z, not {text[:40]!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def party_id(organisation_id: int) -> str:
    return PARTY_ID.format(organisation_id)


# Events: what happened to a challenge, and when -----------------------------------------------

# Event kinds in the order they can happen; the release id suffix and tags of each.
KINDS: dict[str, tuple[str, list[str]]] = {
    "tender": ("tender", ["tender"]),
    "amendment": ("amendment-{ref}", ["tenderAmendment"]),
    "closed": ("tender-closed", ["tenderUpdate"]),
    "withdrawn": ("withdrawn", ["tenderCancellation"]),
    "cancelled": ("cancelled", ["tenderCancellation"]),
    "award": ("award-decision", ["award"]),
    "awarded": ("award-final", ["awardUpdate"]),
    "no_award": ("no-award", ["award"]),
}
TENDER_STATUS = {"tender": "active", "amendment": "active", "closed": "active",
                 "withdrawn": "cancelled", "cancelled": "cancelled", "award": "active",
                 "awarded": "complete", "no_award": "unsuccessful"}


@dataclass(frozen=True)
class Event:
    """One release-worthy moment of a challenge (``ref``: the amendment id)."""

    challenge_id: int
    kind: str
    at: datetime
    ref: int = 0

    def release_id(self, prefix: str) -> str:
        suffix = KINDS[self.kind][0].format(ref=self.ref)
        return f"{prefix}-{self.challenge_id}-{suffix}"


def events_for(challenge: Challenge, now: datetime) -> list[Event]:
    """The challenge's events up to ``now``, oldest first (none before publication)."""
    if challenge.published_at is None or challenge.published_at > now:
        return []
    cid = challenge.id
    found = [Event(cid, "tender", challenge.published_at)]
    found += [Event(cid, "amendment", a.created_at, a.id) for a in _amendments(challenge)
              if a.created_at <= now]
    end = challenge.withdrawn_at or challenge.cancelled_at
    deadline = challenge.submission_deadline
    if deadline is not None and deadline <= now and (end is None or deadline < end):
        found.append(Event(cid, "closed", deadline))
    for kind, at in (("withdrawn", challenge.withdrawn_at),
                     ("cancelled", challenge.cancelled_at),
                     ("award", challenge.award_decided_at),
                     ("no_award", challenge.no_suitable_supplier_at)):
        if at is not None and at <= now:
            found.append(Event(cid, kind, at))
    if challenge.awarded_at is not None and challenge.awarded_at <= now:
        found.append(Event(cid, "awarded", challenge.awarded_at))
    order = list(KINDS)
    return sorted(found, key=lambda e: (e.at, order.index(e.kind), e.ref))


def _amendments(challenge: Challenge) -> list[ChallengeAmendment]:
    return sorted(challenge.amendments, key=lambda a: (a.created_at, a.id))


def _events_query(now: datetime, since: datetime | None) -> tuple[Any, Any]:
    """A query of every event of every published challenge as rows (cid, kind, at, ref),
    by the same rules as :func:`events_for`, and its subquery (for ordering)."""
    c, a = Challenge, ChallengeAmendment
    published = [c.published_at.is_not(None), c.published_at <= now]
    end = func.coalesce(c.withdrawn_at, c.cancelled_at)

    def row(cid: Any, kind: str, at: Any, ref: Any = None) -> Any:
        return select(cid.label("cid"), literal_column(f"'{kind}'", String).label("kind"),
                      at.label("at"),
                      (ref if ref is not None else literal_column("0", Integer)).label("ref"))

    parts = [
        row(c.id, "tender", c.published_at).where(*published),
        row(a.challenge_id, "amendment", a.created_at, a.id)
        .join(c, c.id == a.challenge_id).where(*published, a.created_at <= now),
        row(c.id, "closed", c.submission_deadline).where(
            *published, c.submission_deadline <= now,
            or_(end.is_(None), c.submission_deadline < end)),
        row(c.id, "withdrawn", c.withdrawn_at).where(*published, c.withdrawn_at <= now),
        row(c.id, "cancelled", c.cancelled_at).where(*published, c.cancelled_at <= now),
        row(c.id, "award", c.award_decided_at).where(*published, c.award_decided_at <= now),
        row(c.id, "awarded", c.awarded_at).where(*published, c.awarded_at <= now),
        row(c.id, "no_award", c.no_suitable_supplier_at).where(
            *published, c.no_suitable_supplier_at <= now),
    ]
    events = union_all(*parts).subquery("ocds_event")
    stmt = select(events.c.cid, events.c.kind, events.c.at, events.c.ref)
    if since is not None:
        stmt = stmt.where(events.c.at > since)
    return stmt, events


@dataclass
class ReleasePage:
    releases: list[dict[str, Any]]
    page: int
    per_page: int
    has_next: bool


def release_page(now: datetime, *, page: int = 1, per_page: int = PAGE_SIZE,
                 since: datetime | None = None) -> ReleasePage:
    """One page of the releases of all published challenges, newest first (by date, then by
    release id), with a date after ``since`` when given.

    Only the events' timestamps are read for all challenges (the newest ones, plus any that
    tie with the last of them); releases are built only for the page."""
    if page < 1 or not 1 <= per_page <= PAGE_SIZE:
        raise ValueError("page must be 1 or more and per_page 1 to 100")
    prefix = ocid_prefix()
    stmt, events = _events_query(now, since)
    wanted = page * per_page + 1
    rows = db.session.execute(stmt.order_by(events.c.at.desc()).limit(wanted)).all()
    if len(rows) == wanted:
        # Rows sharing the last timestamp may have been cut arbitrarily: take all of them.
        rows = db.session.execute(stmt.where(events.c.at >= rows[-1].at)).all()
    found = [Event(r.cid, r.kind, r.at, r.ref or 0) for r in rows]
    found.sort(key=lambda e: (e.at, e.release_id(prefix)), reverse=True)
    chosen = found[(page - 1) * per_page: page * per_page]
    return ReleasePage(build_releases(chosen), page, per_page,
                       has_next=len(found) > page * per_page)


def build_releases(chosen: list[Event]) -> list[dict[str, Any]]:
    """The releases of these events, in the same order (challenges loaded once each)."""
    ids = sorted({e.challenge_id for e in chosen})
    challenges = {c.id: c for c in db.session.scalars(
        select(Challenge).where(Challenge.id.in_(ids))
        .options(selectinload(Challenge.amendments)))} if ids else {}
    facts = {cid: _Facts(challenge) for cid, challenge in challenges.items()}
    _preload(facts)
    return [facts[event.challenge_id].release(event) for event in chosen]


def _preload(facts: dict[int, _Facts]) -> None:
    """Fill the per-challenge facts every release reads (published answers, tenderers) with
    one query each for all the challenges, instead of one per challenge."""
    if not facts:
        return
    ids = list(facts)
    answered: dict[int, list[datetime]] = {cid: [] for cid in ids}
    for cid, at in db.session.execute(
            select(ClarificationQuestion.challenge_id, ClarificationQuestion.answered_at)
            .where(ClarificationQuestion.challenge_id.in_(ids),
                   ClarificationQuestion.status == QuestionStatus.PUBLISHED.value)):
        if at is not None:
            answered[cid].append(at)
    tenderers: dict[int, list[_Tenderer]] = {cid: [] for cid in ids}
    for row in db.session.execute(_tenderers_query(Bid.challenge_id.in_(ids))):
        tenderers[row[4]].append(_Tenderer(row[0], row[1], row[2], row[3] in SME_SIZES))
    for cid, fact in facts.items():
        fact.__dict__["answered"] = answered[cid]
        fact.__dict__["tenderers"] = tenderers[cid]


def _tenderers_query(where: Any) -> Any:
    """Organisation id, name, company number, size and challenge id of the bids that counted
    at the deadline (submitted, not withdrawn), in the order received."""
    return (select(Organisation.id, Organisation.name, SupplierProfile.companies_house_number,
                   SupplierProfile.size, Bid.challenge_id)
            .select_from(Bid).join(Organisation, Organisation.id == Bid.supplier_id)
            .outerjoin(SupplierProfile, SupplierProfile.organisation_id == Organisation.id)
            .where(where, Bid.submitted_at.is_not(None), Bid.withdrawn_at.is_(None))
            .order_by(Bid.submitted_at, Bid.id))


def releases_for(challenge: Challenge, now: datetime) -> list[dict[str, Any]]:
    """Every release of a challenge up to ``now``, oldest first ([] when unpublished)."""
    events = events_for(challenge, now)
    if not events:
        return []
    facts = _Facts(challenge)
    return [facts.release(event) for event in events]


# Building a release ---------------------------------------------------------------------------

@dataclass
class _Tenderer:
    organisation_id: int
    name: str
    companies_house_number: str | None
    sme: bool


class _Facts:
    """What the releases of one challenge are built from, loaded once."""

    def __init__(self, challenge: Challenge) -> None:
        self.challenge = challenge
        self.ocid = ocid(challenge)
        self.prefix = ocid_prefix()
        self.amendments = _amendments(challenge)
        self.current = snapshot(challenge)

    # Loaded on first use -----------------------------------------------------------------
    @cached_property
    def page_url(self) -> str:
        return absolute_url("challenges.detail", challenge_id=self.challenge.id)

    @cached_property
    def tenderers(self) -> list[_Tenderer]:
        """The organisations whose bids counted at the deadline (submitted, not withdrawn:
        nothing can change after it), in the order received. Names and sizes only."""
        rows = db.session.execute(
            _tenderers_query(Bid.challenge_id == self.challenge.id)).all()
        return [_Tenderer(r[0], r[1], r[2], r[3] in SME_SIZES) for r in rows]

    @cached_property
    def winners(self) -> list[tuple[int, Decimal]]:
        """(supplier organisation id, contract value) of the awarded bids."""
        rows = db.session.execute(
            select(Bid.supplier_id, BidAssessment.award_value)
            .join(Bid, Bid.id == BidAssessment.bid_id)
            .where(BidAssessment.challenge_id == self.challenge.id,
                   BidAssessment.awarded.is_(True))
            .order_by(Bid.supplier_id)).all()
        return [(r[0], r[1] or Decimal("0")) for r in rows]

    @cached_property
    def answered(self) -> list[datetime]:
        """When each published clarification answer was published."""
        return [at for at in db.session.scalars(
            select(ClarificationQuestion.answered_at).where(
                ClarificationQuestion.challenge_id == self.challenge.id,
                ClarificationQuestion.status == QuestionStatus.PUBLISHED.value))
            if at is not None]

    def organisation_name(self, organisation_id: int) -> str:
        org = db.session.get(Organisation, organisation_id)
        return org.name if org else f"Organisation {organisation_id}"

    # The release ----------------------------------------------------------------------------
    def state_at(self, included: list[ChallengeAmendment]) -> dict[str, Any]:
        """The published text after the ``included`` amendments: the current text with the
        later amendments' before-values put back, newest first."""
        state = dict(self.current)
        done = {a.id for a in included}
        for amendment in reversed(self.amendments):
            if amendment.id not in done:
                state.update((amendment.changes or {}).get("before") or {})
        return state

    def release(self, event: Event) -> dict[str, Any]:
        at = event.at
        if event.kind == "amendment":
            position = next(i for i, a in enumerate(self.amendments) if a.id == event.ref)
            included = self.amendments[:position + 1]
        else:
            included = [a for a in self.amendments if a.created_at <= at]
        state = self.state_at(included)
        challenge = self.challenge
        deadline = challenge.submission_deadline
        closed = deadline is not None and at >= deadline
        final = event.kind == "awarded"
        winner_ids = {org_id for org_id, _ in self.winners} if final else set()

        lead = challenge.lead_council
        lead_ref = {"id": party_id(lead.id), "name": lead.name}
        # The lead council is the buyer and runs the procurement. Co-sponsoring councils
        # share ownership of the challenge (and may fund and use what is bought), so they are
        # listed as further buyers; OCDS's single ``buyer`` field names the lead council.
        parties: list[dict[str, Any]] = [{**lead_ref, "roles": ["buyer", "procuringEntity"]}]
        for sponsor_id in sorted(state.get("co_sponsors") or []):
            parties.append({"id": party_id(sponsor_id),
                            "name": self.organisation_name(sponsor_id), "roles": ["buyer"]})
        tenderers = self.tenderers if closed else []
        for t in tenderers:
            party: dict[str, Any] = {"id": party_id(t.organisation_id), "name": t.name,
                                     "roles": ["tenderer"]}
            if t.organisation_id in winner_ids:
                party["roles"].append("supplier")
            if t.companies_house_number:
                party["identifier"] = {"scheme": "GB-COH", "id": t.companies_house_number,
                                       "legalName": t.name}
            parties.append(party)

        tender = self.tender(event, state, included, tenderers if closed else None, lead_ref)
        release: dict[str, Any] = {
            "ocid": self.ocid,
            "id": event.release_id(self.prefix),
            "date": iso(at),
            "tag": list(KINDS[event.kind][1]),
            "initiationType": "tender",
            "language": "en",
            "parties": parties,
            "buyer": lead_ref,
            "tender": tender,
        }
        if closed:
            assert deadline is not None
            # The bid extension's statistics: counts only.
            release["bids"] = {"statistics": [
                {"id": "bids", "measure": "bids", "value": len(tenderers),
                 "date": iso(deadline)},
                {"id": "smeBids", "measure": "smeBids",
                 "value": sum(1 for t in tenderers if t.sme), "date": iso(deadline)},
            ]}
        award = self.award(event, tenderers)
        if award is not None:
            release["awards"] = [award]
        return release

    def tender(self, event: Event, state: dict[str, Any], included: list[ChallengeAmendment],
               tenderers: list[_Tenderer] | None, lead_ref: dict[str, str]) -> dict[str, Any]:
        """The tender section as at the event (``tenderers``: None before the deadline)."""
        challenge = self.challenge
        assert challenge.published_at is not None
        cpv = reference.load_cpv()
        description = "\n\n".join(p.strip() for p in (state.get("summary"), state.get("problem"))
                                  if p and p.strip())
        tender: dict[str, Any] = {
            "id": self.ocid,
            "title": state.get("title") or challenge.title,
            "description": description,
            "status": TENDER_STATUS[event.kind],
            "procuringEntity": lead_ref,
            "items": [{"id": code,
                       "description": cpv[code].label if code in cpv else code,
                       "classification": {"scheme": "CPV", "id": code,
                                          "description": cpv[code].label if code in cpv
                                          else code}}
                      for code in state.get("cpv_codes") or []],
            "procurementMethod": "open",
            "procurementMethodDetails": PROCUREMENT_METHOD_DETAILS,
            "mainProcurementCategory": "services",
            "submissionMethod": ["electronicSubmission"],
            "submissionMethodDetails": self.page_url,
            # Only published answers count: pending and rejected questions are not public.
            "hasEnquiries": any(at <= event.at for at in self.answered),
            "suitability": {"sme": bool(state.get("sme_suitable"))},
        }
        if not description:
            del tender["description"]
        if state.get("budget_max") is not None:
            tender["value"] = {"amount": state["budget_max"], "currency": CURRENCY}
        if state.get("budget_min") is not None:
            tender["minValue"] = {"amount": state["budget_min"], "currency": CURRENCY}
        criteria = state.get("criteria") or []
        if criteria:
            tender["awardCriteria"] = "ratedCriteria"
            tender["awardCriteriaDetails"] = (
                "Each criterion is scored 0 to 4 and weighted: " + "; ".join(
                    f"{c['name']} {c['weight']}%" for c in criteria) + ".")
        deadline = _parse_iso(state.get("submission_deadline"))
        questions = _parse_iso(state.get("clarification_deadline"))
        tender["tenderPeriod"] = _period(challenge.published_at, deadline)
        tender["enquiryPeriod"] = _period(challenge.published_at, questions)
        essential = state.get("essential_requirements") or []
        if essential:
            tender["eligibilityCriteria"] = "Essential requirements:\n" + "\n".join(
                f"- {text}" for text in essential)
        documents = [{"id": "challenge-statement", "documentType": "tenderNotice",
                      "title": "Challenge statement", "url": self.page_url,
                      "format": "text/html", "language": "en",
                      "datePublished": iso(challenge.published_at)}]
        end_at = {"withdrawn": challenge.withdrawn_at,
                  "cancelled": challenge.cancelled_at}.get(event.kind)
        if end_at is not None:
            documents.append({"id": "cancellation", "documentType": "cancellationDetails",
                              "title": f"Challenge {event.kind}",
                              "description": challenge.end_reason or "",
                              "url": self.page_url, "format": "text/html", "language": "en",
                              "datePublished": iso(end_at)})
        tender["documents"] = documents
        if tenderers is not None:
            tender["numberOfTenderers"] = len(tenderers)
            tender["tenderers"] = [{"id": party_id(t.organisation_id), "name": t.name}
                                   for t in tenderers]
        if included:
            tender["amendments"] = self.amendment_entries(included)
        return tender

    def amendment_entries(self, included: list[ChallengeAmendment]) -> list[dict[str, Any]]:
        entries = []
        previous = f"{self.ocid}-tender"
        for amendment in included:
            release_id = Event(self.challenge.id, "amendment", amendment.created_at,
                               amendment.id).release_id(self.prefix)
            changed = sorted((amendment.changes or {}).get("after") or {})
            entry = {"id": str(amendment.id), "date": iso(amendment.created_at),
                     "rationale": amendment.summary, "amendsReleaseID": previous,
                     "releaseID": release_id}
            if changed:
                entry["description"] = "Changed: " + ", ".join(
                    name.replace("_", " ") for name in changed) + "."
            entries.append(entry)
            previous = release_id
        return entries

    def award(self, event: Event, tenderers: list[_Tenderer]) -> dict[str, Any] | None:
        challenge = self.challenge
        award_id = f"{self.ocid}-award"
        if event.kind == "award":
            assert challenge.award_decided_at is not None and challenge.awarded_at is not None
            # During the standstill the public learns only that a decision was made (as on
            # the challenge page): no suppliers, value or summary until it is final.
            return {"id": award_id, "title": "Award decision", "status": "pending",
                    "date": iso(challenge.award_decided_at),
                    "description": ("The award decision has been made. It becomes final, and "
                                    "the suppliers and value are published, when the "
                                    "standstill period ends at "
                                    f"{iso(challenge.awarded_at)}.")}
        if event.kind == "awarded":
            assert challenge.award_decided_at is not None
            names = {t.organisation_id: t.name for t in tenderers}
            suppliers = [{"id": party_id(org_id),
                          "name": names.get(org_id) or self.organisation_name(org_id)}
                         for org_id, _ in self.winners]
            total = sum((value for _, value in self.winners), Decimal("0"))
            description = challenge.end_reason or ""
            if len(self.winners) > 1:
                description += "\n\nContract values: " + "; ".join(
                    f"{s['name']} £{value:,.2f}" for s, (_, value)
                    in zip(suppliers, self.winners, strict=True)) + "."
            award: dict[str, Any] = {
                "id": award_id, "title": "Award", "status": "active",
                "date": iso(challenge.award_decided_at),
                "value": {"amount": _number(total), "currency": CURRENCY},
                "suppliers": suppliers,
                "documents": [{"id": "award-notice", "documentType": "awardNotice",
                               "title": "Award notice", "url": self.page_url + "#award-notice",
                               "format": "text/html", "language": "en",
                               "datePublished": iso(event.at)}],
            }
            if description.strip():
                award["description"] = description.strip()
            return award
        if event.kind == "no_award":
            assert challenge.no_suitable_supplier_at is not None
            award = {"id": award_id, "title": "No suitable supplier", "status": "unsuccessful",
                     "date": iso(challenge.no_suitable_supplier_at)}
            if challenge.end_reason:
                award["description"] = challenge.end_reason
            return award
        return None


def _period(start: datetime, end: datetime | None) -> dict[str, Any]:
    period: dict[str, Any] = {"startDate": iso(start)}
    if end is not None:
        period["endDate"] = iso(end)
    return period


def _number(value: Decimal) -> int | float:
    """A JSON number for a money amount: whole pounds as an int, else pounds and pence."""
    return int(value) if value == value.to_integral_value() else float(value)


# Packages -------------------------------------------------------------------------------------

def release_package(releases: list[dict[str, Any]], uri: str, *,
                    published: datetime | None = None,
                    links: dict[str, str] | None = None) -> dict[str, Any]:
    """A release package of ``releases``. ``publishedDate`` is the newest release's date (the
    last change to the contents, so the same data gives the same JSON) or ``published``."""
    newest = max((r["date"] for r in releases), default=None, key=_sort_date)
    config = current_app.config
    extensions = [SUITABILITY_EXTENSION, BID_EXTENSION]
    package: dict[str, Any] = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": newest or iso(published or datetime.now(UTC)),
        "publisher": {"name": config.get("OCDS_PUBLISHER_NAME") or config["SERVICE_NAME"],
                      "uri": config["BASE_URL"]},
        "license": LICENSE_URL,
        "publicationPolicy": absolute_url("challenges.index"),
        "extensions": extensions,
        "releases": releases,
    }
    if links:
        # The pagination extension's ``links`` (the core package schema allows extra fields).
        package["links"] = links
        package["extensions"] = [*extensions, PAGINATION_EXTENSION]
    return package


def _sort_date(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def challenge_package(challenge: Challenge, now: datetime) -> dict[str, Any]:
    """The release package of one published challenge."""
    return release_package(
        releases_for(challenge, now),
        absolute_url("opendata.challenge_package", challenge_id=challenge.id))


def published_challenge_ids(now: datetime) -> list[int]:
    return list(db.session.scalars(
        select(Challenge.id).where(Challenge.published_at.is_not(None),
                                   Challenge.published_at <= now).order_by(Challenge.id)))


# Validation -----------------------------------------------------------------------------------

# Codes of the extensions this service declares (the bid extension's statistic.csv and
# bidStatus.csv codelists); the core codelists are read from data/ocds/codelists.
EXTENSION_CODES: dict[str, frozenset[str]] = {
    "statistic.csv": frozenset({
        "requests", "bids", "validBids", "lowestValidBidValue", "highestValidBidValue",
        "bidders", "qualifiedBidders", "disqualifiedBidders", "electronicBids", "smeBids",
        "microBids", "smallBids", "mediumBids", "foreignBids", "foreignBidsFromEU",
        "foreignBidsFromNonEU", "tendersAbnormallyLow", "tendersDisqualified"}),
    "bidStatus.csv": frozenset({"invited", "pending", "valid", "disqualified", "withdrawn"}),
}

# The extensions' own fields, as Draft 4 schemas (the core schema lets any field through).
_SUITABILITY_SCHEMA = {
    "type": "object",
    "properties": {"sme": {"type": ["boolean", "null"]},
                   "publicBody": {"type": ["boolean", "null"]}},
}
_BIDS_SCHEMA = {
    "type": "object",
    "properties": {
        "statistics": {"type": "array", "items": {
            "type": "object", "required": ["id", "measure", "value"],
            "properties": {"id": {"type": "string"}, "measure": {"type": "string"},
                           "value": {"type": "number"},
                           "date": {"type": ["string", "null"], "format": "date-time"},
                           "notes": {"type": ["string", "null"]}}}},
        "details": {"type": "array", "items": {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}},
    },
}
_LINKS_SCHEMA = {
    "type": "object",
    "properties": {"next": {"type": "string", "format": "uri"},
                   "prev": {"type": "string", "format": "uri"}},
}


@cache
def _schema(name: str) -> dict[str, Any]:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of a codelist: a bundled core CSV or an extension's list above. Deprecated
    core codes are left out."""
    if name in EXTENSION_CODES:
        return EXTENSION_CODES[name]
    with (DATA_DIR / "codelists" / name).open(encoding="utf-8", newline="") as handle:
        return frozenset(row["Code"] for row in csv.DictReader(handle)
                         if not (row.get("Deprecated") or "").strip())


_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.scheme in {"urn", "mailto"}))


@cache
def _validators() -> tuple[Draft4Validator, Draft4Validator, Draft4Validator,
                           Draft4Validator]:
    """The package validator, with the release schema's URL resolved to the bundled copy
    (nothing is fetched), and the extension validators."""
    package_schema, release_schema = (_schema("release-package-schema.json"),
                                      _schema("release-schema.json"))
    registry: Registry[Any] = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4))
        for schema in (package_schema, release_schema))
    # A reference the bundled files cannot satisfy fails instead of going to the network.
    registry = registry.crawl()
    return (Draft4Validator(package_schema, registry=registry, format_checker=_FORMATS),
            Draft4Validator(_SUITABILITY_SCHEMA, format_checker=_FORMATS),
            Draft4Validator(_BIDS_SCHEMA, format_checker=_FORMATS),
            Draft4Validator(_LINKS_SCHEMA, format_checker=_FORMATS))


def _path(parts: Iterable[Any]) -> str:
    return "/".join(str(p) for p in parts) or "(package)"


def _codes(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, code) for a code or each code of a list of codes."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield f"{path}/{i}", item
    elif value is not None:
        yield path, value


def _coded_fields(release: dict[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(path within the release, value, codelist) of every coded field the service could
    publish, core and extension."""
    yield "tag", release.get("tag"), "releaseTag.csv"
    yield "initiationType", release.get("initiationType"), "initiationType.csv"
    for i, party in enumerate(_dicts(release.get("parties"))):
        yield f"parties/{i}/roles", party.get("roles"), "partyRole.csv"
    tender = release.get("tender") if isinstance(release.get("tender"), dict) else {}
    yield "tender/status", tender.get("status"), "tenderStatus.csv"
    yield "tender/procurementMethod", tender.get("procurementMethod"), "method.csv"
    yield ("tender/mainProcurementCategory", tender.get("mainProcurementCategory"),
           "procurementCategory.csv")
    yield ("tender/additionalProcurementCategories",
           tender.get("additionalProcurementCategories"), "extendedProcurementCategory.csv")
    yield "tender/awardCriteria", tender.get("awardCriteria"), "awardCriteria.csv"
    yield "tender/submissionMethod", tender.get("submissionMethod"), "submissionMethod.csv"
    for name in ("value", "minValue"):
        value = tender.get(name)
        if isinstance(value, dict):
            yield f"tender/{name}/currency", value.get("currency"), "currency.csv"
    yield from _items(tender.get("items"), "tender/items")
    yield from _documents(tender.get("documents"), "tender/documents")
    for i, award in enumerate(_dicts(release.get("awards"))):
        yield f"awards/{i}/status", award.get("status"), "awardStatus.csv"
        if isinstance(award.get("value"), dict):
            yield f"awards/{i}/value/currency", award["value"].get("currency"), "currency.csv"
        yield from _items(award.get("items"), f"awards/{i}/items")
        yield from _documents(award.get("documents"), f"awards/{i}/documents")
    for i, contract in enumerate(_dicts(release.get("contracts"))):
        yield f"contracts/{i}/status", contract.get("status"), "contractStatus.csv"
    bids = release.get("bids") if isinstance(release.get("bids"), dict) else {}
    for i, stat in enumerate(_dicts(bids.get("statistics"))):
        yield f"bids/statistics/{i}/measure", stat.get("measure"), "statistic.csv"
        yield f"bids/statistics/{i}/currency", stat.get("currency"), "currency.csv"
    for i, bid in enumerate(_dicts(bids.get("details"))):
        yield f"bids/details/{i}/status", bid.get("status"), "bidStatus.csv"


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _items(items: Any, path: str) -> Iterator[tuple[str, Any, str]]:
    for i, item in enumerate(_dicts(items)):
        if isinstance(item.get("classification"), dict):
            yield (f"{path}/{i}/classification/scheme", item["classification"].get("scheme"),
                   "itemClassificationScheme.csv")
        for j, extra in enumerate(_dicts(item.get("additionalClassifications"))):
            yield (f"{path}/{i}/additionalClassifications/{j}/scheme", extra.get("scheme"),
                   "itemClassificationScheme.csv")


def _documents(documents: Any, path: str) -> Iterator[tuple[str, Any, str]]:
    for i, document in enumerate(_dicts(documents)):
        yield f"{path}/{i}/documentType", document.get("documentType"), "documentType.csv"


def validate(package: Any) -> list[str]:
    """Problems with a release package: the OCDS 1.1 release package and release schemas
    (Draft 4, bundled), every codelist value (closed and open codelists alike, and the
    extensions' codes), the extensions' fields and the ocid's shape. [] when it is valid."""
    package_validator, suitability, bids, links = _validators()
    errors = [f"{_path(e.absolute_path)}: {e.message}" for e in sorted(
        package_validator.iter_errors(package), key=lambda e: list(map(str, e.absolute_path)))]
    if not isinstance(package, dict):
        return errors
    if "links" in package:
        errors += [f"links/{_path(e.absolute_path)}: {e.message}"
                   for e in links.iter_errors(package["links"])]
    for r, release in enumerate(_dicts(package.get("releases"))):
        where = f"releases/{r}"
        release_ocid = release.get("ocid")
        if isinstance(release_ocid, str) and not re.fullmatch(
                r"ocds-[A-Za-z0-9]{6}-.+", release_ocid):
            errors.append(f"{where}/ocid: {release_ocid!r} does not start with a registered "
                          "prefix ('ocds-' and 6 letters or digits)")
        for path, value, name in _coded_fields(release):
            for code_path, code in _codes(value, path):
                if code is not None and code not in codelist(name):
                    errors.append(f"{where}/{code_path}: {code!r} is not in the "
                                  f"{name.removesuffix('.csv')} codelist")
        tender = release.get("tender")
        if isinstance(tender, dict) and "suitability" in tender:
            errors += [f"{where}/tender/suitability/{_path(e.absolute_path)}: {e.message}"
                       for e in suitability.iter_errors(tender["suitability"])]
        if "bids" in release:
            errors += [f"{where}/bids/{_path(e.absolute_path)}: {e.message}"
                       for e in bids.iter_errors(release["bids"])]
    return errors
