"""Public challenge search: filters, sorting, pagination and typo-tolerant keywords.

Keywords are matched against each challenge's ``search_text``. Each query word is first
corrected against the vocabulary of published challenges with rapidfuzz (so "potholle" finds
"pothole"), then every word must match. The vocabulary is cached per process and rebuilt when
the published set changes (a cheap fingerprint query on each search), so several workers never
serve a stale index.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import defer, lazyload, selectinload

from marketplace import caching, reference
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeCpv,
    ChallengeSponsor,
    Organisation,
    OrgKind,
    utcnow,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 20
WORD_RE = re.compile(r"[a-z0-9]+")
STOP_WORDS = {"the", "and", "for", "with", "how", "might", "can", "our", "that", "this",
              "are", "from", "into", "who", "what", "their", "your", "you", "its"}

SORTS = {
    "closing": "Closing soonest",
    "newest": "Newest",
    "budget": "Highest budget",
}
STATUS_FILTERS = {
    "open": "Open",
    "closed": "Closed",
    "awarded": "Awarded",
}


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    status: str | None = None
    region: str | None = None
    division: str | None = None
    budget: str | None = None
    council_id: int | None = None
    sme: bool = False
    sort: str = "closing"
    page: int = 1


@dataclass
class SearchPage:
    items: list[Challenge]
    total: int
    page: int
    pages: int
    params: SearchParams
    corrections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def spelling(self) -> dict[str, list[str]]:
        return spelling(self.corrections)


def spelling(corrections: dict[str, list[str]]) -> dict[str, list[str]]:
    """The typo corrections only (query word -> near spellings used instead), leaving out
    the word itself and its plain singular forms."""
    found: dict[str, list[str]] = {}
    for word, options in corrections.items():
        near = [o for o in options if o not in variants(word)]
        if near:
            found[word] = near
    return found


class Vocabulary:
    """The words of an indexed text column, cached per process.

    ``texts`` selects the texts whose words make up the vocabulary; ``fingerprint`` selects
    one cheap row that changes whenever that set of texts may have changed. The words are
    rebuilt when the fingerprint differs from the one they were built for, so several workers
    never serve a stale index. Used for challenges here and for the supplier directory.
    """

    def __init__(self, texts: Callable[[], Select[Any]],
                 fingerprint: Callable[[], Select[Any]]) -> None:
        self._texts = texts
        self._fingerprint_query = fingerprint
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._words: list[str] = []
        self._set: frozenset[str] = frozenset()

    def _fingerprint(self) -> tuple[object, ...]:
        row = db.session.execute(self._fingerprint_query()).one()
        return (db.engine.url.render_as_string(), *row)

    def words(self) -> tuple[list[str], frozenset[str]]:
        key = self._fingerprint()
        with self._lock:
            if key != self._key:
                found: set[str] = set()
                for (text,) in db.session.execute(self._texts()):
                    found.update(w for w in WORD_RE.findall(text or "") if len(w) >= 3)
                self._words = sorted(found)
                self._set = frozenset(found)
                self._key = key
            return self._words, self._set


def _published_texts() -> Select[Any]:
    return select(Challenge.search_text).where(Challenge.published_at.is_not(None))


def _published_fingerprint() -> Select[Any]:
    # Two subqueries so each is answered from an index (ix_challenge_public and
    # ix_challenge_updated_at) instead of a scan of every challenge.
    published = Challenge.published_at.is_not(None)
    return select(
        select(func.count(Challenge.id)).where(published).scalar_subquery(),
        select(func.max(Challenge.updated_at)).where(published).scalar_subquery(),
    )


VOCABULARY = Vocabulary(_published_texts, _published_fingerprint)


def preload_vocabularies(app: Flask) -> None:
    """Build the challenge and supplier-directory vocabularies before gunicorn forks its
    workers (``preload_app``), so each starts with them. Failing here only means the first
    search builds them."""
    from marketplace.services import suppliers

    try:
        with app.app_context():
            try:
                VOCABULARY.words()
                suppliers.VOCABULARY.words()
            finally:
                db.session.remove()
                db.engine.dispose()  # no connection may be shared with the workers
    except Exception:
        log.exception("could not build the search vocabularies at start-up")


def query_words(q: str) -> list[str]:
    return [w for w in WORD_RE.findall(q.lower()) if w not in STOP_WORDS][:8]


def variants(word: str) -> set[str]:
    """The word and its plain singular forms ("surveys" -> "survey", "bodies" -> "body")."""
    found = {word}
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            found.add(word[: -len(suffix)] + ("y" if suffix == "ies" else ""))
    return found


def expand(word: str, words: list[str], known: frozenset[str]) -> list[str]:
    """The vocabulary words a query word should match: itself, its singular, near spellings."""
    forms = variants(word)
    if any(v in known for v in forms) or len(word) < 4:
        return sorted(forms)
    cutoff = 80 if len(word) >= 6 else 75
    close = process.extract(word, words, scorer=fuzz.ratio, score_cutoff=cutoff, limit=4)
    return sorted(forms | {match for match, _score, _i in close})


def _shortest(options: list[str]) -> list[str]:
    """Drop options that contain another option: "pothole" already matches "potholes"."""
    return [o for o in options if not any(p != o and p in o for p in options)]


def keyword_clauses(q: str, column: ColumnElement[str], vocabulary: Vocabulary
                    ) -> tuple[list[ColumnElement[bool]], dict[str, list[str]]]:
    """One condition per query word (every word must match ``column``, a lower-cased index
    text), each word widened to its singular and near spellings from ``vocabulary``; and the
    corrections used (query word -> the words matched instead)."""
    clauses: list[ColumnElement[bool]] = []
    corrections: dict[str, list[str]] = {}
    words = query_words(q)
    if words:
        vocab, known = vocabulary.words()
        for word in words:
            options = expand(word, vocab, known)
            if options != [word]:
                corrections[word] = options
            clauses.append(or_(*(column.contains(o) for o in _shortest(options))))
    return clauses, corrections


def public_filter(now: datetime) -> list[object]:
    return [Challenge.published_at.is_not(None), Challenge.published_at <= now]


def _status_clause(status: str, now: datetime):  # type: ignore[no-untyped-def]
    derived = Challenge.status_sql(now)
    if status == "open":
        return derived == "open"
    if status == "closed":
        return derived.in_(["closed", "evaluation", "standstill"])
    if status == "awarded":
        return derived == "awarded"
    return None


def build_query(params: SearchParams, now: datetime | None = None
                ) -> tuple[Select[tuple[Challenge]], dict[str, list[str]]]:
    """The filtered (unsorted, unpaginated) query and the keyword corrections used."""
    now = now or utcnow()
    stmt = select(Challenge).where(*public_filter(now))
    clauses, corrections = keyword_clauses(params.q, Challenge.search_text, VOCABULARY)
    stmt = stmt.where(*clauses)
    if params.status in STATUS_FILTERS:
        stmt = stmt.where(_status_clause(params.status, now))
    if params.region:
        region = reference.normalise_region(params.region)
        if region:
            stmt = stmt.where(Challenge.region.in_([region, reference.UK_WIDE]))
    if params.division and params.division.isdigit() and len(params.division) == 2:
        stmt = stmt.where(Challenge.id.in_(
            select(ChallengeCpv.challenge_id).where(
                ChallengeCpv.code.startswith(params.division))))
    band = next((b for b in reference.BUDGET_BANDS if b[0] == params.budget), None)
    if band is not None:
        _key, _label, low, high = band
        stmt = stmt.where(Challenge.budget_max >= low)
        if high is not None:
            stmt = stmt.where(Challenge.budget_max < high)
    if params.council_id:
        stmt = stmt.where(or_(
            Challenge.lead_council_id == params.council_id,
            Challenge.id.in_(select(ChallengeSponsor.challenge_id).where(
                ChallengeSponsor.organisation_id == params.council_id))))
    if params.sme:
        stmt = stmt.where(Challenge.sme_suitable.is_(True))
    return stmt, corrections


def _ordered(stmt: Select[tuple[Challenge]], params: SearchParams, now: datetime
             ) -> Select[tuple[Challenge]]:
    if params.sort == "newest":
        return stmt.order_by(Challenge.published_at.desc(), Challenge.id.desc())
    if params.sort == "budget":
        return stmt.order_by(Challenge.budget_max.desc().nulls_last(), Challenge.id.desc())
    # Closing soonest: open challenges by deadline, then the rest, most recently closed first.
    still_open = and_(Challenge.submission_deadline > now,
                      Challenge.withdrawn_at.is_(None), Challenge.cancelled_at.is_(None))
    return stmt.order_by(
        case((still_open, 0), else_=1),
        case((still_open, Challenge.submission_deadline), else_=None).asc(),
        Challenge.submission_deadline.desc(),
        Challenge.id.desc(),
    )


def _page_ids(stmt: Select[tuple[Challenge]], params: SearchParams, now: datetime, page: int,
              per_page: int = PAGE_SIZE) -> tuple[list[int], int | None]:
    """The ids on one page, in order, and the total (None when the page is empty).

    Only ids and sort keys are sorted (sorting whole rows, long texts included, costs ten
    times as much), and the total comes from the same scan as a window count."""
    rows = db.session.execute(
        _ordered(stmt.with_only_columns(Challenge.id, func.count().over()), params, now)
        .limit(per_page).offset((page - 1) * per_page)).all()
    return [row[0] for row in rows], (rows[0][1] if rows else None)


@dataclass(frozen=True)
class Found:
    """What a search found, without the rows: small enough to cache (the challenge search
    and the supplier directory)."""

    ids: list[int]
    total: int
    page: int
    pages: int
    corrections: dict[str, list[str]]


def _find(params: SearchParams, now: datetime, per_page: int) -> Found:
    stmt, corrections = build_query(params, now)
    page = max(1, params.page)
    ids, total = _page_ids(stmt, params, now, page, per_page)
    if total is None:
        # Past the last page (or nothing matches): count, then show the last page.
        total = db.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        last = max(1, math.ceil(total / per_page))
        page = min(page, last)
        ids = _page_ids(stmt, params, now, page, per_page)[0] if total else []
    pages = max(1, math.ceil(total / per_page))
    return Found(ids, total, page, pages, corrections)


def search(params: SearchParams, now: datetime | None = None, per_page: int = PAGE_SIZE
           ) -> SearchPage:
    """One page of published challenges matching the parameters (``per_page`` of them: the
    pages show 20, the API lets callers choose).

    Without an explicit ``now``, what was found (ids, total, corrections: never the rows) is
    shared through the cache, keyed by the parameters and :func:`time_window`; the rows are
    always loaded fresh, so what a page shows about each challenge is current."""
    if now is None and caching.enabled():
        at = utcnow()
        found = caching.cached(f"search:{time_window(at)}:{caching.digest(params, per_page)}",
                               lambda: _find(params, at, per_page), _cache_seconds())
    else:
        found = _find(params, now or utcnow(), per_page)
    ids = found.ids
    # The list shows the lead council only; the statement's other parts are not loaded.
    loaded = {c.id: c for c in db.session.scalars(
        select(Challenge).where(Challenge.id.in_(ids))
        .options(lazyload("*"), selectinload(Challenge.lead_council)))} if ids else {}
    items = [loaded[i] for i in ids if i in loaded]
    return SearchPage(items=items, total=found.total, page=found.page, pages=found.pages,
                      params=params, corrections=found.corrections)


# Caching -------------------------------------------------------------------------------------

def _cache_seconds() -> int:
    return int(current_app.config.get("PUBLIC_CACHE_SECONDS", 30))


def next_change(now: datetime) -> datetime | None:
    """The next moment after ``now`` when the published challenges' time-derived state
    changes: a scheduled publication, a submission deadline (open -> closed), the end of a
    standstill (-> awarded) or a clarification deadline (questions close). Until then, a
    search or a public page gives the same answer (the data being the same). One statement of
    four look-ups."""
    published = Challenge.published_at.is_not(None)
    row = db.session.execute(select(
        select(func.min(Challenge.published_at))
        .where(Challenge.published_at > now).scalar_subquery(),
        select(func.min(Challenge.submission_deadline))
        .where(published, Challenge.submission_deadline > now).scalar_subquery(),
        select(func.min(Challenge.awarded_at))
        .where(published, Challenge.awarded_at > now).scalar_subquery(),
        select(func.min(Challenge.clarification_deadline))
        .where(published, Challenge.clarification_deadline > now).scalar_subquery(),
    )).one()
    return min((at for at in row if at is not None), default=None)


def time_window(now: datetime) -> str:
    """A key part naming the data and the time window ``now`` is in: the challenges' cache
    version (new whenever public challenge data changes) and the next time-derived change
    (see :func:`next_change`). An entry keyed by it is right for as long as it is used:
    once a deadline passes, the window, and so the key, changes."""
    version = caching.version(caching.CHALLENGES)
    key = f"search:next:{version}"
    found = caching.get(key)
    if caching.missing(found) or (found != "never" and found <= now):
        upcoming = next_change(now)
        found = upcoming if upcoming is not None else "never"
        seconds = 300 if upcoming is None else (upcoming - now).total_seconds()
        caching.put(key, found, max(1, min(300, math.ceil(seconds))))
    label = found if found == "never" else found.isoformat()
    return f"{version}:{label}"


@dataclass(frozen=True)
class CouncilChoice:
    """A council in the list filter (id and name only: cacheable)."""

    id: int
    name: str


def council_choices() -> list[CouncilChoice]:
    """:func:`councils_with_challenges` as (id, name), shared through the cache."""
    def compute() -> list[CouncilChoice]:
        return [CouncilChoice(c.id, c.name) for c in councils_with_challenges(now)]

    now = utcnow()
    if not caching.enabled():
        return compute()
    return caching.cached(f"search:councils:{time_window(now)}", compute, _cache_seconds())


def search_all(params: SearchParams, limit: int, now: datetime | None = None
               ) -> list[Challenge]:
    """Every published challenge matching the parameters (the page's filters and sort, not
    its page), up to ``limit``: for the CSV download. The lead council, co-sponsors and CPV
    codes are loaded; the long texts are not (reading one raises, rather than loading each
    row's one by one)."""
    now = now or utcnow()
    stmt, _corrections = build_query(params, now)
    return list(db.session.scalars(
        _ordered(stmt, params, now).limit(limit).options(
            lazyload("*"), selectinload(Challenge.lead_council),
            selectinload(Challenge.sponsors), selectinload(Challenge.cpv_rows),
            *(defer(column, raiseload=True) for column in (
                Challenge.summary, Challenge.problem, Challenge.background,
                Challenge.affected, Challenge.success, Challenge.search_text,
                Challenge.capabilities)))))


def newest(limit: int = 50, now: datetime | None = None) -> list[Challenge]:
    """The most recently published challenges that are still live (for the Atom feed of new
    challenges): a withdrawn or cancelled challenge is not news for a supplier."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(Challenge).where(*public_filter(now), Challenge.withdrawn_at.is_(None),
                                Challenge.cancelled_at.is_(None))
        .order_by(Challenge.published_at.desc(), Challenge.id.desc())
        .options(lazyload("*"), selectinload(Challenge.lead_council))
        .limit(limit)))


def recent_decisions(limit: int = 50, now: datetime | None = None) -> list[Challenge]:
    """Published challenges whose outcome is public, most recent first (for the Atom feed of
    awards): awards whose standstill is over (``awarded_at <= now``), and challenges that
    ended with no suitable supplier. Decisions still in standstill are not public yet."""
    now = now or utcnow()
    decided_at = func.coalesce(Challenge.awarded_at, Challenge.no_suitable_supplier_at)
    return list(db.session.scalars(
        select(Challenge).where(
            *public_filter(now),
            Challenge.status_sql(now).in_(["awarded", "no_suitable_supplier"]))
        .order_by(decided_at.desc(), Challenge.id.desc())
        .options(lazyload("*"), selectinload(Challenge.lead_council))
        .limit(limit)))


def councils_with_challenges(now: datetime | None = None) -> list[Organisation]:
    """Councils that lead or co-sponsor at least one published challenge, by name."""
    now = now or utcnow()
    # Correlated EXISTS: a few index look-ups per council rather than a scan of challenges.
    leads = select(Challenge.id).where(
        Challenge.lead_council_id == Organisation.id, *public_filter(now))
    sponsors = select(ChallengeSponsor.challenge_id).join(
        Challenge, Challenge.id == ChallengeSponsor.challenge_id).where(
        ChallengeSponsor.organisation_id == Organisation.id, *public_filter(now))
    return list(db.session.scalars(
        select(Organisation).where(Organisation.kind == OrgKind.COUNCIL.value,
                                   or_(leads.exists(), sponsors.exists()))
        .order_by(Organisation.name, Organisation.id)))
