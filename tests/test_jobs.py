"""Background jobs: asked for after commit only, run in-process without Redis, on RQ with a
real redis-server and worker (retries, failures shown to admins and requeued, a killed worker
losing nothing, Redis down), the worker command, and the timed deadline/award notices."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client
from flask import Flask
from sqlalchemy import select

from marketplace import jobs
from marketplace.config import PROJECT_ROOT
from marketplace.extensions import db
from marketplace.jobs_cli import _cron_scheduler
from marketplace.models import AuditEvent, OutboxEmail
from marketplace.services.email import MAX_ATTEMPTS, queue_email
from tests.factories import admin_user, supplier_user
from tests.redis_support import RedisServer, free_port, redis_server
from tests.team_admin_support import audit_events, browser, outbox
from tests.test_email import SMTPServer

CALLS: list[dict[str, Any]] = []


# Jobs used by these tests (run by name "tests.test_jobs:<function>") ----------------------

def record(**kwargs: Any) -> None:
    CALLS.append(kwargs)


def explode(**kwargs: Any) -> None:
    raise RuntimeError("boom for the admin page")


def slow_marker(folder: str, seconds: float) -> str:
    """Mark that it started (with the process id), sleep, mark done. A rerun after a killed
    attempt finds the first marker and finishes straight away."""
    path = Path(folder)
    resumed = any(path.glob("started-*"))
    (path / f"started-{os.getpid()}").write_text("")
    if not resumed:
        time.sleep(seconds)
    (path / "done").write_text(str(os.getpid()))
    return "done"


def queue_three_emails() -> None:
    """Three emails, each in its own transaction (as the alert digests do)."""
    for n in range(3):
        password_change_email(f"person{n}@example.com")
        db.session.commit()


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as server:
        yield server


def password_change_email(to: str = "someone@example.com") -> None:
    user = supplier_user("bidder", email=to, full_name="Some One")
    queue_email(to, "password_changed", user=user, reset="http://marketplace.test/reset")


def rq_worker(app: Flask) -> Any:
    from rq import SimpleWorker

    connection = jobs.redis_connection(app)
    return SimpleWorker([jobs.QUEUE_NAME], connection=connection)


def queue(app: Flask) -> Any:
    from rq import Queue

    return Queue(jobs.QUEUE_NAME, connection=jobs.redis_connection(app))


# After commit, never before ---------------------------------------------------------------

def test_a_job_runs_only_after_the_transaction_commits(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(JOBS_INLINE_AFTER_COMMIT=True)
    with app.app_context():
        supplier_user("bidder")  # leaves the session in a transaction
        db.session.execute(select(1))
        jobs.enqueue("tests.test_jobs:record", step=1)
        jobs.enqueue("tests.test_jobs:record", step=1)  # asked twice: runs once
        assert CALLS == []
        db.session.commit()
        assert CALLS == [{"step": 1}]

        db.session.execute(select(1))
        jobs.enqueue("tests.test_jobs:record", step=2)
        db.session.rollback()
        db.session.execute(select(1))
        db.session.commit()
        assert CALLS == [{"step": 1}]

        # No transaction in progress: at once.
        jobs.enqueue("tests.test_jobs:record", step=3)
        assert CALLS == [{"step": 1}, {"step": 3}]


def test_an_unknown_job_name_is_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="unknown job"):
        jobs.enqueue("no_such_job")


def test_a_failing_inline_job_is_logged_not_raised(app_factory, capsys) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(JOBS_INLINE_AFTER_COMMIT=True)
    with app.app_context():
        jobs.enqueue("tests.test_jobs:explode")
        assert "job failed" in capsys.readouterr().err


def test_without_redis_emails_go_out_after_the_request(app_factory) -> None:  # type: ignore[no-untyped-def]
    with SMTPServer(free_port()) as smtp:
        app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=3)
        with app.app_context():
            supplier_user("bidder", email="known@example.com")
            response = browser(app).post("/password/forgot",
                                         data={"email": "known@example.com"})
            assert response.status_code == 200
            assert [m["To"] for m in smtp.handler.messages] == ["known@example.com"]
            assert [r.status for r in outbox()] == ["sent"]


def test_the_embedded_schedule_runs_the_sweeps_in_a_thread(app_factory) -> None:  # type: ignore[no-untyped-def]
    with SMTPServer(free_port()) as smtp:
        app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=3)
        with app.app_context():
            assert not jobs._periodic_wanted(app)  # never on its own under TESTING
            password_change_email()
            db.session.commit()  # under TESTING nothing runs after a commit outside requests
            assert [r.status for r in outbox()] == ["queued"]
            stop = threading.Event()
            thread = jobs.start_periodic(app, stop)
            assert thread is not None
            try:
                assert _wait_for(lambda: smtp.handler.envelopes, 15)
            finally:
                stop.set()
                thread.join(timeout=15)
            assert not thread.is_alive()
            assert [r.status for r in outbox()] == ["sent"]


def test_the_admin_page_without_redis_lists_undeliverable_emails(app: Flask) -> None:
    password_change_email("bounce@example.com")
    db.session.commit()
    message = outbox()[0]
    message.attempts = MAX_ATTEMPTS
    message.last_error = "SMTPRecipientsRefused: <bounce@example.com>"
    db.session.commit()
    client = browser(app, admin_user())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "jobs run inside the web process" in page
    assert "bounce@example.com" in page and "SMTPRecipientsRefused" in page

    response = client.post("/admin/jobs/emails/retry", data={"message_id": str(message.id)})
    assert response.status_code == 302
    assert outbox()[0].attempts == 0
    (event,) = audit_events("email.delivery_retried")
    assert event.after == {"attempts": 0}
    assert client.post("/admin/jobs/emails/retry", data={"message_id": "x"}).status_code == 302
    assert client.post("/admin/jobs/emails/retry", data={"message_id": str(message.id)},
                       csrf=False).status_code == 400


def test_the_worker_command_needs_redis(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code != 0
    assert "Error: REDIS_URL is not set" in result.output


# On RQ with a real redis-server -------------------------------------------------------------

def test_emails_are_delivered_by_a_worker(app_factory, redis: RedisServer) -> None:  # type: ignore[no-untyped-def]
    with SMTPServer(free_port()) as smtp:
        app = app_factory(REDIS_URL=redis.url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port,
                          MAIL_TIMEOUT=3)
        with app.app_context():
            password_change_email()
            assert queue(app).count == 0  # not before the commit
            db.session.commit()
            (job,) = queue(app).get_jobs()
            assert job.args == ("deliver_emails", {})
            assert job.description == "deliver_emails()"
            assert job.retries_left == 4 and job.retry_intervals == [10, 60, 300, 900]
            assert smtp.handler.envelopes == []

            assert rq_worker(app).work(burst=True)
            assert [m["To"] for m in smtp.handler.messages] == ["someone@example.com"]
            assert [r.status for r in outbox()] == ["sent"]
            assert job.get_status(refresh=True) == "finished"
            assert job.return_value() == {"sent": 1, "failed": 0}


def test_jobs_asked_for_by_a_job_are_enqueued_once_after_it(app_factory, redis: RedisServer  # type: ignore[no-untyped-def]
                                                          ) -> None:
    app = app_factory(REDIS_URL=redis.url, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    with app.app_context():
        jobs.run_job("tests.test_jobs:queue_three_emails")
        assert len(outbox()) == 3
        assert [job.args for job in queue(app).get_jobs()] == [("deliver_emails", {})]


def test_a_failing_job_is_retried_then_shown_to_admins_and_requeued(  # type: ignore[no-untyped-def]
        app_factory, redis: RedisServer) -> None:
    app = app_factory(REDIS_URL=redis.url, JOBS_RETRY_INTERVALS="0,0")
    with app.app_context():
        jobs.enqueue("tests.test_jobs:explode", reason="test")
        rq_worker(app).work(burst=True)
        report = jobs.queue_report(app)
        assert (report.queued, report.started, report.failed) == (0, 0, 1)
        (failed,) = report.failed_jobs
        assert failed.name == "tests.test_jobs:explode"
        assert failed.attempts == 3
        assert failed.error == "RuntimeError: boom for the admin page"

        client = browser(app, admin_user())
        page = client.get("/admin/jobs").get_data(as_text=True)
        assert "tests.test_jobs:explode(reason=&#39;test&#39;)" in page
        assert "RuntimeError: boom for the admin page" in page
        assert re.search(r'<dt class="govuk-summary-list__key">Failed</dt>'
                         r'<dd class="govuk-summary-list__value">1</dd>', page)

        assert client.post("/admin/jobs/retry", data={"job_id": failed.id},
                           csrf=False).status_code == 400
        response = client.post("/admin/jobs/retry", data={"job_id": failed.id})
        assert response.status_code == 302
        report = jobs.queue_report(app)
        assert (report.queued, report.failed) == (1, 0)
        (event,) = audit_events("jobs.requeued")
        assert event.object_id == failed.id and event.after == {
            "job": "tests.test_jobs:explode"}
        # Not failed any more: a second retry is refused with a message.
        client.post("/admin/jobs/retry", data={"job_id": failed.id})
        assert "no longer in the failed list" in client.get("/admin/jobs").get_data(
            as_text=True)


def test_with_redis_down_requests_work_and_the_sweep_delivers_later(  # type: ignore[no-untyped-def]
        app_factory, tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")  # not started yet: nothing listens
    with SMTPServer(free_port()) as smtp:
        app = app_factory(REDIS_URL=server.url, MAIL_SERVER="127.0.0.1",
                          MAIL_PORT=smtp.port, MAIL_TIMEOUT=3)
        with app.app_context():
            supplier_user("bidder", email="known@example.com")
            started = time.monotonic()
            response = browser(app).post("/password/forgot",
                                         data={"email": "known@example.com"})
            assert response.status_code == 200
            assert time.monotonic() - started < 5
            assert [r.status for r in outbox()] == ["queued"]

            server.start()
            try:
                jobs._state(app).down_until = 0
                client = browser(app, admin_user())
                assert client.get("/admin/jobs").status_code == 200
                # The periodic schedule enqueues the sweep; a worker runs it.
                _cron_scheduler(app, jobs.redis_connection(app)).enqueue_jobs()
                rq_worker(app).work(burst=True)
                assert [m["To"] for m in smtp.handler.messages] == ["known@example.com"]
                assert [r.status for r in outbox()] == ["sent"]
            finally:
                server.stop()
            page = browser(app, admin_user()).get("/admin/jobs")
            assert page.status_code == 200
            assert "Redis cannot be reached" in page.get_data(as_text=True)


def _worker_process(app: Flask, redis_url: str, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MARKETPLACE_ENV="testing", REDIS_URL=redis_url,
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               JOBS_MONITORING_INTERVAL="1", JOBS_HEARTBEAT_GRACE="1",
               JOBS_MAINTENANCE_INTERVAL="1", PYTHONPATH=str(PROJECT_ROOT))
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen([flask, "--app", "marketplace", "worker", *args], env=env,
                            cwd=PROJECT_ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(check, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_job_survives_a_killed_worker(app_factory, redis: RedisServer,  # type: ignore[no-untyped-def]
                                        tmp_path: Path) -> None:
    app = app_factory(REDIS_URL=redis.url, JOBS_RETRY_INTERVALS="0")
    folder = tmp_path / "marks"
    folder.mkdir()
    with app.app_context():
        jobs.enqueue("tests.test_jobs:slow_marker", folder=str(folder), seconds=60)
        (job,) = queue(app).get_jobs()

    first = _worker_process(app, redis.url, "--no-cron")
    try:
        assert _wait_for(lambda: any(folder.glob("started-*")), 30), \
            first.stdout.read1().decode() if first.stdout else ""
        horse = int(next(folder.glob("started-*")).name.split("-")[1])
        os.kill(horse, signal.SIGKILL)  # the work horse, in its own process group
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its scheduler
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
    assert not (folder / "done").exists()
    assert job.get_status(refresh=True) == "started"

    time.sleep(2.5)  # the killed horse's heartbeat lapses (1 s monitoring + 1 s grace)
    second = _worker_process(app, redis.url, "--burst")
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 0, output.decode()
    assert (folder / "done").exists(), output.decode()
    assert job.get_status(refresh=True) == "finished"
    assert job.return_value() == "done"


def test_an_idle_worker_stops_on_sigterm(app_factory, redis: RedisServer) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM (a deployment, systemd, Ctrl+C) stops the worker; it is not mistaken for a
    crash and restarted."""
    app = app_factory(REDIS_URL=redis.url)
    worker = _worker_process(app, redis.url)
    try:
        connection = redis_client.Redis.from_url(redis.url)
        assert _wait_for(lambda: any(connection.scan_iter("rq:worker:*")), 30), \
            worker.stdout.read1().decode() if worker.stdout else ""
        time.sleep(1)  # idle, waiting for a job
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    assert b"restarting" not in output, output.decode()


# Deadline and award notices ------------------------------------------------------------------

def test_deadline_and_award_notices_are_sent_once(app: Flask) -> None:
    from tests.evaluation_support import evaluation_setup
    from tests.test_award_service import awarded, ready, time_passes

    closed = evaluation_setup(bidders=2)
    result = jobs.run_job("send_deadline_notices")
    assert result == {"deadlines": 1, "awards": 0, "emails": 1}
    (notice,) = [m for m in outbox() if m.subject.startswith("Bids can now be opened")]
    assert notice.to_address == closed.lead.email
    assert "2 suppliers submitted bids" in notice.body_text
    assert f"http://marketplace.test/council/challenges/{closed.challenge.id}/evaluation" in (
        notice.body_text)
    (event,) = audit_events("challenge.deadline_notice_sent")
    assert event.actor_id is None and event.actor_label == "system"
    assert event.object_id == str(closed.challenge.id)
    assert event.after == {"recipients": 1, "bids": 2}
    assert jobs.run_job("send_deadline_notices") == {"deadlines": 0, "awards": 0, "emails": 0}

    setup = awarded(ready(bidders=2))  # opened before any notice: none for its deadline
    before = len(outbox())
    assert jobs.run_job("send_deadline_notices")["awards"] == 0  # still in standstill
    time_passes(setup)
    result = jobs.run_job("send_deadline_notices")
    assert result["awards"] == 1 and result["deadlines"] == 0
    final = [m for m in outbox()[before:] if m.subject.startswith("Award confirmed")]
    recipients = sorted(m.to_address for m in final)
    assert recipients == sorted([setup.lead.email, *(b.email for b in setup.bidders)])
    winner = next(m for m in final if m.to_address == setup.bidders[0].email)
    loser = next(m for m in final if m.to_address == setup.bidders[1].email)
    assert "will contact" in winner.body_text and "Thank you for your bid" in loser.body_text
    assert len(audit_events("challenge.award_final_notice_sent")) == 1
    assert jobs.run_job("send_deadline_notices") == {"deadlines": 0, "awards": 0, "emails": 0}
    assert db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "challenge.award_final_notice_sent")) is not None
    assert all(isinstance(m, OutboxEmail) for m in final)
