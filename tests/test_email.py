"""The email outbox delivered to a real SMTP server (aiosmtpd), failures, retries and the
send-emails command."""

from __future__ import annotations

import email
import re
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import OutboxEmail
from marketplace.services.email import MAX_ATTEMPTS, deliver_outbox, queue_email
from tests.conftest import TEST_PASSWORD
from tests.dbutil import using_postgres
from tests.factories import supplier_user

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")




def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.envelopes: list[object] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=default_policy)  # type: ignore[attr-defined]
                for e in self.envelopes]


class SMTPServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Collector()
        self.controller = aiosmtpd_controller.Controller(
            self.handler, hostname="127.0.0.1", port=port)

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer(free_port()) as server:
        yield server


def mail_app(app_factory, port: int | None, **overrides: object) -> Flask:  # type: ignore[no-untyped-def]
    config: dict[str, object] = {"MAIL_TIMEOUT": 3,
                                 "MAIL_FROM": "Marketplace <noreply@marketplace.test>"}
    if port is not None:
        config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    config.update(overrides)
    return app_factory(**config)


def outbox() -> list[OutboxEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def queue_two() -> None:
    queue_email("first@example.com", "password_changed",
                user=supplier_user("bidder", email="first@example.com", full_name="First Person"),
                reset="http://marketplace.test/password/forgot")
    queue_email("second@example.com", "reset_password",
                user=supplier_user("bidder", email="second@example.com",
                                   full_name="Second Person"),
                link="http://marketplace.test/password/reset/abc", minutes=60)
    db.session.commit()


# Delivery ---------------------------------------------------------------------------------


def test_deliver_outbox_sends_queued_messages(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        queue_two()
        assert [m.status for m in outbox()] == ["queued", "queued"]

        assert deliver_outbox() == (2, 0)

        rows = outbox()
        assert all(r.sent_at is not None and r.attempts == 1 and r.last_error is None
                   for r in rows)
        assert [r.status for r in rows] == ["sent", "sent"]
        messages = smtp.handler.messages
        assert [m["To"] for m in messages] == ["first@example.com", "second@example.com"]
        assert [e.rcpt_tos for e in smtp.handler.envelopes] == [  # type: ignore[attr-defined]
            ["first@example.com"], ["second@example.com"]]
        first, second = messages
        assert first["From"] == "Marketplace <noreply@marketplace.test>"
        assert first["Subject"] == "Your password has been changed"
        assert first["Message-ID"] and "outbox" in first["Message-ID"]
        assert "Hello First Person" in first.get_content()
        assert second["Subject"] == "Reset your password"
        assert "http://marketplace.test/password/reset/abc" in second.get_content()

        # Nothing is sent twice.
        assert deliver_outbox() == (0, 0)
        assert len(smtp.handler.envelopes) == 2


def test_registration_emails_reach_the_smtp_server(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        client = app.test_client()
        response = client.post("/register/supplier", data={
            "full_name": "Zoë Ødegård", "email": "zoe@example.com",
            "password": TEST_PASSWORD, "password_confirm": TEST_PASSWORD,
            "organisation_choice": "new", "organisation_name": "Fjord Analytics Ltd",
            "organisation": "0"})
        assert response.status_code == 302
        deliver_outbox()  # a no-op if the request already delivered it on the way out
        assert [r.status for r in outbox()] == ["sent"]
        (message,) = smtp.handler.messages
        assert message["To"] == "zoe@example.com"
        assert message["Subject"] == (
            "Confirm your email address for the Council Innovation Marketplace")
        body = message.get_content()
        assert "Hello Zoë Ødegård" in body
        link = re.search(r"http://marketplace\.test(/verify-email/\S+)", body)
        assert link, body
        assert client.get(link.group(1)).status_code == 200


def test_non_ascii_subjects_are_encoded(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        requester = supplier_user("bidder", full_name="Zoë Ødegård")
        queue_email("admin@example.com", "join_request", admin=requester, requester=requester,
                    organisation=requester.organisation, link="http://marketplace.test/x")
        db.session.commit()
        assert deliver_outbox() == (1, 0)
        (message,) = smtp.handler.messages
        assert message["Subject"].startswith("Zoë Ødegård wants to join")
        raw = smtp.handler.envelopes[0].content  # type: ignore[attr-defined]
        assert raw.isascii() or b"=?utf-8?" in raw.lower()


def test_limit_sends_a_batch(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        queue_two()
        assert deliver_outbox(limit=1) == (1, 0)
        assert [r.status for r in outbox()] == ["sent", "queued"]
        assert deliver_outbox(limit=1) == (1, 0)
        assert [r.status for r in outbox()] == ["sent", "sent"]


def test_emails_are_sent_after_the_request_outside_tests(app_factory, smtp):
    """With SMTP configured (and not in TESTING mode) mail goes out when the request ends."""
    app = mail_app(app_factory, smtp.port, TESTING=False)
    with app.app_context():
        client = app.test_client()
        response = client.post("/password/forgot", data={"email": "nobody@example.com"})
        assert response.status_code == 200
        assert smtp.handler.envelopes == []
        user = supplier_user("bidder", email="known@example.com")
        assert user.email_verified
        client.post("/password/forgot", data={"email": "known@example.com"})
        assert [m["To"] for m in smtp.handler.messages] == ["known@example.com"]
        assert [r.status for r in outbox()] == ["sent"]


# Failures ---------------------------------------------------------------------------------


def test_messages_stay_queued_when_the_server_is_down(app_factory):
    port = free_port()  # nothing listens here
    app = mail_app(app_factory, port)
    with app.app_context():
        queue_two()
        assert deliver_outbox() == (0, 2)
        rows = outbox()
        for row in rows:
            assert row.sent_at is None
            assert row.attempts == 1
            assert row.last_error and row.last_error.startswith("ConnectionRefusedError")
            assert row.status == "failed"

        assert deliver_outbox() == (0, 2)
        assert [r.attempts for r in outbox()] == [2, 2]

        # When the server comes back the same messages go out.
        with SMTPServer(port) as server:
            assert deliver_outbox() == (2, 0)
        rows = outbox()
        assert all(r.sent_at is not None and r.last_error is None for r in rows)
        assert [r.attempts for r in rows] == [3, 3]
        assert [m["To"] for m in server.handler.messages] == [
            "first@example.com", "second@example.com"]


def test_delivery_gives_up_after_max_attempts(app_factory):
    app = mail_app(app_factory, free_port())
    with app.app_context():
        queue_two()
        for _ in range(MAX_ATTEMPTS):
            deliver_outbox()
        assert [r.attempts for r in outbox()] == [MAX_ATTEMPTS, MAX_ATTEMPTS]
        assert deliver_outbox() == (0, 0)
        assert [r.attempts for r in outbox()] == [MAX_ATTEMPTS, MAX_ATTEMPTS]


def test_a_malformed_message_does_not_block_the_queue(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        db.session.add(OutboxEmail(to_address="victim@example.com\nBcc: spy@evil.example",
                                   subject="Hello", body_text="Body"))
        db.session.commit()
        queue_two()
        assert deliver_outbox() == (2, 1)
        bad, first, second = outbox()
        assert bad.sent_at is None and bad.attempts == 1
        assert bad.last_error and bad.last_error.startswith("ValueError")
        assert first.status == second.status == "sent"
        # No header injection reached the server.
        assert [e.rcpt_tos for e in smtp.handler.envelopes] == [  # type: ignore[attr-defined]
            ["first@example.com"], ["second@example.com"]]


def test_without_mail_server_nothing_is_delivered(app_factory):
    app = mail_app(app_factory, None)
    with app.app_context():
        assert app.config["MAIL_SERVER"] is None
        queue_two()
        assert deliver_outbox() == (0, 0)
        assert [(r.status, r.attempts) for r in outbox()] == [("queued", 0), ("queued", 0)]


def test_links_use_base_url_not_the_request_host(app_factory):
    # The test client keeps cookies per host, so CSRF is off here; it is not what is tested.
    app = mail_app(app_factory, None, WTF_CSRF_ENABLED=False)
    with app.app_context():
        supplier_user("bidder", email="known@example.com")
        client = app.test_client()
        response = client.post("/password/forgot", data={"email": "known@example.com"},
                               headers={"Host": "evil.example",
                                        "X-Forwarded-Host": "evil.example"})
        assert response.status_code == 200
        assert response.request.host == "evil.example"
        (message,) = outbox()
        assert "evil.example" not in message.body_text
        assert "http://marketplace.test/password/reset/" in message.body_text


# The send-emails command ------------------------------------------------------------------


def test_send_emails_command(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        queue_two()
        result = app.test_cli_runner().invoke(args=["send-emails"])
        assert result.exit_code == 0, result.output
        assert "sent 2, failed 0" in result.output
        assert len(smtp.handler.envelopes) == 2
        assert all(r.status == "sent" for r in outbox())

        result = app.test_cli_runner().invoke(args=["send-emails"])
        assert result.exit_code == 0 and "sent 0, failed 0" in result.output


def test_send_emails_command_with_limit(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        queue_two()
        result = app.test_cli_runner().invoke(args=["send-emails", "--limit", "1"])
        assert result.exit_code == 0 and "sent 1, failed 0" in result.output


def test_send_emails_command_reports_failures(app_factory):
    app = mail_app(app_factory, free_port())
    with app.app_context():
        queue_two()
        result = app.test_cli_runner().invoke(args=["send-emails"])
        assert "sent 0, failed 2" in result.output
        assert all(r.status == "failed" for r in outbox())


def test_send_emails_command_without_mail_server(app_factory):
    app = mail_app(app_factory, None)
    with app.app_context():
        queue_two()
        result = app.test_cli_runner().invoke(args=["send-emails"])
        assert result.exit_code != 0
        assert "Error: MAIL_SERVER is not set; emails stay in the outbox" in result.output
        assert [r.status for r in outbox()] == ["queued", "queued"]


@pytest.mark.skipif(not using_postgres(),
                    reason="row locks (FOR UPDATE SKIP LOCKED) need PostgreSQL")
def test_two_processes_delivering_at_once_send_each_message_exactly_once(app_factory, smtp):
    app = mail_app(app_factory, smtp.port)
    with app.app_context():
        user = supplier_user("bidder", email="many@example.com", full_name="Many Mails")
        for n in range(30):
            queue_email("many@example.com", "password_changed", user=user,
                        reset=f"http://marketplace.test/{n}")
        db.session.commit()

    barrier = threading.Barrier(2)
    results: list[tuple[int, int]] = []

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            results.append(deliver_outbox(limit=100))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(sent for sent, _ in results) == 30
    bodies = [m.get_content() for m in smtp.handler.messages]
    assert len(bodies) == 30
    assert len({re.search(r"marketplace\.test/(\d+)", b).group(1) for b in bodies}) == 30
