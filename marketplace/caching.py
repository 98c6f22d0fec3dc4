"""A shared cache for public, anonymous data (search results, facet lists, supplier rankings).

The cache object lives in :mod:`marketplace.extensions` (Flask-Caching: RedisCache when
``REDIS_URL`` is set, so every worker shares it; SimpleCache, per process, otherwise). Only
data that is the same for everyone is cached, never a rendered page: pages carry CSRF tokens,
CSP nonces and the signed-in person's details.

Every call here degrades to "no cache" when the backend fails (Redis down, a timeout): the
error is logged, the caller computes the value from the database, and the cache is left
alone for a few seconds so a dead Redis costs one failed connection now and then rather than
one per request.

Invalidation: entries for challenges are keyed by a *version token* that changes whenever a
transaction that touched a challenge (or its sponsors, CPV codes or amendments) commits
(:func:`install_invalidation` listens to the ORM session), so a publication, amendment,
withdrawal or award decision is seen at once by every worker sharing the cache (with
SimpleCache each process has its own versions, so another worker may serve an entry for up
to its timeout: set REDIS_URL when running several workers). Time-derived state is handled
by the keys themselves (see ``services.search.time_window``). Supplier data is keyed by the
match index revision, which every profile or listing change bumps in the database, so it is
right in every process whatever the backend.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from marketplace.extensions import cache

log = logging.getLogger(__name__)
T = TypeVar("T")

# After a backend failure, skip the cache for this long (seconds).
BACKOFF_SECONDS = 5.0
_MISSING = object()
_state_lock = threading.Lock()
_installed = {"done": False}
STATE = "marketplace_cache_state"

# Version names: public challenge data, and supplier data (the directory, rankings).
CHALLENGES = "challenges"
SUPPLIERS = "suppliers"


def _state() -> dict[str, float]:
    """This app's cache health (when the cache may next be tried)."""
    return current_app.extensions.setdefault(STATE, {"down_until": 0.0})


def init_app(app: Flask) -> None:
    """Set up the cache for ``app`` (idempotent) and the invalidation listeners."""
    if cache in app.extensions.get("cache", {}):
        return
    overrides: dict[str, Any] = {"CACHE_NO_NULL_WARNING": True}  # "NullCache" is a choice
    if app.config.get("CACHE_TYPE") != "RedisCache":
        overrides["CACHE_OPTIONS"] = None  # the Redis client's options only
    elif not app.config.get("CACHE_REDIS_URL"):
        overrides["CACHE_TYPE"] = "NullCache"
    cache.init_app(app, config=overrides)
    install_invalidation()
    # A new process may follow a change the listeners did not see (a restored or reloaded
    # database, a bulk load): start new versions, so nothing cached before it is served.
    with app.app_context():
        if enabled():
            bump(CHALLENGES)
            bump(SUPPLIERS)


def enabled() -> bool:
    if not has_app_context():
        return False
    app = current_app
    if app.config.get("CACHE_TYPE", "NullCache") in {"NullCache", "null"}:
        return False
    if cache not in app.extensions.get("cache", {}):
        return False
    return time.monotonic() >= _state()["down_until"]


def _failed(what: str, exc: Exception) -> None:
    state = _state()
    with _state_lock:
        first = time.monotonic() >= state["down_until"]
        state["down_until"] = time.monotonic() + BACKOFF_SECONDS
    if first:
        log.warning("cache unavailable (%s: %s); serving without it for %.0fs",
                    what, type(exc).__name__, BACKOFF_SECONDS)


def get(key: str) -> Any:
    """The cached value, or ``_MISSING`` (also when the cache is off or failing)."""
    if not enabled():
        return _MISSING
    try:
        value = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - any backend failure means "no cache"
        _failed("get", exc)
        return _MISSING
    return _MISSING if value is None else value


def get_many(*keys: str) -> list[Any]:
    if not enabled():
        return [_MISSING] * len(keys)
    try:
        values = cache.get_many(*keys)
    except Exception as exc:  # noqa: BLE001
        _failed("get_many", exc)
        return [_MISSING] * len(keys)
    return [_MISSING if v is None else v for v in values]


def put(key: str, value: Any, timeout: int | None = None) -> None:
    if not enabled():
        return
    try:
        cache.set(key, value, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        _failed("set", exc)


def missing(value: Any) -> bool:
    return value is _MISSING


def cached(key: str, compute: Callable[[], T], timeout: int | None = None) -> T:
    """``compute()``'s value, from the cache when there (``None`` is never cached)."""
    value = get(key)
    if value is not _MISSING:
        return value  # type: ignore[no-any-return]
    value = compute()
    if value is not None:
        put(key, value, timeout)
    return value


def digest(*parts: object) -> str:
    """A short, stable key part for arbitrary (repr-able) parameters."""
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:20]


# Versions ------------------------------------------------------------------------------------

def _version_key(name: str) -> str:
    return f"version:{name}"


def version(name: str = CHALLENGES) -> str:
    """The current version token of ``name``. When the cache has none (never set, evicted,
    or just restarted) a new one is made, so entries made under a forgotten token are never
    served again."""
    found = get(_version_key(name))
    if found is not _MISSING:
        return str(found)
    return bump(name)


def bump(name: str = CHALLENGES) -> str:
    """Start a new version of ``name``: every entry keyed by the old one is out of date."""
    token = f"{time.time_ns():x}"
    put(_version_key(name), token, timeout=0)
    return token


# Invalidation --------------------------------------------------------------------------------

# Everything the public challenge pages show (the whole-page cache, marketplace/page_cache.py,
# relies on this list too): published answers to questions, requirements, stages, criteria.
PUBLIC_MODELS = ("Challenge", "ChallengeCpv", "ChallengeSponsor", "ChallengeAmendment",
                 "ChallengeOutcome", "ChallengeRequirement", "ChallengeStage",
                 "EvaluationCriterion", "ClarificationQuestion")
_FLAG = "marketplace_public_changed"


# Challenge columns that are bookkeeping (notices sent, timestamps), never shown in public
# lists: a sweep that only sets these does not make the cached public data out of date.
BOOKKEEPING = frozenset({"updated_at", "deadline_notified_at", "award_final_notified_at"})


def _changed_columns(obj: Any) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs
            if state.attrs[attr.key].history.has_changes()}


def _public_change(session: Session, obj: Any) -> bool:
    name = type(obj).__name__
    if name == "Challenge":
        if obj in session.new or obj in session.deleted:
            return obj.published_at is not None
        changed = _changed_columns(obj)
        if "published_at" in changed:
            return True
        return obj.published_at is not None and bool(changed - BOOKKEEPING)
    if name in PUBLIC_MODELS:
        return True
    return name == "Organisation" and getattr(obj, "kind", None) == "council" and bool(
        _changed_columns(obj) & {"name", "kind"} or obj in session.new
        or obj in session.deleted)


# What the public supplier directory shows: a change to any of these starts a new suppliers
# version (the whole-page cache of the directory, marketplace/page_cache.py, is keyed by it).
SUPPLIER_MODELS = ("SupplierProfile", "CaseStudy", "Certification")
_SUPPLIERS_FLAG = "marketplace_suppliers_changed"


def _supplier_change(obj: Any) -> bool:
    name = type(obj).__name__
    return name in SUPPLIER_MODELS or (
        name == "Organisation" and getattr(obj, "kind", None) == "supplier")


def _touches_public(session: Session) -> bool:
    return any(_public_change(session, obj)
               for obj in (*session.new, *session.dirty, *session.deleted))


def _after_flush(session: Session, _context: Any) -> None:
    if _touches_public(session):
        session.info[_FLAG] = True
    if any(_supplier_change(obj) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_SUPPLIERS_FLAG] = True


def _do_orm_execute(state: Any) -> None:
    # Bulk UPDATE/DELETE statements bypass the unit of work.
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        name = state.bind_mapper.class_.__name__
        if name in PUBLIC_MODELS:
            state.session.info[_FLAG] = True
        if name in SUPPLIER_MODELS or name == "Organisation":
            state.session.info[_SUPPLIERS_FLAG] = True


def _after_commit(session: Session) -> None:
    challenges = session.info.pop(_FLAG, False)
    suppliers = session.info.pop(_SUPPLIERS_FLAG, False)
    if has_app_context():
        if challenges:
            bump(CHALLENGES)
        if suppliers:
            bump(SUPPLIERS)


def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_SUPPLIERS_FLAG, None)


def install_invalidation() -> None:
    """Bump the challenges' version after any commit that changed public challenge data."""
    if _installed["done"]:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda session, _previous: _after_rollback(
        session))
    _installed["done"] = True
