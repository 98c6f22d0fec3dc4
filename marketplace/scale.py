"""``flask --app marketplace load-scale``: fill an empty database with a realistic scale set.

The defaults are the production-scale set used by ``make prod-local`` and ``make loadtest``:
10,000 challenges in every lifecycle state, 100,000 listed suppliers (profiles, case studies
and certifications from the matching benchmark's development set), 200,000 bids (drafts,
submitted with their frozen versions, changed and withdrawn, never on unpublished challenges
and submitted only before the deadline), 30,000 people, the evaluation rows of challenges whose
bids were opened, and the audit history of all of it.

It reuses the benchmark generators (:func:`marketplace.bench_search._rows` for challenge text,
:func:`marketplace.bench_suggestions.insert_suppliers` for suppliers) and inserts with bulk
Core statements. Every person has the same password, hashed once. The sign-ins the load test
uses are written as JSON (``instance/load-scale.json`` by default); they are re-derived from
the database when it is already loaded, so the file never drifts from the data.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import func, insert, select, text

from marketplace.bench_search import COUNCILS, _rows, child_rows

SCALE_PASSWORD = "load-scale-Password-2026"  # noqa: S105 (a load-test data set)
ADMIN_EMAIL = "admin@scale.example.org"
BATCH = 5_000

# State -> share of challenges (per cent). The first challenges take one state each so a tiny
# set still has every state.
STATE_WEIGHTS: dict[str, int] = {
    "draft": 4, "awaiting_approval": 2, "approved": 1, "open": 40, "closed": 10,
    "evaluation": 12, "standstill": 3, "awarded": 18, "no_suitable_supplier": 4,
    "withdrawn": 3, "cancelled": 3,
}
UNPUBLISHED = {"draft", "awaiting_approval", "approved"}
OPENED = {"evaluation", "standstill", "awarded", "no_suitable_supplier"}
DECIDED = {"standstill", "awarded"}

PLACE_HEADS = ("North", "East", "West", "South", "Upper", "Lower", "Great", "Little", "Old",
               "New", "King's", "Market")
PLACE_TAILS = ("bridge", "moor", "haven", "field", "mere", "cliff", "dale", "ford", "hurst",
               "gate", "wick", "ton", "bury", "ham", "ley", "worth", "stead", "combe", "port",
               "chester")
COUNCIL_KINDS = ("City Council", "District Council", "Borough Council", "County Council")
FIRST_NAMES = ("Amira", "Ben", "Chloe", "Dev", "Ella", "Femi", "Grace", "Hamza", "Isla", "Jack",
               "Kiran", "Leah", "Mo", "Nia", "Owen", "Priya", "Rhys", "Sara", "Tom", "Zara")
LAST_NAMES = ("Ahmed", "Brown", "Clarke", "Davies", "Evans", "Khan", "Jones", "Lewis", "Patel",
              "Roberts", "Smith", "Taylor", "Walker", "Williams", "Wilson", "Wright")
ANSWER_LINES = (
    "We have delivered similar work for three councils and cut costs by a fifth.",
    "Our approach starts with two weeks of user research with residents and staff.",
    "We would run a small pilot in one ward, measure the results and then scale.",
    "The team has built and supported services used by over a million people.",
    "We price the discovery at a fixed fee and the pilot at day rates, capped.",
    "All data stays in the UK and we hold Cyber Essentials Plus.",
)
COUNCIL_ROLES = (("officer", ("procurement_officer", "challenge_owner")),
                 ("owner", ("challenge_owner",)), ("evaluator", ("evaluator",)),
                 ("admin", ("org_admin",)))


@dataclass
class ScaleResult:
    counts: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    bid_states: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n


def _bulk(model: Any, rows: list[dict[str, Any]], result: ScaleResult) -> None:
    """Insert rows with executemany in batches, then clear the list."""
    from marketplace.extensions import db

    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])
    result.add(model.__tablename__, len(rows))
    rows.clear()


def _next_id(model: Any) -> int:
    from marketplace.extensions import db

    return int(db.session.scalar(select(func.coalesce(func.max(model.id), 0)))) + 1


def _council_names(n: int) -> list[str]:
    names = list(COUNCILS[:n])
    for kind in COUNCIL_KINDS:
        for head in PLACE_HEADS:
            for tail in PLACE_TAILS:
                if len(names) >= n:
                    return names
                names.append(f"{head} {tail.capitalize()} {kind}".replace("King's ", "Kings"))
    return names[:n]


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower().split(" council")[0] if ch.isalnum())


def _states(n: int, rng: random.Random) -> list[str]:
    names = list(STATE_WEIGHTS)
    chosen = names[:n]
    chosen += rng.choices(names, weights=list(STATE_WEIGHTS.values()), k=max(0, n - len(names)))
    return chosen


def _days(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(days=rng.uniform(low, high))


def _set_state(row: dict[str, Any], state: str, rng: random.Random, now: datetime,
               people: dict[str, int]) -> None:
    """Rewrite a challenge row's lifecycle timestamps so that it is in ``state`` at ``now``."""
    for key in ("submitted_at", "approved_at", "published_at", "evaluation_started_at",
                "shortlisted_at", "award_decided_at", "awarded_at", "no_suitable_supplier_at",
                "withdrawn_at", "cancelled_at", "end_reason", "submitted_by_id",
                "approved_by_id", "award_decided_by_id"):
        row[key] = None
    row["created_by_id"] = people["owner"]
    if state in UNPUBLISHED:
        created = now - _days(rng, 1, 60)
        deadline = now + _days(rng, 20, 90)
        row["created_at"] = created
        if state != "draft":
            row["submitted_at"] = created + (now - created) * rng.uniform(0.3, 0.6)
            row["submitted_by_id"] = people["owner"]
        if state == "approved":
            row["approved_at"] = row["submitted_at"] + (now - row["submitted_at"]) * 0.5
            row["approved_by_id"] = people["officer"]
    else:
        if state == "open":
            published, deadline = now - _days(rng, 1, 40), now + _days(rng, 0.5, 60)
        elif state == "closed":
            deadline = now - _days(rng, 0.2, 20)
        elif state == "evaluation":
            deadline = now - _days(rng, 2, 60)
        elif state == "standstill":
            deadline = now - _days(rng, 20, 90)
        elif state == "awarded":
            deadline = now - _days(rng, 40, 380)
        elif state == "no_suitable_supplier":
            deadline = now - _days(rng, 20, 200)
        elif state == "withdrawn":
            published = now - _days(rng, 5, 120)
            deadline = published + _days(rng, 20, 60)
        else:  # cancelled
            published = now - _days(rng, 20, 200)
            deadline = published + _days(rng, 14, 45)
        if state not in {"open", "withdrawn", "cancelled"}:
            published = deadline - _days(rng, 14, 60)
        row["published_at"] = published
        row["created_at"] = published - timedelta(days=10)
        row["submitted_at"] = published - timedelta(days=3)
        row["submitted_by_id"] = people["owner"]
        row["approved_at"] = published - timedelta(days=1)
        row["approved_by_id"] = people["officer"]
        if state in OPENED:
            row["evaluation_started_at"] = deadline + timedelta(hours=rng.uniform(1, 40))
        if state == "standstill":
            row["shortlisted_at"] = row["evaluation_started_at"] + timedelta(days=7)
            row["award_decided_at"] = now - _days(rng, 0.1, 7)
            row["awarded_at"] = row["award_decided_at"] + timedelta(days=12)
        elif state == "awarded":
            row["shortlisted_at"] = row["evaluation_started_at"] + timedelta(days=7)
            row["award_decided_at"] = row["shortlisted_at"] + timedelta(days=7)
            row["awarded_at"] = row["award_decided_at"] + timedelta(days=12)
        elif state == "no_suitable_supplier":
            row["no_suitable_supplier_at"] = row["evaluation_started_at"] + _days(rng, 5, 15)
        elif state == "withdrawn":
            end = min(now, deadline)
            row["withdrawn_at"] = published + (end - published) * rng.uniform(0.2, 0.9)
            row["end_reason"] = "The budget for this work has been withdrawn."
        elif state == "cancelled":
            end = min(now, deadline + timedelta(days=20))
            row["cancelled_at"] = published + (end - published) * rng.uniform(0.2, 0.95)
            row["end_reason"] = "The council has decided to meet this need another way."
        if row["award_decided_at"] is not None:
            row["award_decided_by_id"] = people["officer"]
    row["submission_deadline"] = deadline
    row["clarification_deadline"] = deadline - timedelta(days=7)
    row["expected_award_date"] = (deadline + timedelta(days=30)).date()
    stamps = [v for k, v in row.items() if k.endswith("_at") and isinstance(v, datetime)
              and v <= now]
    row["updated_at"] = max(stamps)


def _audit(rows: list[dict[str, Any]], action: str, when: datetime, actor: tuple[int, str],
           org_id: int | None, object_type: str, object_id: int,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    rows.append({"occurred_at": when, "actor_id": actor[0], "actor_label": actor[1],
                 "organisation_id": org_id, "action": action, "object_type": object_type,
                 "object_id": str(object_id), "before": before, "after": after, "ip": None})


def _challenge_audit(rows: list[dict[str, Any]], row: dict[str, Any], state: str,
                     people: dict[str, tuple[int, str]]) -> None:
    cid, org = row["id"], row["lead_council_id"]
    owner, officer = people["owner"], people["officer"]
    _audit(rows, "challenge.created", row["created_at"], owner, org, "challenge", cid,
           after={"title": row["title"]})
    if row["submitted_at"]:
        _audit(rows, "challenge.submitted_for_approval", row["submitted_at"], owner, org,
               "challenge", cid, {"status": "draft"}, {"status": "awaiting_approval"})
    if row["approved_at"]:
        _audit(rows, "challenge.approved", row["approved_at"], officer, org, "challenge", cid,
               {"status": "awaiting_approval"}, {"status": "approved"})
    if row["published_at"]:
        _audit(rows, "challenge.published", row["published_at"], officer, org, "challenge",
               cid, {"status": "approved"}, {"status": "open"})
    if row["evaluation_started_at"]:
        _audit(rows, "evaluation.bids_opened", row["evaluation_started_at"], officer, org,
               "challenge", cid, {"opened": False}, {"opened": True})
    if row["shortlisted_at"]:
        _audit(rows, "evaluation.shortlisted", row["shortlisted_at"], officer, org,
               "challenge", cid)
    if row["award_decided_at"]:
        _audit(rows, "challenge.award_decided", row["award_decided_at"], officer, org,
               "challenge", cid, {"status": "evaluation"}, {"status": "standstill"})
    for column, action, before in (("no_suitable_supplier_at", "challenge.no_suitable_supplier",
                                    "evaluation"),
                                   ("withdrawn_at", "challenge.withdrawn", "open"),
                                   ("cancelled_at", "challenge.cancelled", "open")):
        if row[column]:
            _audit(rows, action, row[column], officer, org, "challenge", cid,
                   {"status": before}, {"status": state})


def _answer(rng: random.Random) -> str:
    return " ".join(rng.sample(ANSWER_LINES, 2))


def _bid_kind(state: str, rng: random.Random) -> str:
    draw = rng.random()
    if state == "open":
        return ("draft" if draw < 0.45 else "submitted" if draw < 0.85
                else "changed" if draw < 0.93 else "withdrawn")
    if state in {"withdrawn", "cancelled"}:
        return "draft" if draw < 0.45 else "submitted" if draw < 0.95 else "withdrawn"
    return "draft" if draw < 0.17 else "submitted" if draw < 0.95 else "withdrawn"


@dataclass
class _Spec:
    """What one challenge needs for its bids."""

    id: int
    state: str
    org_id: int
    published: datetime
    deadline: datetime
    end: datetime  # bids change before this moment
    budget: int
    criteria: list[int]
    essential: list[int]
    nice: list[int]
    evaluator: tuple[int, str]
    officer: tuple[int, str]
    opened: datetime | None
    shortlisted: datetime | None
    decided: datetime | None


def _bid_rows(spec: _Spec, suppliers: list[int], bidders: dict[int, tuple[int, str]],
              first_id: int, rng: random.Random, now: datetime, out: dict[str, list[Any]],
              result: ScaleResult) -> int:
    """Bids (with versions, audit and evaluation rows) for one challenge; returns the next id."""
    bid_id = first_id
    submitted_ids: list[tuple[int, Decimal]] = []
    window = spec.end - spec.published
    for position, supplier_id in enumerate(suppliers):
        kind = "submitted" if spec.state in DECIDED and position == 0 else _bid_kind(
            spec.state, rng)
        user = bidders.get(supplier_id, (None, "system"))
        created = spec.published + window * rng.uniform(0.02, 0.6)
        price = Decimal(rng.randrange(max(1, spec.budget // 10), max(2, spec.budget),
                                      100)).quantize(Decimal("1.00"))
        complete = kind != "draft" or rng.random() < 0.3
        answers = {str(c): _answer(rng) for c in spec.criteria}
        if not complete:
            answers = dict(list(answers.items())[:rng.randint(0, len(answers))])
        requirements = {str(r): {"met": True, "evidence": "We did this for Northbridge."}
                        for r in spec.essential}
        requirements.update({str(r): {"met": rng.random() < 0.6, "evidence": ""}
                             for r in spec.nice})
        bid: dict[str, Any] = {
            "id": bid_id, "challenge_id": spec.id, "supplier_id": supplier_id,
            "created_by_id": user[0], "created_at": created, "answers": answers,
            "requirements": requirements if complete else {},
            "price": price if complete else None,
            "team": "Two senior consultants and a developer." if complete else "",
            "availability": "We could start within two weeks." if complete else "",
            "has_conflict": False if complete else None, "conflict_details": "",
            "terms_accepted": complete, "submitted_at": None, "submitted_version": 0,
            "withdrawn_at": None, "changed_at": created,
        }
        _audit(out["audit"], "bid.started", created, user, supplier_id, "bid", bid_id,
               after={"challenge_id": spec.id, "supplier_id": supplier_id})
        if kind == "draft":
            bid["changed_at"] = created + (spec.end - created) * rng.uniform(0.1, 0.9)
        else:
            versions = 2 if rng.random() < 0.2 else 1
            moments = sorted(created + (spec.end - created) * rng.uniform(0.1, 0.97)
                             for _ in range(versions + 1))
            content = {"answers": answers, "requirements": bid["requirements"],
                       "price": str(price), "team": bid["team"],
                       "availability": bid["availability"], "has_conflict": False,
                       "conflict_details": "", "terms_accepted": True, "attachments": []}
            for number in range(1, versions + 1):
                received = moments[number - 1]
                receipt = f"R{spec.id}-{bid_id}-{number}-{rng.getrandbits(32):08X}"
                out["versions"].append({"bid_id": bid_id, "number": number,
                                        "received_at": received, "submitted_by_id": user[0],
                                        "content": content, "receipt": receipt})
                _audit(out["audit"], "bid.submitted", received, user, supplier_id, "bid",
                       bid_id, after={"version": number, "received_at": received.isoformat(),
                                      "receipt": receipt,
                                      "resubmitted_after_withdrawal": False})
            bid["submitted_at"] = moments[versions - 1]
            bid["submitted_version"] = versions
            bid["changed_at"] = bid["submitted_at"]
            if kind == "changed":
                bid["changed_at"] = moments[versions]
            elif kind == "withdrawn":
                bid["withdrawn_at"] = moments[versions]
                _audit(out["audit"], "bid.withdrawn", moments[versions], user, supplier_id,
                       "bid", bid_id, {"status": "submitted"}, {"status": "withdrawn"})
            else:
                submitted_ids.append((bid_id, price))
        out["bids"].append(bid)
        result.bid_states[kind] = result.bid_states.get(kind, 0) + 1
        bid_id += 1
    if spec.opened is not None:
        _evaluation_rows(spec, submitted_ids, rng, out)
    return bid_id


def _evaluation_rows(spec: _Spec, submitted: list[tuple[int, Decimal]], rng: random.Random,
                     out: dict[str, list[Any]]) -> None:
    """Opened bids: an assessment for each submitted bid and the council's evaluator; after a
    decision, the shortlist (up to three), moderated scores for it and one award."""
    out["assignments"].append({"challenge_id": spec.id, "user_id": spec.evaluator[0],
                               "assigned_by_id": spec.officer[0],
                               "assigned_at": spec.opened + timedelta(hours=1)})
    shortlist = {bid_id for bid_id, _ in submitted[:3]} if spec.shortlisted else set()
    for position, (bid_id, price) in enumerate(submitted):
        chosen = bid_id in shortlist
        awarded = spec.decided is not None and position == 0
        out["assessments"].append({
            "bid_id": bid_id, "challenge_id": spec.id, "excluded_at": None,
            "excluded_by_id": None, "exclusion_reason": None,
            "shortlisted_at": spec.shortlisted if chosen else None, "interview_at": None,
            "interview_notes": "", "awarded": awarded,
            "award_value": price if awarded else None})
        if chosen:
            for criterion in spec.criteria:
                out["moderated"].append({
                    "bid_id": bid_id, "criterion_id": criterion, "score": rng.randint(1, 4),
                    "rationale": "Clear evidence of similar work; the plan is realistic.",
                    "moderated_by_id": spec.officer[0], "moderated_at": spec.shortlisted})


def _allocate(total: int, weights: list[float], need_one: list[bool], cap: int) -> list[int]:
    """Split ``total`` bids over challenges in proportion to their weights (largest
    remainders), at least one where ``need_one``, at most ``cap`` each."""
    if not weights:
        return []
    whole = sum(weights)
    quotas = [total * w / whole for w in weights]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - quotas[i])
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    for i, need in enumerate(need_one):
        if need and counts[i] == 0:
            counts[i] = 1
            biggest = max(range(len(counts)), key=counts.__getitem__)
            if counts[biggest] > 1:
                counts[biggest] -= 1
    return [min(cap, c) for c in counts]


def load_scale(challenges: int = 10_000, suppliers: int = 100_000, bids: int = 200_000,
               users: int = 30_000, seed: int = 7,
               echo: Callable[[str], None] = click.echo) -> ScaleResult:
    """Insert the scale set into an empty, migrated database (see the module docstring)."""
    from marketplace import security
    from marketplace.bench_matching import DEFAULT_DATASET, load_json
    from marketplace.bench_suggestions import Dataset, insert_suppliers
    from marketplace.extensions import db
    from marketplace.models import (
        AuditEvent,
        Bid,
        BidAssessment,
        BidVersion,
        Challenge,
        ChallengeCpv,
        ChallengeOutcome,
        ChallengeRequirement,
        ChallengeStage,
        EvaluationCriterion,
        EvaluatorAssignment,
        ModeratedScore,
        Organisation,
        User,
        UserRole,
    )

    started = time.perf_counter()
    result = ScaleResult()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    password_hash = security.hash_password(SCALE_PASSWORD)

    # Councils and their people ---------------------------------------------------------------
    n_councils = max(3, min(400, challenges // 25))
    names = _council_names(n_councils)
    council_ids = list(db.session.scalars(
        insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
        [{"kind": "council", "name": name, "name_key": Organisation.key_for(name),
          "status": "verified", "verified_at": now - timedelta(days=500),
          "created_at": now - timedelta(days=500)} for name in names]))
    council_names = dict(zip(council_ids, names, strict=True))
    result.add("organisation", len(council_ids))

    user_id = _next_id(User)
    user_rows: list[dict[str, Any]] = []
    role_rows: list[dict[str, Any]] = []

    def person(email: str, org_id: int | None, roles: Iterable[str], admin: bool = False
               ) -> tuple[int, str]:
        nonlocal user_id
        created = now - timedelta(days=rng.uniform(30, 600))
        user_rows.append({
            "id": user_id, "email": email, "organisation_id": org_id,
            "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "password_hash": password_hash, "is_platform_admin": admin,
            "email_verified_at": created, "password_changed_at": created,
            "created_at": created})
        role_rows.extend({"user_id": user_id, "role": role} for role in roles)
        user_id += 1
        return user_id - 1, email

    person(ADMIN_EMAIL, None, (), admin=True)
    council_people: dict[int, dict[str, tuple[int, str]]] = {}
    domains: set[str] = set()
    for org_id, name in council_names.items():
        domain = f"{_slug(name)}.gov.uk"
        if domain in domains:
            domain = f"{_slug(name)}{org_id}.gov.uk"
        domains.add(domain)
        council_people[org_id] = {key: person(f"{key}@{domain}", org_id, roles)
                                  for key, roles in COUNCIL_ROLES}

    # Suppliers (profiles, case studies, certifications, match revision 1) ---------------------
    t0 = time.perf_counter()
    payload = load_json(DEFAULT_DATASET)
    made = Dataset(0, "", 0, "", "", [])
    insert_suppliers(suppliers, seed, payload["suppliers"], made,
                     lambda n: echo(f"  suppliers: {n:,}") if n % 20_000 == 0 else None, now)
    supplier_ids = made.supplier_ids
    result.add("organisation", len(supplier_ids))
    result.add("supplier_profile", len(supplier_ids))
    result.add("case_study", made.case_studies)
    result.add("certification", made.certifications)
    echo(f"Suppliers: {len(supplier_ids):,} in {time.perf_counter() - t0:.1f}s")

    bidders: dict[int, tuple[int, str]] = {}
    remaining = max(0, users - len(user_rows))
    for k in range(remaining):
        org_id = supplier_ids[k % len(supplier_ids)]
        who = person(f"bidder{k + 1}@supplier{org_id}.example.com", org_id,
                     ("bidder", "org_admin") if org_id not in bidders else ("bidder",))
        bidders.setdefault(org_id, who)
    _bulk(User, user_rows, result)
    _bulk(UserRole, role_rows, result)
    db.session.commit()

    # Challenges in every state -------------------------------------------------------------
    t0 = time.perf_counter()
    states = _states(challenges, rng)
    first_challenge = _next_id(Challenge)
    rows: list[dict[str, Any]] = []
    parts: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "cpv", "outcome", "requirement", "stage", "criterion")}
    audit_rows: list[dict[str, Any]] = []
    by_challenge: dict[int, tuple[str, dict[str, Any]]] = {}
    models = {"cpv": ChallengeCpv, "outcome": ChallengeOutcome,
              "requirement": ChallengeRequirement, "stage": ChallengeStage,
              "criterion": EvaluationCriterion}
    for index, (row, children) in enumerate(_rows(challenges, council_ids, council_names,
                                                  seed)):
        row["id"] = first_challenge + index
        state = states[index]
        people = council_people[row["lead_council_id"]]
        _set_state(row, state, rng, now, {k: v[0] for k, v in people.items()})
        result.states[state] = result.states.get(state, 0) + 1
        rows.append(row)
        for kind, found in child_rows(row["id"], children).items():
            parts[kind] += found
        _challenge_audit(audit_rows, row, state, people)
        by_challenge[row["id"]] = (state, {k: row[k] for k in (
            "lead_council_id", "published_at", "submission_deadline", "withdrawn_at",
            "cancelled_at", "budget_max", "evaluation_started_at", "shortlisted_at",
            "award_decided_at")})
        if len(rows) >= BATCH:
            _bulk(Challenge, rows, result)
    _bulk(Challenge, rows, result)
    for kind, model in models.items():
        _bulk(model, parts[kind], result)
    _bulk(AuditEvent, audit_rows, result)
    db.session.commit()
    echo(f"Challenges: {challenges:,} in {time.perf_counter() - t0:.1f}s")

    # Bids, versions, evaluation ------------------------------------------------------------
    t0 = time.perf_counter()
    criteria: dict[int, list[int]] = {}
    for cid, crit in db.session.execute(
            select(EvaluationCriterion.challenge_id, EvaluationCriterion.id)
            .order_by(EvaluationCriterion.challenge_id, EvaluationCriterion.position)):
        criteria.setdefault(cid, []).append(crit)
    essential: dict[int, list[int]] = {}
    nice: dict[int, list[int]] = {}
    for cid, req, kind in db.session.execute(
            select(ChallengeRequirement.challenge_id, ChallengeRequirement.id,
                   ChallengeRequirement.kind)):
        (essential if kind == "essential" else nice).setdefault(cid, []).append(req)

    published = [cid for cid, (state, _r) in by_challenge.items() if state not in UNPUBLISHED]
    pool = sorted(bidders) or supplier_ids
    weights = [rng.uniform(0.2, 1.8) for _ in published]
    out: dict[str, list[Any]] = {k: [] for k in ("bids", "versions", "audit", "assessments",
                                                 "moderated", "assignments")}
    next_bid = _next_id(Bid)

    def flush_bids() -> None:
        _bulk(Bid, out["bids"], result)
        _bulk(BidVersion, out["versions"], result)
        _bulk(BidAssessment, out["assessments"], result)
        _bulk(EvaluatorAssignment, out["assignments"], result)
        _bulk(ModeratedScore, out["moderated"], result)
        _bulk(AuditEvent, out["audit"], result)
        db.session.commit()

    counts = _allocate(bids, weights, [by_challenge[c][0] in DECIDED for c in published],
                       len(pool))
    for cid, count in zip(published, counts, strict=True):
        state, row = by_challenge[cid]
        end = min(t for t in (now, row["submission_deadline"], row["withdrawn_at"],
                              row["cancelled_at"]) if t is not None)
        people = council_people[row["lead_council_id"]]
        spec = _Spec(cid, state, row["lead_council_id"], row["published_at"],
                     row["submission_deadline"], end, row["budget_max"] or 100_000,
                     criteria.get(cid, []), essential.get(cid, []), nice.get(cid, []),
                     people["evaluator"], people["officer"], row["evaluation_started_at"],
                     row["shortlisted_at"], row["award_decided_at"])
        next_bid = _bid_rows(spec, rng.sample(pool, count), bidders, next_bid, rng, now, out,
                             result)
        if len(out["bids"]) >= 20_000:
            flush_bids()
            echo(f"  bids: {next_bid - 1:,}")
    flush_bids()
    echo(f"Bids: {result.counts.get('bid', 0):,} in {time.perf_counter() - t0:.1f}s")

    _after_bulk_load()
    result.seconds = time.perf_counter() - started
    return result


def _after_bulk_load() -> None:
    """On PostgreSQL: move every id sequence past the explicit ids, then ANALYZE."""
    from marketplace.extensions import db

    if db.engine.url.get_backend_name() != "postgresql":
        return
    for table in ("user_account", "challenge", "bid", "organisation"):
        sql = (f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
               f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
        db.session.execute(text(sql))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def is_loaded() -> bool:
    """True when the scale set's platform admin exists (the set was loaded)."""
    from marketplace.extensions import db
    from marketplace.models import User

    return db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is not None


def sign_ins(limit: int = 2_000) -> dict[str, Any]:
    """The load test's sign-ins, read from the database: bidders with a draft bid on an open
    challenge, council officers with an open challenge they lead, and public challenge ids."""
    from marketplace.extensions import db
    from marketplace.models import Bid, Challenge, User, UserRole

    now = datetime.now(UTC)
    status = Challenge.status_sql(now)
    suppliers = db.session.execute(
        select(User.email, func.min(Bid.id)).join(Bid, Bid.supplier_id == User.organisation_id)
        .join(Challenge, Challenge.id == Bid.challenge_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(status == "open", Bid.submitted_at.is_(None), UserRole.role == "bidder",
               User.email.like("bidder%"))
        .group_by(User.email).order_by(User.email).limit(limit)).all()
    councils = db.session.execute(
        select(User.email, func.min(Challenge.id))
        .join(Challenge, Challenge.lead_council_id == User.organisation_id)
        .where(status == "open", User.email.like("officer@%"))
        .group_by(User.email).order_by(User.email).limit(limit)).all()
    public = list(db.session.scalars(
        select(Challenge.id).where(Challenge.published_at.is_not(None))
        .order_by(Challenge.id).limit(limit * 5)))
    return {
        "password": SCALE_PASSWORD,
        "suppliers": [{"email": e, "bid_id": b} for e, b in suppliers],
        "councils": [{"email": e, "challenge_id": c} for e, c in councils],
        "challenge_ids": public,
        "admin": ADMIN_EMAIL,
    }


def write_sign_ins(path: Path) -> dict[str, Any]:
    data = sign_ins()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return data


def register(app: Flask) -> None:
    @app.cli.command("load-scale")
    @click.option("--challenges", default=10_000, show_default=True)
    @click.option("--suppliers", default=100_000, show_default=True)
    @click.option("--bids", default=200_000, show_default=True)
    @click.option("--users", default=30_000, show_default=True)
    @click.option("--seed", default=7, show_default=True)
    @click.option("--sign-ins", "sign_ins_path", type=click.Path(path_type=Path), default=None,
                  help="Where to write the load test's sign-ins (default: "
                       "instance/load-scale.json).")
    def load_scale_command(challenges: int, suppliers: int, bids: int, users: int, seed: int,
                           sign_ins_path: Path | None) -> None:
        """Fill an empty database with the scale set (running it again keeps the data)."""
        from marketplace.extensions import db
        from marketplace.models import Organisation

        if min(challenges, suppliers, users) < 1 or bids < 0:
            raise click.UsageError("--challenges, --suppliers and --users must be at least 1 "
                                   "and --bids at least 0")
        path = sign_ins_path or Path(current_app.instance_path) / "load-scale.json"
        if is_loaded():
            click.echo("Scale data already present; kept it.")
        else:
            if db.session.scalar(select(func.count(Organisation.id))):
                raise click.ClickException("The database already holds other data: give "
                                           "load-scale an empty, migrated database")
            click.echo(f"Database: {db.engine.url.render_as_string(hide_password=True)}")
            made = load_scale(challenges, suppliers, bids, users, seed)
            click.echo(f"\nLoaded the scale set in {made.seconds:.1f}s")
            if db.engine.dialect.name == "postgresql":
                # Fresh statistics and visibility maps for the planner: without them the
                # first minutes after a bulk load run on guessed plans.
                started = time.perf_counter()
                with db.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
                click.echo(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f}s")
            for table, n in sorted(made.counts.items()):
                click.echo(f"  {table:<24} {n:>10,}")
            click.echo("Challenge states: " + ", ".join(
                f"{k} {v:,}" for k, v in sorted(made.states.items())))
            click.echo("Bids: " + ", ".join(
                f"{k} {v:,}" for k, v in sorted(made.bid_states.items())))
        data = write_sign_ins(path)
        click.echo(f"\nSign-ins (password for all: {SCALE_PASSWORD}) written to {path}:")
        click.echo(f"  platform admin            {ADMIN_EMAIL}")
        for key, label in (("suppliers", "bidders"), ("councils", "council officers")):
            sample = ", ".join(p["email"] for p in data[key][:2])
            click.echo(f"  {len(data[key]):>5,} {label:<19} e.g. {sample}")
