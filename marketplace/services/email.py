"""The email outbox: every message is stored with the change that caused it, then delivered."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import OutboxEmail, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link for emails, always built from BASE_URL (never the request's Host)."""
    parts = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def queue_email(to: str, template: str, **context: Any) -> OutboxEmail:
    """Render ``templates/email/<template>.txt`` and add it to the outbox.

    The first line of the rendered template is the subject; the rest is the body.
    """
    rendered = render_template(
        f"email/{template}.txt",
        service_name=current_app.config["SERVICE_NAME"],
        **context,
    ).strip()
    subject, _, body = rendered.partition("\n")
    message = OutboxEmail(
        to_address=to, subject=subject.removeprefix("Subject:").strip(), body_text=body.strip()
    )
    db.session.add(message)
    if smtp_configured():
        from marketplace import jobs

        jobs.enqueue("deliver_emails")  # once the transaction commits
    return message


def smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _send(message: OutboxEmail) -> None:
    cfg = current_app.config
    email = EmailMessage()
    email["From"] = cfg["MAIL_FROM"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"outbox{message.id}")
    email.set_content(message.body_text + "\n")
    smtp_cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_cls(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_USE_TLS"] and not cfg["MAIL_USE_SSL"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def deliver_outbox(limit: int = 100) -> tuple[int, int]:
    """Send queued messages by SMTP. Returns (sent, failed). Does nothing without MAIL_SERVER.

    Each message is claimed with a row lock (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) for the
    transaction that sends and marks it, so two processes delivering at once never send the
    same message twice.
    """
    if not smtp_configured():
        return (0, 0)
    sent = failed = 0
    last_id = 0
    for _ in range(limit):
        message = db.session.scalar(
            select(OutboxEmail)
            .where(
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.attempts < MAX_ATTEMPTS,
                OutboxEmail.id > last_id,
            )
            .order_by(OutboxEmail.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message is None:
            break
        last_id = message.id
        message.attempts += 1
        try:
            _send(message)
        # ValueError: a message that cannot be built (say a line break in a header) is marked
        # failed like any other, instead of aborting the batch and blocking the queue.
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            failed += 1
            log.warning("email delivery failed", extra={"outbox_id": message.id})
        else:
            message.sent_at = utcnow()
            message.last_error = None
            sent += 1
        db.session.commit()
    return (sent, failed)
