"""Sealed bids: drafting, submission with receipts, resubmission, withdrawal, attachments, and
what councils may see (a count before the deadline; the bids themselves only once a
procurement officer has opened them after it, and only for the challenge's procurement officers
and, bid by bid, its evaluators).

Every change locks the bid row and checks the deadline inside the transaction, so two
submissions at once, or one racing the deadline, end in one consistent stored result.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, TypeVar

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload, selectinload

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidAttachment,
    BidVersion,
    Challenge,
    ChallengeStatus,
    OrgKind,
    Role,
    ScoreSheet,
    User,
    utcnow,
)
from marketplace.services import audit, evaluation
from marketplace.services import challenges as challenge_service
from marketplace.services.email import absolute_url, queue_email
from marketplace.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    refuse_if_any,
)
from marketplace.services.uow import transactional

T = TypeVar("T")

BIDDER_ROLES = (Role.BIDDER.value, Role.ORG_ADMIN.value)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
WORD_RE = re.compile(r"\S+")
PRICE_RE = re.compile(r"-?(\d+(\.\d*)?|\.\d+)", re.ASCII)


def word_count(text: str | None) -> int:
    return len(WORD_RE.findall(text or ""))


# Permissions ---------------------------------------------------------------------------------

def _require_bidder(actor: User) -> None:
    org = actor.organisation
    if (org is None or org.kind != OrgKind.SUPPLIER or not actor.is_active
            or not actor.has_role(*BIDDER_ROLES)):
        raise PermissionDenied("Only a supplier's bidders can work on bids")


def _own_bid(actor: User, bid_id: int, *, lock: bool = False) -> Bid:
    _require_bidder(actor)
    # The challenge's child rows (criteria, stages, sponsors...) load when a page reads them,
    # not all six with every bid: most bid pages read one or two, some none.
    stmt = select(Bid).where(Bid.id == bid_id).options(
        joinedload(Bid.challenge).lazyload("*"))
    if lock:
        stmt = stmt.with_for_update(of=Bid)
    bid = db.session.scalar(stmt)
    if bid is None or bid.supplier_id != actor.organisation_id:
        raise NotFound("Bid not found")
    if lock:
        db.session.refresh(bid)
    return bid


def _require_open(bid: Bid, now: datetime) -> None:
    """Nothing about a bid can change once the deadline has passed, whatever is sent."""
    status = bid.challenge.status_at(now)
    if status != ChallengeStatus.OPEN:
        deadline = bid.challenge.submission_deadline
        if status == ChallengeStatus.CLOSED or (deadline and now >= deadline):
            raise Conflict("The deadline for this challenge has passed. The bid can no longer "
                           "be changed")
        raise Conflict("This challenge is not open for bids")


# Supplier use cases ------------------------------------------------------------------------

def bid_for(actor: User, challenge_id: int) -> Bid | None:
    """The actor's organisation's bid for a challenge, if it has one."""
    if actor.organisation_id is None:
        return None
    return db.session.scalar(select(Bid).where(Bid.challenge_id == challenge_id,
                                               Bid.supplier_id == actor.organisation_id))


def get_own_bid(actor: User, bid_id: int) -> Bid:
    return _own_bid(actor, bid_id)


def bids_for_supplier(actor: User) -> list[Bid]:
    """Every bid of the actor's organisation, newest first."""
    _require_bidder(actor)
    # The lists show each challenge's title, dates, state and lead council: not its child
    # rows (criteria, stages...), which a challenge otherwise loads with it.
    return list(db.session.scalars(
        select(Bid).where(Bid.supplier_id == actor.organisation_id)
        .order_by(Bid.created_at.desc())
        .options(joinedload(Bid.challenge).options(
            lazyload("*"), selectinload(Challenge.lead_council)))))


def start_bid(actor: User, challenge_id: int) -> Bid:
    """Open (or return) the organisation's single bid for an open challenge."""
    _require_bidder(actor)
    challenge = challenge_service.get_challenge(challenge_id, actor)
    if challenge.status != ChallengeStatus.OPEN:
        raise Conflict("This challenge is not open for bids")
    existing = bid_for(actor, challenge_id)
    if existing is not None:
        return existing
    bid = Bid(challenge_id=challenge.id, supplier_id=actor.organisation_id,
              created_by_id=actor.id, answers={}, requirements={})
    db.session.add(bid)
    try:
        db.session.flush()
    except IntegrityError:
        # A colleague started the bid at the same moment: the database keeps one per supplier.
        db.session.rollback()
        existing = bid_for(actor, challenge_id)
        assert existing is not None
        return existing
    audit.record("bid.started", bid, actor=actor,
                 after={"challenge_id": challenge.id, "supplier_id": bid.supplier_id})
    db.session.commit()
    return bid


@dataclass
class RequirementAnswer:
    met: bool | None
    evidence: str = ""


@dataclass
class BidChanges:
    """Parts of the working copy to replace; ``None`` leaves a part alone."""

    answers: dict[int, str] | None = None
    requirements: dict[int, RequirementAnswer] | None = None
    price: str | Decimal | None = None
    set_price: bool = False
    team: str | None = None
    availability: str | None = None
    has_conflict: bool | None = None
    conflict_details: str | None = None
    set_conflict: bool = False
    terms_accepted: bool | None = None


def parse_price(value: str | Decimal | None) -> Decimal | None:
    """A price in pounds ("£12,500.50", "12500"), or None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().replace(",", "").removeprefix("£").strip()
    # Plain pounds and pence only: Decimal() alone would also read "1e3" as £1,000, "1_000",
    # and digits of other scripts.
    if not isinstance(value, Decimal) and not PRICE_RE.fullmatch(text):
        raise ValidationFailed("Enter the price in pounds, like 12500 or £12,500.50",
                               field="price")
    try:
        price = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed("Enter the price in pounds, like 12500 or £12,500.50",
                               field="price") from exc
    if not price.is_finite():
        raise ValidationFailed("Enter the price in pounds, like 12500", field="price")
    if price < 0 or text.startswith("-"):
        raise ValidationFailed("Price cannot be negative", field="price")
    if price >= Decimal("1e10"):
        raise ValidationFailed("Price must be less than £10,000,000,000", field="price")
    if price != price.quantize(Decimal("0.01")):
        raise ValidationFailed("Price can have at most 2 decimal places (pence)", field="price")
    return price.quantize(Decimal("0.01"))


def _changed_sections(bid: Bid, changes: BidChanges) -> list[str]:
    sections = []
    if changes.answers is not None:
        sections.append("answers")
    if changes.requirements is not None:
        sections.append("requirements")
    if changes.set_price:
        sections.append("price")
    if changes.team is not None or changes.availability is not None:
        sections.append("team")
    if changes.set_conflict or changes.terms_accepted is not None:
        sections.append("declarations")
    return sections


def _as_id(value: int | str) -> int | None:
    """An id sent by a form, or None when it is not a number (then it matches nothing)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transactional
def save_bid(actor: User, bid_id: int, changes: BidChanges) -> Bid:
    """Save part of the working copy (the draft is saved at every step)."""
    bid = _own_bid(actor, bid_id, lock=True)
    now = utcnow()
    _require_open(bid, now)
    challenge = bid.challenge
    before = snapshot(bid)
    if changes.answers is not None:
        criteria = {c.id: c for c in challenge.criteria}
        answers = dict(bid.answers or {})
        for criterion_id, text in changes.answers.items():
            criterion = criteria.get(_as_id(criterion_id))
            if criterion is None:
                raise ValidationFailed("Answer the published criteria only", field="answers")
            words = word_count(text)
            if words > criterion.word_limit:
                raise ValidationFailed(
                    f"Your answer to ‘{criterion.name}’ has {words} words; the limit is "
                    f"{criterion.word_limit}", field=f"answer_{criterion.id}")
            answers[str(criterion.id)] = (text or "").strip()
        bid.answers = answers
    if changes.requirements is not None:
        known = {r.id for r in challenge.requirements}
        responses = dict(bid.requirements or {})
        for requirement_id, answer in changes.requirements.items():
            if _as_id(requirement_id) not in known:
                raise ValidationFailed("Respond to the published requirements only",
                                       field="requirements")
            evidence = (answer.evidence or "").strip()
            if len(evidence) > 5000:
                raise ValidationFailed("Evidence must be 5,000 characters or fewer",
                                       field=f"requirement_{requirement_id}")
            responses[str(requirement_id)] = {"met": answer.met, "evidence": evidence}
        bid.requirements = responses
    if changes.set_price:
        bid.price = parse_price(changes.price)
    if changes.team is not None:
        bid.team = changes.team.strip()
    if changes.availability is not None:
        bid.availability = changes.availability.strip()
    if changes.set_conflict:
        bid.has_conflict = changes.has_conflict
        bid.conflict_details = (changes.conflict_details or "").strip()
    if changes.terms_accepted is not None:
        bid.terms_accepted = changes.terms_accepted
    if snapshot(bid) == before:
        return bid  # Nothing changed: a submitted bid stays "submitted".
    bid.changed_at = now
    # The audit trail records what changed, never what the bid says (it is sealed).
    audit.record("bid.saved", bid, actor=actor, after={"sections": _changed_sections(bid,
                                                                                    changes)})
    return bid


def problems(bid: Bid) -> list[tuple[str, str]]:
    """What stops the working copy being submitted, as (field, message) pairs."""
    found: list[tuple[str, str]] = []
    challenge = bid.challenge
    answers = bid.answers or {}
    for criterion in challenge.criteria:
        text = answers.get(str(criterion.id), "")
        if not text.strip():
            found.append((f"answer_{criterion.id}", f"Answer ‘{criterion.name}’"))
        elif word_count(text) > criterion.word_limit:
            found.append((f"answer_{criterion.id}",
                          f"Shorten your answer to ‘{criterion.name}’ to "
                          f"{criterion.word_limit} words"))
    responses = bid.requirements or {}
    for requirement in challenge.essential_requirements:
        response = responses.get(str(requirement.id)) or {}
        if response.get("met") is not True:
            found.append((f"requirement_{requirement.id}",
                          f"Confirm you meet the essential requirement ‘{requirement.text}’"))
        elif not (response.get("evidence") or "").strip():
            found.append((f"requirement_{requirement.id}",
                          f"Give evidence for ‘{requirement.text}’"))
    for requirement in challenge.nice_to_haves:
        response = responses.get(str(requirement.id)) or {}
        if response.get("met") is None:
            found.append((f"requirement_{requirement.id}",
                          f"Say whether you offer ‘{requirement.text}’"))
        elif response.get("met") and not (response.get("evidence") or "").strip():
            found.append((f"requirement_{requirement.id}",
                          f"Give evidence for ‘{requirement.text}’"))
    if bid.price is None:
        found.append(("price", "Enter your price"))
    if not bid.team:
        found.append(("team", "Describe your team"))
    if not bid.availability:
        found.append(("availability", "Say when your team is available"))
    if bid.has_conflict is None:
        found.append(("has_conflict", "Declare whether you have a conflict of interest"))
    elif bid.has_conflict and not bid.conflict_details:
        found.append(("conflict_details", "Describe the conflict of interest"))
    if not bid.terms_accepted:
        found.append(("terms_accepted", "Accept the terms to submit"))
    return found


def price_warning(bid: Bid) -> str | None:
    """A warning (not an error) when the price is above the published maximum budget."""
    budget = bid.challenge.budget_max
    if bid.price is not None and budget is not None and bid.price > budget:
        return (f"Your price of £{bid.price:,.2f} is above the maximum budget of £{budget:,}. "
                "You can still submit it")
    return None


def snapshot(bid: Bid) -> dict[str, Any]:
    """The content of a submission, frozen into its version."""
    return {
        "answers": dict(bid.answers or {}),
        "requirements": dict(bid.requirements or {}),
        "price": str(bid.price) if bid.price is not None else None,
        "team": bid.team,
        "availability": bid.availability,
        "has_conflict": bid.has_conflict,
        "conflict_details": bid.conflict_details,
        "terms_accepted": bid.terms_accepted,
        "attachments": [{"id": a.id, "name": a.original_name, "sha256": a.sha256,
                         "size": a.size_bytes} for a in bid.current_attachments],
    }


@transactional
def submit_bid(actor: User, bid_id: int) -> BidVersion:
    """Submit (or resubmit) the working copy before the deadline and issue a receipt."""
    bid = _own_bid(actor, bid_id, lock=True)
    now = utcnow()
    _require_open(bid, now)
    refuse_if_any(problems(bid))
    number = bid.submitted_version + 1
    version = BidVersion(bid=bid, number=number, received_at=now, submitted_by_id=actor.id,
                         content=snapshot(bid),
                         receipt=f"R{bid.challenge_id}-{bid.id}-{number}-"
                                 f"{secrets.token_hex(4).upper()}")
    db.session.add(version)
    was_withdrawn = bid.withdrawn_at is not None
    bid.submitted_version = number
    bid.submitted_at = now
    bid.withdrawn_at = None
    if bid.changed_at > now:
        bid.changed_at = now
    db.session.flush()
    audit.record("bid.submitted", bid, actor=actor,
                 after={"version": number, "received_at": now.isoformat(),
                        "receipt": version.receipt, "resubmitted_after_withdrawal":
                        was_withdrawn})
    queue_email(actor.email, "bid_receipt", user=actor, bid=bid, version=version,
                challenge=bid.challenge,
                link=absolute_url("bids.receipt", bid_id=bid.id, number=number))
    return version


@transactional
def withdraw_bid(actor: User, bid_id: int) -> Bid:
    """Withdraw a submitted bid before the deadline (it can be submitted again)."""
    bid = _own_bid(actor, bid_id, lock=True)
    now = utcnow()
    _require_open(bid, now)
    if bid.submitted_at is None or bid.withdrawn_at is not None:
        raise Conflict("Only a submitted bid can be withdrawn")
    bid.withdrawn_at = now
    audit.record("bid.withdrawn", bid, actor=actor, before={"status": "submitted"},
                 after={"status": "withdrawn"})
    queue_email(actor.email, "bid_withdrawn", user=actor, bid=bid, challenge=bid.challenge,
                link=absolute_url("challenges.detail", challenge_id=bid.challenge_id))
    return bid


def receipt(actor: User, bid_id: int, number: int) -> BidVersion:
    """A submission receipt of the actor's organisation."""
    bid = _own_bid(actor, bid_id)
    version = db.session.scalar(select(BidVersion).where(BidVersion.bid_id == bid.id,
                                                         BidVersion.number == number))
    if version is None:
        raise NotFound("Receipt not found")
    return version


# Attachments ---------------------------------------------------------------------------------

def upload_dir() -> Path:
    """Where attachments live: outside the web root (the instance folder by default)."""
    configured = current_app.config.get("UPLOAD_FOLDER")
    path = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_pdf(data: bytes) -> None:
    """Refuse anything that is not really a PDF (by content, whatever its name)."""
    if len(data) == 0:
        raise ValidationFailed("The selected file is empty", field="attachment")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed("The selected file must be smaller than 10MB", field="attachment")
    if not data.lstrip(b"\r\n\t ")[:5] == b"%PDF-":
        raise ValidationFailed("The selected file must be a PDF", field="attachment")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = len(reader.pages)
    # PyPdfError, not just PdfReadError: a malformed file can also raise LimitReachedError
    # (a self-referencing page tree, an absurd declared size), which must not become a 500.
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            RecursionError) as exc:
        raise ValidationFailed("The selected file is not a valid PDF", field="attachment") \
            from exc
    if pages < 1:
        raise ValidationFailed("The selected file is not a valid PDF", field="attachment")


def _clean_name(name: str | None) -> str:
    base = Path((name or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ()]+", "_", base).strip(" .") or "attachment"
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    return base[-200:]


@transactional
def add_attachment(actor: User, bid_id: int, filename: str | None, stream: IO[bytes]
                   ) -> BidAttachment:
    """Store a PDF with the bid's working copy under a generated name."""
    bid = _own_bid(actor, bid_id, lock=True)
    now = utcnow()
    _require_open(bid, now)
    if len(bid.current_attachments) >= MAX_ATTACHMENTS:
        raise ValidationFailed(f"A bid can have at most {MAX_ATTACHMENTS} attachments",
                               field="attachment")
    data = stream.read(MAX_ATTACHMENT_BYTES + 1)
    check_pdf(data)
    stored = secrets.token_hex(16) + ".pdf"
    target = upload_dir() / stored
    target.write_bytes(data)
    attachment = BidAttachment(bid=bid, original_name=_clean_name(filename), stored_name=stored,
                               size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                               uploaded_by_id=actor.id)
    db.session.add(attachment)
    bid.changed_at = now
    db.session.flush()
    audit.record("bid.attachment_added", bid, actor=actor,
                 after={"attachment_id": attachment.id, "sha256": attachment.sha256,
                        "size": attachment.size_bytes})
    return attachment


@transactional
def remove_attachment(actor: User, attachment_id: int) -> None:
    attachment = db.session.get(BidAttachment, attachment_id)
    if attachment is None or attachment.removed_at is not None:
        raise NotFound("Attachment not found")
    bid = _own_bid(actor, attachment.bid_id, lock=True)
    now = utcnow()
    _require_open(bid, now)
    audit.record("bid.attachment_removed", bid, actor=actor,
                 before={"attachment_id": attachment.id, "sha256": attachment.sha256})
    # The row and file stay: a submitted version may refer to them by id and checksum.
    attachment.removed_at = now
    bid.changed_at = now


# What councils may see -----------------------------------------------------------------------

def submitted_count(challenge: Challenge) -> int:
    """How many bids are currently submitted: the only fact councils see before the deadline."""
    return db.session.scalar(
        select(func.count(Bid.id)).where(Bid.challenge_id == challenge.id,
                                         Bid.submitted_at.is_not(None),
                                         Bid.withdrawn_at.is_(None))) or 0


def _refuse(actor: User, challenge: Challenge, what: str) -> None:
    """Record a refused attempt to open sealed bids (in its own transaction), then refuse."""
    db.session.rollback()
    audit.record("bid.access_refused", challenge, actor=actor,
                 organisation=actor.organisation_id, after={"attempted": what})
    db.session.commit()


def may_open_bids(actor: User | None, challenge: Challenge, now: datetime | None = None) -> bool:
    """The challenge's procurement officers may read its bids once, after the deadline, they
    have opened them (started the evaluation)."""
    now = now or utcnow()
    deadline = challenge.submission_deadline
    return bool(
        challenge_service.is_officer_for(actor, challenge)
        and challenge.is_published and deadline is not None and now >= deadline
        and challenge.evaluation_started_at is not None
    )


def _council_access(actor: User, challenge: Challenge, what: str) -> None:
    if not challenge_service.is_sponsor_member(actor, challenge):
        _refuse(actor, challenge, what)
        raise NotFound("Challenge not found")
    if not may_open_bids(actor, challenge):
        _refuse(actor, challenge, what)
        raise PermissionDenied("Bids are sealed until the submission deadline and until a "
                               "procurement officer of the challenge opens them")


def _evaluates_bid(actor: User, bid: Bid) -> bool:
    """True for an active evaluator of the bid's opened challenge who declared no conflict of
    interest with this bid."""
    challenge = bid.challenge
    if challenge.evaluation_started_at is None:
        return False
    assignment = evaluation.active_assignment(actor, challenge)
    if assignment is None:
        return False
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.assignment_id == assignment.id,
                                                       ScoreSheet.bid_id == bid.id))
    return sheet is not None and not sheet.has_conflict


def bids_for_council(actor: User, challenge_id: int) -> list[Bid]:
    """Submitted bids of a closed challenge, for its procurement officers."""
    challenge = challenge_service.get_challenge(challenge_id, actor)
    _council_access(actor, challenge, "list bids")
    return list(db.session.scalars(
        select(Bid).where(Bid.challenge_id == challenge.id, Bid.submitted_at.is_not(None),
                          Bid.withdrawn_at.is_(None)).order_by(Bid.submitted_at)
        .options(selectinload(Bid.supplier))))


def submitted_versions(bids: list[Bid]) -> dict[int, BidVersion]:
    """Each bid's last submitted version, by bid id, in one query."""
    if not bids:
        return {}
    return {v.bid_id: v for v in db.session.scalars(
        select(BidVersion).join(Bid, Bid.id == BidVersion.bid_id)
        .where(Bid.id.in_([b.id for b in bids]),
               BidVersion.number == Bid.submitted_version))}


@transactional
def open_bids_for_council(actor: User, challenge_id: int, offset: int, limit: int,
                          render: Callable[[Bid, BidVersion], T]) -> tuple[int, list[T]]:
    """The number of submitted bids and one slice of them, each with its last submitted
    version passed through ``render``, for the challenge's procurement officers after the
    deadline: like ``open_bid_for_council`` for each bid of the slice (each opening is
    audited), in a few queries for the whole slice. ``render`` runs before the commit, which
    expires the loaded rows."""
    bids = bids_for_council(actor, challenge_id)
    chosen = bids[offset:offset + limit]
    versions = submitted_versions(chosen)
    audit.record_many("bid.opened", Bid.__tablename__,
                      {bid.id: {"version": versions[bid.id].number} for bid in chosen},
                      actor=actor, organisation=actor.organisation_id)
    return len(bids), [render(bid, versions[bid.id]) for bid in chosen]


@transactional
def open_bid_for_council(actor: User, bid_id: int) -> tuple[Bid, BidVersion]:
    """The last submitted version of a bid, for the challenge's procurement officers after the
    deadline. Each opening is audited."""
    bid = db.session.get(Bid, bid_id)
    if bid is None:
        raise NotFound("Bid not found")
    _council_access(actor, bid.challenge, f"open bid {bid_id}")
    if bid.submitted_at is None or bid.withdrawn_at is not None:
        raise NotFound("Bid not found")
    version = db.session.scalar(select(BidVersion).where(
        BidVersion.bid_id == bid.id, BidVersion.number == bid.submitted_version))
    assert version is not None
    audit.record("bid.opened", bid, actor=actor, organisation=actor.organisation_id,
                 after={"version": version.number})
    return bid, version


def attachment_for_download(actor: User, attachment_id: int) -> tuple[BidAttachment, Path]:
    """An attachment the actor may download: their own organisation's, or, once the bids are
    opened, one in the submitted version of a bid on a challenge they are procurement officer
    for, or of a bid they evaluate (having declared no conflict of interest with it)."""
    attachment = db.session.get(BidAttachment, attachment_id)
    if attachment is None:
        raise NotFound("Attachment not found")
    bid = attachment.bid
    if (actor.organisation_id == bid.supplier_id and actor.is_active
            and actor.has_role(*BIDDER_ROLES)):
        # The supplier's own files: the working copy and every version it submitted.
        return attachment, upload_dir() / attachment.stored_name
    if not _evaluates_bid(actor, bid):
        _council_access(actor, bid.challenge, f"download attachment {attachment_id}")
    submitted = db.session.scalar(select(BidVersion).where(
        BidVersion.bid_id == bid.id, BidVersion.number == bid.submitted_version))
    ids = {a["id"] for a in (submitted.content.get("attachments", []) if submitted else [])}
    if bid.withdrawn_at is not None or attachment.id not in ids:
        raise NotFound("Attachment not found")
    audit.record("bid.attachment_downloaded", bid, actor=actor,
                 organisation=actor.organisation_id, after={"attachment_id": attachment.id})
    db.session.commit()
    return attachment, upload_dir() / attachment.stored_name
