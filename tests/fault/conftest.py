"""Fault-test fixtures: real processes, started here and stopped afterwards.

- a PostgreSQL database of its own (``fault_test`` on the machine's server, dropped and created,
  migrated with ``flask db upgrade``), seeded per test through the service layer;
- a private ``redis-server`` on a free port (stoppable and restartable on the same port);
- an SMTP server (aiosmtpd) that keeps what it receives;
- gunicorn (``-c gunicorn.conf.py wsgi:app``, production profile, 2 workers of 1 thread each,
  so two requests at once are served by two processes).

Run with ``make faulttest`` (never part of ``make test``). FAULT_DATABASE_URL picks another
server or database name.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql

from tests.conftest import TEST_PASSWORD
from tests.redis_support import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/fault_test"


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last failure
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# What the tests measured, printed at the end of the run ------------------------------------

NOTES: list[str] = []


@pytest.fixture
def note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a line for the run's summary ("fault test results")."""
    def add(text: str) -> None:
        NOTES.append(f"{request.node.name}: {text}")

    return add


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if NOTES:
        terminalreporter.section("fault test results")
        for line in NOTES:
            terminalreporter.write_line(line)


# PostgreSQL -----------------------------------------------------------------------------------

@dataclass
class Database:
    url: str  # postgresql://... (libpq form, for psycopg and DATABASE_URL)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, connect_timeout=5, **kwargs)

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.connect(autocommit=True) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def value(self, query: str, *params: Any) -> Any:
        found = self.rows(query, *params)
        return found[0][0] if found else None


def _admin_url(url: str) -> tuple[str, str]:
    match = re.match(r"^(postgres(?:ql)?://[^/]*)/([A-Za-z0-9_]+)$", url)
    if not match:
        raise pytest.UsageError(f"FAULT_DATABASE_URL must end in a database name: {url}")
    return f"{match.group(1)}/postgres", match.group(2)


def pg_up(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A fresh ``fault_test`` database, migrated to head with ``flask db upgrade``."""
    url = os.environ.get("FAULT_DATABASE_URL", DEFAULT_URL)
    admin, name = _admin_url(url)
    if not pg_up(admin):
        pytest.fail(f"PostgreSQL is not reachable at {admin}: the fault tests need it")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {**os.environ, "MARKETPLACE_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
           "DATABASE_URL": url,
           "MARKETPLACE_INSTANCE_PATH": str(tmp_path_factory.mktemp("migrate"))}
    env.pop("REDIS_URL", None)
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "marketplace", "db", "upgrade"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    yield Database(url)


@pytest.fixture(scope="session")
def seed_app(database: Database, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """An in-process app on the fault database, for building test data with the services."""
    from marketplace import create_app
    from marketplace.config import sqlalchemy_url
    from marketplace.extensions import db

    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("seed"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(database.url),
                      "ENV_NAME": "testing", "BASE_URL": "http://marketplace.test",
                      "REDIS_URL": None, "MAIL_SERVER": None})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seed(seed_app):  # type: ignore[no-untyped-def]
    """Run ``fn`` in an app context on the fault database and return its (plain) result."""
    from marketplace.extensions import db

    def run(fn: Callable[[], Any]) -> Any:
        with seed_app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    return run


# Redis ----------------------------------------------------------------------------------------

def redis_up(port: int) -> bool:
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server for the run (tests stop it and start it on the same port)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


# SMTP -----------------------------------------------------------------------------------------

@dataclass
class Mailbox:
    port: int
    messages: list[tuple[list[str], str]] = field(default_factory=list)

    def to(self, address: str) -> list[str]:
        return [body for rcpts, body in list(self.messages) if address in rcpts]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            box.messages.append((list(envelope.rcpt_tos),
                                 envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# gunicorn -------------------------------------------------------------------------------------

@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def master_pid(self) -> int:
        return self.process.pid

    def workers(self) -> list[int]:
        """The worker processes (children of the gunicorn master)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if int(ppid) == self.master_pid and state not in {"Z", "X"}:
                found.append(int(stat.parent.name))
        return found

    def kill_workers(self) -> list[int]:
        killed = self.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def healthy(self) -> bool:
        try:
            return requests.get(self.base + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 60, gone: list[int] | None = None) -> None:
        """Wait until both workers run (none of the ``gone`` ones) and /healthz answers."""
        def ready() -> bool:
            workers = self.workers()
            return (self.process.poll() is None and len(workers) == 2
                    and not set(workers) & set(gone or []) and self.healthy())

        wait_for(ready, timeout, "gunicorn's two workers to answer /healthz", 0.2)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def flask(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a ``flask --app marketplace`` command with the server's environment."""
        return subprocess.run([str(VENV_BIN / "flask"), "--app", "marketplace", *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)


@pytest.fixture(scope="session")
def server(database: Database, redis_server: RedisServer, mailbox: Mailbox,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("gunicorn")
    env = {
        **os.environ,
        "MARKETPLACE_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_server.url,
        "SESSION_COOKIE_SECURE": "0",
        "MATCH_INDEX_PRELOAD": "0",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "BIND": f"127.0.0.1:{port}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "LOGIN_RATE_LIMIT_IP": "10000 per minute",
        "LOGIN_RATE_LIMIT_ACCOUNT": "10000 per minute",
        "SENSITIVE_RATE_LIMIT": "10000 per minute",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mailbox.port),
        "MARKETPLACE_INSTANCE_PATH": str(workdir / "instance"),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8192",
        "LOG_FORMAT": "text",
    }
    log = workdir / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    running = Server(process, port, env, log)
    try:
        running.wait_ready()
    except AssertionError:
        process.kill()
        raise AssertionError("gunicorn did not start:\n" + running.tail()) from None
    yield running
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# Browsing as a person -------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser(requests.Session):
    """A person's browser: cookies, and forms posted with the page's CSRF token."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def get(self, path: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 30)
        return super().get(self.base + path, **kwargs)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def submit(self, path: str, data: dict[str, Any], *, token: str | None = None,
               **kwargs: Any) -> requests.Response:
        """POST a form (the token read from the form's page unless given)."""
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        body = {"csrf_token": token or self.csrf(path), **data}
        return self.post(self.base + path, data=body, **kwargs)

    def sign_in(self, email: str, password: str = TEST_PASSWORD) -> None:
        response = self.submit("/sign-in", {"email": email, "password": password})
        assert response.status_code == 302, (response.status_code, response.text[:500])


@pytest.fixture
def browser(server: Server) -> Callable[[str], Browser]:
    made: list[Browser] = []

    def make(email: str | None = None) -> Browser:
        person = Browser(server.base)
        if email:
            person.sign_in(email)
        made.append(person)
        return person

    yield make  # type: ignore[misc]
    for person in made:
        person.close()


def run_at_once(*calls: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Run the calls in threads released together by a barrier; their results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        barrier.wait(timeout=30)
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what is tested
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a request is stuck"
    return results
