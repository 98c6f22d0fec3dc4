"""The supplier match index of each web process, kept correct across processes, and the team
vocabulary of synonyms.

Every process (each gunicorn worker) keeps one :class:`MatchIndex` of the listed suppliers in
memory, built once and then brought up to date incrementally:

- ``match_index_state`` is a single row holding a ``revision`` counter. Every change to
  anything that feeds a supplier's :class:`SupplierInput` (any profile section, case studies,
  the organisation's name, verification or rejection, CSV import, demo data) calls
  :func:`touch_supplier` in the same transaction. It bumps the revision with an ``UPDATE ...
  RETURNING`` (the row lock makes writers take turns, so revisions commit in order) and
  stores the new revision on the supplier's profile row (``match_revision``).
- Before using its index, a process reads the state row (one small query). When the
  revision moved, it loads only the profiles with ``match_revision`` above the revision it
  last saw, and adds, replaces or removes them (a supplier that is no longer listed in the
  public directory is removed). When the team vocabulary changed, it rebuilds the index.

The index lives on the Flask app (``app.extensions``), so apps on different databases (the
tests make one per test) never share one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.extensions import db
from marketplace.matching import (
    ChallengeInput,
    MatchIndex,
    SupplierInput,
    Vocabulary,
    VocabularyError,
)
from marketplace.models import (
    CaseStudy,
    Challenge,
    MatchIndexState,
    Organisation,
    SupplierProfile,
    User,
    utcnow,
)
from marketplace.services import audit
from marketplace.services.errors import PermissionDenied, ValidationFailed
from marketplace.services.uow import transactional

log = logging.getLogger(__name__)

STATE_ID = 1
EXTENSION = "match_index"
VOCABULARY_MAX = 100_000


# Writing: revisions ----------------------------------------------------------------------------

def _ensure_state_row() -> None:
    """Create the state row if it is missing (the migration creates it; a wiped table, as the
    PostgreSQL tests' truncation leaves, must not break writes)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(MatchIndexState).values(
        id=STATE_ID, revision=0, vocabulary="").on_conflict_do_nothing())


def _bump(**values: Any) -> int:
    """Add one to the revision (with any other changes to the row) and return it. The
    row stays locked until the transaction ends, so revisions commit in order."""
    stmt = (update(MatchIndexState).where(MatchIndexState.id == STATE_ID)
            .values(revision=MatchIndexState.revision + 1, **values)
            .returning(MatchIndexState.revision)
            .execution_options(synchronize_session=False))
    revision = db.session.execute(stmt).scalar()
    if revision is None:
        _ensure_state_row()
        revision = db.session.execute(stmt).scalar_one()
    return int(revision)


def touch_supplier(org_id: int) -> int:
    """Record, in the current transaction, that something the matching engine reads about a
    supplier changed: every process's index picks the change up on its next use. Returns
    the new revision."""
    revision = _bump()
    db.session.execute(
        update(SupplierProfile).where(SupplierProfile.organisation_id == org_id)
        .values(match_revision=revision))
    return revision


# Reading: the state and the inputs -------------------------------------------------------------

@dataclass(frozen=True)
class IndexState:
    revision: int
    vocabulary_changed_at: datetime | None


def read_state() -> IndexState:
    row = db.session.execute(
        select(MatchIndexState.revision, MatchIndexState.vocabulary_changed_at)
        .where(MatchIndexState.id == STATE_ID)).first()
    if row is None:
        return IndexState(0, None)
    return IndexState(int(row.revision), row.vocabulary_changed_at)


def vocabulary_text() -> str:
    """The team's synonym lines ("" when there are none)."""
    return db.session.scalar(
        select(MatchIndexState.vocabulary).where(MatchIndexState.id == STATE_ID)) or ""


def _listed_clause() -> Any:
    from marketplace.services.suppliers import _listed  # the directory's rule

    return and_(*_listed())


def case_study_outcome(title: str, outcome: str, measure: str | None) -> str:
    """One case study as an outcome phrase: "Title: what changed (measured by ...)"."""
    text = " ".join((outcome or "").split()).rstrip(".")
    title = " ".join((title or "").split())
    phrase = f"{title}: {text}" if title and text else title or text
    measure = " ".join((measure or "").split()).rstrip(".")
    if measure:
        phrase += f" (measured by {measure[:1].lower() + measure[1:]})"
    return phrase


def _supplier_rows(condition: Any) -> Iterator[tuple[bool, SupplierInput]]:
    """(listed, input) for the profiles matching ``condition`` (two queries in all)."""
    listed = _listed_clause()
    profiles = db.session.execute(
        select(SupplierProfile.organisation_id, Organisation.name, SupplierProfile.description,
               SupplierProfile.capabilities, SupplierProfile.cpv_codes,
               SupplierProfile.regions, SupplierProfile.size, listed.label("listed"))
        .join(Organisation, Organisation.id == SupplierProfile.organisation_id)
        .where(condition).order_by(SupplierProfile.organisation_id)).all()
    if not profiles:
        return
    outcomes: dict[int, list[str]] = {}
    for org_id, title, outcome, measure in db.session.execute(
            select(CaseStudy.organisation_id, CaseStudy.title, CaseStudy.outcome,
                   CaseStudy.measure)
            .join(SupplierProfile,
                  SupplierProfile.organisation_id == CaseStudy.organisation_id)
            .join(Organisation, Organisation.id == SupplierProfile.organisation_id)
            .where(condition).order_by(CaseStudy.organisation_id, CaseStudy.position)):
        phrase = case_study_outcome(title, outcome, measure)
        if phrase:
            outcomes.setdefault(org_id, []).append(phrase)
    for row in profiles:
        yield bool(row.listed), SupplierInput(
            id=str(row.organisation_id), name=row.name or "",
            description=row.description or "",
            capabilities=tuple(row.capabilities or ()),
            outcomes=tuple(outcomes.get(row.organisation_id, ())),
            cpv_codes=tuple(row.cpv_codes or ()), regions=tuple(row.regions or ()),
            size=row.size or "")


def supplier_input(org_id: int) -> SupplierInput | None:
    """What the engine reads about one supplier (None without a profile)."""
    for _listed, item in _supplier_rows(SupplierProfile.organisation_id == org_id):
        return item
    return None


def challenge_input(challenge: Challenge) -> ChallengeInput:
    """What the engine reads about a challenge."""
    outcomes = []
    for outcome in challenge.outcomes:
        text = " ".join((outcome.description or "").split())
        measure = " ".join((outcome.measure or "").split())
        outcomes.append(f"{text} ({measure})" if measure else text)
    description = "\n\n".join(
        part.strip() for part in (challenge.problem, challenge.background, challenge.affected,
                                  challenge.success) if part and part.strip())
    return ChallengeInput(
        id=str(challenge.id), title=challenge.title or "", summary=challenge.summary or "",
        description=description, outcomes=tuple(o for o in outcomes if o),
        capabilities=tuple(challenge.capabilities or ()),
        cpv_codes=tuple(challenge.cpv_codes), region=challenge.region or "",
        budget_gbp=challenge.budget_max)


# The index of this process ---------------------------------------------------------------------

@dataclass
class _Cache:
    lock: threading.RLock = field(default_factory=threading.RLock)
    index: MatchIndex | None = None
    revision: int = 0
    vocabulary_changed_at: datetime | None = None
    builds: int = 0  # full builds, for tests and logs
    updates: int = 0  # incremental catch-ups
    rebuilding: threading.Thread | None = None  # a rebuild for a new vocabulary


def _cache() -> _Cache:
    extensions = current_app.extensions
    cache = extensions.get(EXTENSION)
    if cache is None:
        cache = extensions.setdefault(EXTENSION, _Cache())
    return cache


def load_vocabulary(text: str) -> Vocabulary:
    """The default vocabulary extended by the team's lines. Lines that no longer read (say,
    after an engine upgrade) are logged and ignored rather than breaking every page."""
    base = Vocabulary.default()
    if not text.strip():
        return base
    try:
        return base.extended(text)
    except VocabularyError as exc:
        log.error("the team vocabulary cannot be read; using the default: %s", exc)
        return base


def _build(state: IndexState) -> MatchIndex:
    """A new index of every listed supplier, as of ``state`` or later (read after it)."""
    started = utcnow()
    index = MatchIndex(load_vocabulary(vocabulary_text()))
    for listed, item in _supplier_rows(_listed_clause()):
        if listed:
            index.upsert(item)
    log.info("match index built", extra={
        "suppliers": len(index), "revision": state.revision,
        "seconds": round((utcnow() - started).total_seconds(), 3)})
    return index


def _install(cache: _Cache, index: MatchIndex, state: IndexState) -> None:
    cache.index = index
    cache.revision = state.revision
    cache.vocabulary_changed_at = state.vocabulary_changed_at
    cache.builds += 1


def _catch_up(cache: _Cache, state: IndexState) -> None:
    assert cache.index is not None
    for listed, item in _supplier_rows(SupplierProfile.match_revision > cache.revision):
        if listed:
            cache.index.upsert(item)
        else:
            cache.index.remove(item.id)
    cache.revision = state.revision
    cache.updates += 1


def _rebuild_in_background(cache: _Cache) -> None:
    """Build an index with the new vocabulary in a thread, then swap it in (caught up with
    whatever changed meanwhile). Until then requests keep using the current index, so a
    large index never holds up a page."""
    if cache.rebuilding is not None and cache.rebuilding.is_alive():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                state = read_state()
                index = _build(state)
                with cache.lock:
                    _install(cache, index, state)
                    latest = read_state()
                    if latest.revision > cache.revision:
                        _catch_up(cache, latest)
            except Exception:
                log.exception("rebuilding the match index failed")
            finally:
                db.session.remove()

    cache.rebuilding = threading.Thread(target=run, name="match-index-rebuild", daemon=True)
    cache.rebuilding.start()


def _background_rebuilds() -> bool:
    return bool(current_app.config.get("MATCH_REBUILD_IN_BACKGROUND", not current_app.testing))


@contextmanager
def using_index() -> Iterator[MatchIndex]:
    """This process's index, brought up to date, held for the block: ranking runs while no
    other thread of the process changes the index."""
    cache = _cache()
    state = read_state()
    with cache.lock:
        new_vocabulary = state.vocabulary_changed_at != cache.vocabulary_changed_at
        if cache.index is None or state.revision < cache.revision or (
                new_vocabulary and not _background_rebuilds()):
            # First use, a database that went back in time, or a new team vocabulary.
            _install(cache, _build(state), state)
        else:
            if new_vocabulary:
                _rebuild_in_background(cache)
            if state.revision > cache.revision:
                _catch_up(cache, state)
        assert cache.index is not None
        yield cache.index


def current_index() -> MatchIndex:
    """This process's index, up to date with every committed change. Rank inside
    :func:`using_index` when other threads may be updating it at the same time."""
    with using_index() as index:
        return index


def preload(app: Any) -> None:
    """Build the index before gunicorn forks its workers (``preload_app``), so each worker
    starts with it and only catches up; building a large index can take longer than a
    request may. Failing here only means the first request builds it."""
    try:
        with app.app_context():
            try:
                current_index()
            finally:
                db.session.remove()
                db.engine.dispose()  # no connection may be shared with the workers
    except Exception:
        log.exception("could not build the match index at start-up")


def index_stats() -> dict[str, int]:
    cache = _cache()
    return {"builds": cache.builds, "updates": cache.updates, "revision": cache.revision,
            "suppliers": len(cache.index) if cache.index is not None else 0}


# Ranking helpers -------------------------------------------------------------------------------

def shared_terms(match: Any, limit: int = 4) -> list[str]:
    """The most telling terms a match shares: terms of the strongest phrases first, phrases
    of several words before single words, and no word already inside a chosen phrase; no
    numbers or two-letter words."""
    best: dict[str, tuple[float, str]] = {}
    for phrase in match.explanation:
        for term in phrase.shared:
            text = " ".join(str(term).split())
            key = text.casefold()
            if len(key) < 3 or key.replace(" ", "").isdigit():
                continue
            if key not in best or phrase.strength > best[key][0]:
                best[key] = (phrase.strength, text)
    ordered = sorted(best.items(), key=lambda kv: (-(" " in kv[0]), -kv[1][0], -len(kv[0])))
    chosen: list[tuple[str, str]] = []
    for key, (_strength, text) in ordered:
        words = set(key.split())
        if any(key in other or words <= set(other.split()) for other, _ in chosen):
            continue
        chosen.append((key, text))
        if len(chosen) >= limit:
            break
    return [text for _key, text in chosen]


def one_line_reason(match: Any) -> str:
    """Why a match was made, in one line: its top shared terms (or its first note)."""
    terms = shared_terms(match, 3)
    if terms:
        quoted = [f"‘{t}’" for t in terms]
        joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        return f"Your profile and the challenge share {joined}"
    return match.notes[0] if match.notes else ""


def rank_challenges_for(supplier_id: int, challenges: Iterable[Challenge], *, top: int,
                        min_score: float) -> list[tuple[Challenge, Any]]:
    """(challenge, match) for the challenges that best fit a listed supplier, best first;
    empty for a supplier that is not in the index (not listed)."""
    by_id = {str(c.id): c for c in challenges}
    if not by_id:
        return []
    with using_index() as index:
        if str(supplier_id) not in index:
            return []
        matches = index.rank_challenges(
            str(supplier_id), [challenge_input(c) for c in by_id.values()], top=top,
            min_score=min_score)
    return [(by_id[m.id], m) for m in matches if m.id in by_id]


# The team vocabulary ---------------------------------------------------------------------------

def _normalise_vocabulary(text: str) -> str:
    lines = [line.rstrip() for line in (text or "").replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def check_vocabulary(text: str) -> str:
    """The lines normalised, or ValidationFailed naming the line that cannot be read."""
    text = _normalise_vocabulary(text)
    if len(text) > VOCABULARY_MAX:
        raise ValidationFailed(f"The vocabulary must be {VOCABULARY_MAX:,} characters or fewer",
                               field="vocabulary")
    if text:
        try:
            Vocabulary.default().extended(text)
        except VocabularyError as exc:
            raise ValidationFailed(str(exc), field="vocabulary") from exc
    return text


@transactional
def save_vocabulary(actor: User, text: str) -> bool:
    """Replace the team's synonym lines (platform admins). Every process rebuilds its index
    with them on its next use. Returns False when nothing changed."""
    if not (actor.is_platform_admin and actor.is_active):
        raise PermissionDenied("Only platform admins can change the matching vocabulary")
    text = check_vocabulary(text)
    before = vocabulary_text()
    if text == before:
        return False
    _bump(vocabulary=text, vocabulary_changed_at=utcnow())
    audit.record("matching.vocabulary_changed", actor=actor, object_type="match_vocabulary",
                 object_id=STATE_ID, before={"vocabulary": before},
                 after={"vocabulary": text})
    return True


def organisation_touched(org: Organisation) -> None:
    """Call when a supplier organisation's name or status changed (not through its profile)."""
    if org.is_supplier:
        touch_supplier(org.id)
