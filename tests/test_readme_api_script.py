"""The README's API script really works: it is run with bash and curl against a live HTTP
server on the test database, with tokens made by the ``create-token`` command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from marketplace.config import PROJECT_ROOT
from marketplace.extensions import db
from marketplace.models import AuditEvent, Bid, Challenge, ChallengeStatus, Role
from tests.factories import council_user, supplier_user

MARKER = "<!-- api-script:"


def readme_script() -> str:
    """The shell block that follows the api-script marker in the README."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(MARKER):]
    match = re.search(r"```sh\n(.*?)```", after, re.S)
    assert match, "the README's API script block is missing"
    return match.group(1)


@pytest.fixture
def live(app_factory) -> Iterator[tuple[Flask, str]]:  # type: ignore[no-untyped-def]
    app = app_factory()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, base
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _cli_token(app: Flask, email: str) -> str:
    result = app.test_cli_runner().invoke(args=["create-token", email, "--scope", "write"])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="needs curl and bash")
def test_the_readme_script_publishes_a_challenge_and_submits_a_bid(
        live: tuple[Flask, str], tmp_path: Path) -> None:
    app, base = live
    with app.app_context():
        officer = council_user(Role.PROCUREMENT_OFFICER, email="officer@leeds.gov.uk")
        bidder = supplier_user(Role.BIDDER, email="bidder@roadsense.example.com")
        officer_email, bidder_email = officer.email, bidder.email
        council_id = officer.organisation_id
        council_token = _cli_token(app, officer_email)
        supplier_token = _cli_token(app, bidder_email)

    script = tmp_path / "api.sh"
    script.write_text(readme_script(), encoding="utf-8")
    env = {**os.environ, "API": f"{base}/api/v1", "COUNCIL_TOKEN": council_token,
           "SUPPLIER_TOKEN": supplier_token}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Submitted: " in result.stdout

    with app.app_context():
        challenge = db.session.scalars(select(Challenge)).one()
        assert challenge.title == "Keeping gullies clear before heavy rain"
        assert challenge.status == ChallengeStatus.OPEN
        assert challenge.lead_council_id == council_id
        bid = db.session.scalars(select(Bid)).one()
        assert bid.challenge_id == challenge.id and bid.submitted_at is not None
        assert len(bid.answers) == 3
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"challenge.created", "challenge.published", "bid.submitted",
                "api_token.created"} <= actions


def test_the_script_uses_only_curl_and_the_shell() -> None:
    commands = {line.split()[0] for line in readme_script().splitlines()
                if line.strip() and not line.startswith((" ", "#", "{", "}", "JSON", "]", '"'))}
    assert commands <= {"set", "QUESTIONS_CLOSE=$(date", "DEADLINE=$(date", "AWARD_BY=$(date",
                        "CHALLENGE=$(curl", "BID=$(curl", "curl", "echo", ")"}, commands
