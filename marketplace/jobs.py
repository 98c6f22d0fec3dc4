"""Background jobs: email delivery, alert digests, the match index and timed notices.

``enqueue(name, **kwargs)`` asks for a job once the current database transaction commits
(a rolled-back use case asks for nothing). Where the job then runs depends on ``REDIS_URL``:

- **With Redis** (production): the job is pushed to the RQ queue ``default`` as a call of
  :func:`run_job` with retries and backoff, and run by ``flask --app marketplace worker``
  (see :mod:`marketplace.jobs_cli`), which also enqueues the periodic :data:`SCHEDULE`.
  When Redis cannot be reached the request carries on: a warning is logged and the periodic
  sweep does the work when Redis is back (every job is an idempotent sweep of database
  state, such as the email outbox, so nothing is lost).
- **Without Redis** (the embedded default, ``make run``): the job runs in the web process,
  after the response of the request that asked for it, or straight after the commit outside
  a request. The periodic schedule runs in a daemon thread started on the first request.
  Failures are logged and never break a request.

Settings (configuration value, else environment variable): ``JOBS_RETRY_INTERVALS``
(seconds between attempts, "10,60,300,900": four retries), ``JOBS_TIMEOUT`` (600 s),
``JOBS_MONITORING_INTERVAL`` (30 s) and ``JOBS_HEARTBEAT_GRACE`` (60 s): a job whose worker
stopped sending heartbeats for longer than their sum is retried by the next worker
maintenance run (every ``JOBS_MAINTENANCE_INTERVAL``, 60 s), ``JOBS_PERIODIC`` ("off" stops
the in-process schedule) and ``JOBS_INLINE_AFTER_COMMIT`` (run jobs asked for outside a
request right after the commit; default on, except under ``TESTING``).
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import db

log = logging.getLogger(__name__)

QUEUE_NAME = "default"
PENDING_KEY = "marketplace_jobs_pending"
EXTENSION = "marketplace_jobs"


# The jobs ------------------------------------------------------------------------------------

def deliver_emails() -> dict[str, int]:
    """Send the email outbox by SMTP (a no-op without MAIL_SERVER)."""
    from marketplace.services.email import deliver_outbox

    sent, failed = deliver_outbox(limit=200)
    return {"sent": sent, "failed": failed}


def send_alert_digests() -> dict[str, int]:
    """Queue the daily challenge alert digests (delivered by ``deliver_emails``)."""
    from marketplace.services.suppliers import send_alert_digests as send

    return {"digests": send()}


def refresh_match_index() -> dict[str, int]:
    """Bring this process's supplier match index up to date with the database (a full build
    the first time or after a vocabulary change, else an incremental catch-up) and log its
    counts. In the embedded mode this is the web process's own index, so pages never pay for
    a large catch-up; in the worker it checks that the index builds from the database with
    the team vocabulary (the worker builds it before forking, so the alert digests that rank
    with it only catch up), and a failure shows on the admin jobs page."""
    from marketplace.services import matching

    started = time.monotonic()
    matching.current_index()
    stats = matching.index_stats()
    log.info("match index refreshed",
             extra={**stats, "seconds": round(time.monotonic() - started, 3)})
    return stats


def send_deadline_notices() -> dict[str, int]:
    """Deadline passed -> the council team can open the bids; standstill ended -> the award
    is final. Each sent once (see :mod:`marketplace.services.notices`)."""
    from marketplace.services.notices import send_deadline_notices as send

    counts = send()
    return {"deadlines": counts.deadlines, "awards": counts.awards, "emails": counts.emails}


JOBS: dict[str, Callable[..., Any]] = {
    "deliver_emails": deliver_emails,
    "send_alert_digests": send_alert_digests,
    "refresh_match_index": refresh_match_index,
    "send_deadline_notices": send_deadline_notices,
}


@dataclass(frozen=True)
class Periodic:
    name: str
    interval: int | None = None  # seconds
    cron: str | None = None  # local time, cron syntax


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("deliver_emails", interval=60),
    Periodic("send_deadline_notices", interval=300),
    Periodic("refresh_match_index", interval=3600),
    Periodic("send_alert_digests", cron="0 7 * * *"),
)


def resolve(name: str) -> Callable[..., Any]:
    """The function of a job name: a name of :data:`JOBS`, or "module:function" (used by
    tests; the queue is trusted like the database)."""
    if name in JOBS:
        return JOBS[name]
    module, sep, attr = name.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"unknown job {name!r}")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


# Settings ------------------------------------------------------------------------------------

def retry_intervals(app: Flask) -> list[int]:
    raw = str(app.config["JOBS_RETRY_INTERVALS"])
    return [int(part) for part in raw.replace(" ", "").split(",") if part != ""]


def redis_url(app: Flask) -> str | None:
    return app.config.get("REDIS_URL") or None


def redis_connection(app: Flask) -> Any:
    """The app's Redis client for enqueuing: short timeouts, so a Redis outage costs a
    request at most about a second (and then nothing for a while, see :func:`_push`)."""
    from redis import Redis

    state = _state(app)
    if state.redis is None:
        url = redis_url(app)
        assert url
        state.redis = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return state.redis


@dataclass
class _State:
    redis: Any = None
    down_until: float = 0.0
    periodic: threading.Thread | None = None
    pid: int = 0


def _state(app: Flask) -> _State:
    state = app.extensions.get(EXTENSION)
    if state is None:
        state = app.extensions.setdefault(EXTENSION, _State(pid=os.getpid()))
    return state  # type: ignore[no-any-return]


# Enqueuing after commit ----------------------------------------------------------------------

Request = tuple[str, dict[str, Any]]

# Jobs asked for while an in-process job runs: run after it, in the same thread.
_deferred: contextvars.ContextVar[list[Request] | None] = contextvars.ContextVar(
    "marketplace_jobs_deferred", default=None)


def _key(name: str, kwargs: dict[str, Any]) -> str:
    return name + repr(sorted(kwargs.items()))


def enqueue(name: str, **kwargs: Any) -> None:
    """Ask for the job ``name`` once the current transaction commits (at once when none is
    in progress). Never raises because Redis is down."""
    resolve(name)  # an unknown name is a programming error: fail where it is made
    session = db.session()
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        pending: dict[str, Request] = session.info.setdefault(PENDING_KEY, {})
        pending.setdefault(_key(name, kwargs), (name, dict(kwargs)))
    else:
        _dispatch(current_app._get_current_object(), [(name, dict(kwargs))])  # type: ignore[attr-defined]


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending and has_app_context():
        _dispatch(current_app._get_current_object(), list(pending.values()))  # type: ignore[attr-defined]


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def _dispatch(app: Flask, requests: list[Request]) -> None:
    deferred = _deferred.get()
    if deferred is not None:
        # Asked for by a running job (say one email sweep per digest): once, after it.
        deferred.extend(requests)
    elif redis_url(app):
        for name, kwargs in requests:
            _push(app, name, kwargs)
    elif has_request_context():
        queued: list[Request] = g.setdefault("jobs_after_request", [])
        queued.extend(requests)
    elif _inline_after_commit(app):
        # The committing session cannot run SQL inside its own after_commit: a new app
        # context has its own session.
        for name, kwargs in requests:
            run_inline(app, name, kwargs)
    else:
        log.debug("jobs left to the periodic schedule", extra={"jobs": [n for n, _ in requests]})


def _inline_after_commit(app: Flask) -> bool:
    raw = app.config.get("JOBS_INLINE_AFTER_COMMIT")
    if raw is None:
        return not app.testing
    return bool(raw)


def _describe(name: str, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items()))
    return f"{name}({args})"


def _push(app: Flask, name: str, kwargs: dict[str, Any]) -> Any:
    """Put the job on the RQ queue; None (and a warning) when Redis cannot be reached."""
    from redis.exceptions import RedisError
    from rq import Queue, Retry

    state = _state(app)
    if time.monotonic() < state.down_until:
        log.info("redis recently unreachable; job left to the periodic sweep",
                 extra={"job": name})
        return None
    intervals = retry_intervals(app)
    options: dict[str, Any] = {}
    if intervals:
        options["retry"] = Retry(max=len(intervals), interval=intervals)
    try:
        queue = Queue(QUEUE_NAME, connection=redis_connection(app))
        return queue.enqueue(
            run_job, args=(name, kwargs), description=_describe(name, kwargs),
            job_timeout=int(app.config["JOBS_TIMEOUT"]), result_ttl=24 * 3600,
            failure_ttl=30 * 24 * 3600,
            meta={"job": name, "max_retries": len(intervals)}, **options)
    except RedisError as exc:
        state.down_until = time.monotonic() + 10
        log.warning("redis unreachable; job left to the periodic sweep: %s", exc,
                    extra={"job": name})
        return None


# Running jobs --------------------------------------------------------------------------------

def _call(name: str, kwargs: dict[str, Any]) -> Any:
    """Run one job in the current app context, then any jobs it asked for (in-process)."""
    token = _deferred.set([])
    try:
        result = resolve(name)(**kwargs)
        deferred = _deferred.get() or []
    finally:
        _deferred.reset(token)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    unique = {_key(n, k): (n, k) for n, k in deferred}
    for nested_name, nested_kwargs in unique.values():
        if redis_url(app):
            _push(app, nested_name, nested_kwargs)
        else:
            run_inline(app, nested_name, nested_kwargs)
    return result


def run_inline(app: Flask, name: str, kwargs: dict[str, Any] | None = None) -> Any:
    """Run a job now in this process, in its own app context (so its own database session).
    A failure is logged, never raised."""
    started = time.monotonic()
    try:
        with app.app_context():
            result = _call(name, kwargs or {})
    except Exception:
        log.exception("job failed", extra={"job": name})
        return None
    log.debug("job done", extra={"job": name, "seconds": round(time.monotonic() - started, 3)})
    return result


_worker_app: Flask | None = None
_start_lock = threading.Lock()


def _app_for_job() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    return _worker_app


def run_job(name: str, kwargs: dict[str, Any] | None = None) -> Any:
    """The RQ entry point of every job: run it in an app context. Exceptions propagate, so
    RQ retries the job and, when the retries are spent, keeps it as failed."""
    app = _app_for_job()
    state = _state(app)
    if state.pid != os.getpid():
        # A forked work horse: never reuse the parent's database connections.
        with app.app_context():
            db.engine.dispose(close=False)
        state.pid = os.getpid()
        state.redis = None
    with app.app_context():
        return _call(name, kwargs or {})


# The embedded schedule -----------------------------------------------------------------------

def next_run(periodic: Periodic, after: datetime) -> datetime:
    """When ``periodic`` is next due after ``after`` (UTC); cron fields are local time."""
    if periodic.cron:
        from croniter import croniter

        local = after.astimezone()
        nxt: datetime = croniter(periodic.cron, local).get_next(datetime)
        return nxt.astimezone(UTC)
    assert periodic.interval
    return after + timedelta(seconds=periodic.interval)


def _periodic_loop(app: Flask, stop: threading.Event) -> None:
    now = datetime.now(UTC)
    # Interval jobs run once at start (catching up whatever waited), cron jobs when due.
    due = {p.name: (next_run(p, now) if p.cron else now) for p in SCHEDULE}
    while not stop.is_set():
        now = datetime.now(UTC)
        for periodic in SCHEDULE:
            if due[periodic.name] <= now:
                run_inline(app, periodic.name)
                due[periodic.name] = next_run(periodic, datetime.now(UTC))
        wait = min(due.values()) - datetime.now(UTC)
        stop.wait(max(0.5, min(wait.total_seconds(), 60.0)))


def start_periodic(app: Flask, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the in-process schedule (embedded mode) once per process."""
    state = _state(app)
    with _start_lock:
        if state.periodic is not None and state.periodic.is_alive():
            return state.periodic
        thread = threading.Thread(target=_periodic_loop, args=(app, stop or threading.Event()),
                                  name="marketplace-jobs", daemon=True)
        thread.start()
        state.periodic = thread
    log.info("periodic jobs run in this process (no REDIS_URL)")
    return thread



def _periodic_wanted(app: Flask) -> bool:
    return (not app.testing and not redis_url(app)
            and str(app.config["JOBS_PERIODIC"]).lower() not in {"off", "0", "false", "no"})


def init_app(app: Flask) -> None:
    """Run in-process jobs after each request, and start the embedded schedule lazily on
    the first request (never for command-line tools or under TESTING)."""
    _state(app)

    @app.before_request
    def _start_schedule() -> None:
        state = _state(app)
        if state.periodic is None and _periodic_wanted(app):
            start_periodic(app)

    @app.teardown_request
    def _run_after_request(exc: BaseException | None) -> None:
        queued: list[Request] = g.pop("jobs_after_request", [])
        seen: set[str] = set()
        for name, kwargs in queued:
            key = _key(name, kwargs)
            if key not in seen:
                seen.add(key)
                run_inline(app, name, kwargs)


# Queue inspection (the admin page) -----------------------------------------------------------

@dataclass(frozen=True)
class FailedJob:
    id: str
    name: str
    description: str
    failed_at: datetime | None
    error: str
    attempts: int


@dataclass(frozen=True)
class QueueReport:
    queued: int
    started: int
    scheduled: int
    failed: int
    failed_jobs: list[FailedJob]


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else "No error recorded"


def queue_report(app: Flask, limit: int = 50) -> QueueReport:
    """Counts of the queue and its latest failed jobs. Raises RedisError when unreachable."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    connection = redis_connection(app)
    queue = Queue(QUEUE_NAME, connection=connection)
    failed = FailedJobRegistry(queue=queue)
    ids = failed.get_job_ids(0, limit - 1, desc=True)
    jobs = [job for job in Job.fetch_many(ids, connection=connection) if job is not None]
    rows = []
    for job in jobs:
        meta = job.get_meta(refresh=False)
        name = str(meta.get("job") or (job.args[0] if job.args else job.func_name))
        max_retries = int(meta.get("max_retries") or 0)
        attempts = 1 + max(0, max_retries - int(job.retries_left or 0)) if max_retries else 1
        result = job.latest_result()
        rows.append(FailedJob(job.id, name, job.description or name, job.ended_at,
                              _last_line(result.exc_string if result else None), attempts))
    return QueueReport(queued=queue.count, started=StartedJobRegistry(queue=queue).count,
                       scheduled=ScheduledJobRegistry(queue=queue).count,
                       failed=failed.count, failed_jobs=rows)


def requeue_failed(app: Flask, job_id: str) -> str:
    """Put a failed job back on the queue; returns its job name. Raises LookupError when
    the job is not (or no longer) failed, RedisError when Redis is unreachable."""
    from rq import Queue
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.registry import FailedJobRegistry

    queue = Queue(QUEUE_NAME, connection=redis_connection(app))
    registry = FailedJobRegistry(queue=queue)
    try:
        job = registry.requeue(job_id)
    except (InvalidJobOperation, NoSuchJobError) as exc:
        raise LookupError(job_id) from exc
    return str(job.get_meta(refresh=False).get("job") or job.description)

