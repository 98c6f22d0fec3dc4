"""Command-line tools: ``flask --app marketplace <command>``."""

from __future__ import annotations

import sys

import click
from flask import Flask

from marketplace.services.errors import ServiceError


def _read_password(from_stdin: bool) -> str:
    """A new account's password: one line of standard input, or asked for twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def register_cli(app: Flask) -> None:
    from marketplace import bench_matching, bench_search, bench_suggestions, matching_cli

    bench_search.register(app)
    bench_matching.register(app)
    bench_suggestions.register(app)
    matching_cli.register(app)
    from marketplace import jobs_cli
    jobs_cli.register(app)
    from marketplace import scale
    scale.register(app)
    _register_supplier_commands(app)
    _register_ocds_commands(app)
    _register_api_commands(app)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default=None, help="Full name (asked for when missing).")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from standard input instead of prompting.")
    def create_admin(email: str, name: str | None, password_stdin: bool) -> None:
        """Create a platform admin account."""
        from marketplace.services.accounts import create_platform_admin

        full_name = name or click.prompt("Full name")
        password = _read_password(password_stdin)
        try:
            user = create_platform_admin(email, full_name, password)
        except ServiceError as err:
            raise click.ClickException(err.message) from err
        click.echo(f"Created platform admin {user.email}")

    @app.cli.command("load-demo")
    @click.option("--quiet", is_flag=True, help="Do not print the demo logins.")
    def load_demo(quiet: bool) -> None:
        """Load realistic demo data once (running it again keeps existing data)."""
        from marketplace.demo import DEMO_PASSWORD, demo_logins, load_demo_data

        created = load_demo_data()
        click.echo("Demo data loaded." if created else "Demo data already present; kept it.")
        if not quiet:
            click.echo(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD})")
            for role, email in demo_logins():
                click.echo(f"  {role:<60} {email}")

    @app.cli.command("send-emails")
    @click.option("--limit", default=100, show_default=True)
    def send_emails(limit: int) -> None:
        """Deliver queued emails by SMTP (needs MAIL_SERVER)."""
        from marketplace.services.email import deliver_outbox, smtp_configured

        if not smtp_configured():
            raise click.ClickException("MAIL_SERVER is not set; emails stay in the outbox")
        sent, failed = deliver_outbox(limit)
        click.echo(f"sent {sent}, failed {failed}")


def _register_supplier_commands(app: Flask) -> None:
    @app.cli.command("send-alert-digests")
    def send_alert_digests() -> None:
        """Queue today's challenge alert emails (one per person, only when something is new).

        Run it once a day; running it again the same day sends nothing more. Queued emails
        are delivered by `send-emails`."""
        from marketplace.services.suppliers import send_alert_digests as send

        queued = send()
        click.echo(f"Queued {queued} alert email{'' if queued == 1 else 's'}")


def _register_api_commands(app: Flask) -> None:
    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--scope", required=True, metavar="read|write",
                  help="read: GET requests only. write: also create and change things.")
    @click.option("--name", default="Command line", show_default=True,
                  help="A name to tell the token apart in the account settings.")
    @click.option("--days", type=int, default=None,
                  help="Days until it expires (default 90).")
    def create_token(email: str, scope: str, name: str, days: int | None) -> None:
        """Make a personal access token for an account and print only its secret.

        Capture it in a script with: TOKEN=$(flask --app marketplace create-token ...)"""
        from marketplace.models import TokenScope
        from marketplace.services import tokens

        scope = scope.strip().lower()
        if scope not in {s.value for s in TokenScope}:
            raise click.ClickException(f"--scope must be read or write, not ‘{scope}’")
        try:
            made = tokens.create_token_for(email, name, scope,
                                           tokens.DEFAULT_DAYS if days is None else days)
        except ServiceError as err:
            raise click.ClickException(err.message) from err
        click.echo(f"Made token ‘{made.token.name}’ ({made.token.scope}) for "
                   f"{made.token.user.email}, expiring {made.token.expires_at:%Y-%m-%d}. "
                   "It is not shown again.", err=True)
        click.echo(made.secret)

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--organisation", required=True,
                  help="The organisation's exact name (any case), or its id.")
    @click.option("--role", "roles", required=True, multiple=True,
                  help="challenge_owner, procurement_officer, evaluator or org_admin in a "
                       "council; bidder or org_admin in a supplier. Repeat for more.")
    @click.option("--name", default=None, help="Full name (asked for when missing).")
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from standard input instead of prompting.")
    def create_user(email: str, organisation: str, roles: tuple[str, ...], name: str | None,
                    password_stdin: bool) -> None:
        """Create a verified account in an existing organisation."""
        from marketplace.services.accounts import create_member

        full_name = name or click.prompt("Full name")
        password = _read_password(password_stdin)
        try:
            user = create_member(email, full_name, organisation, list(roles), password)
        except ServiceError as err:
            raise click.ClickException(err.message) from err
        assert user.organisation is not None
        click.echo(f"Created {user.email} in {user.organisation.name} "
                   f"({', '.join(sorted(user.roles))})")


def _register_ocds_commands(app: Flask) -> None:
    @app.cli.command("validate-ocds")
    def validate_ocds() -> None:
        """Validate the OCDS release package of every published challenge (schemas and
        codelists); exit 1 and list the problems when any package is invalid."""
        from marketplace.extensions import db
        from marketplace.models import Challenge, utcnow
        from marketplace.services import ocds

        now = utcnow()
        try:
            ids = ocds.published_challenge_ids(now)
            problems: list[str] = []
            releases = 0
            for challenge_id in ids:
                challenge = db.session.get(Challenge, challenge_id)
                assert challenge is not None
                package = ocds.challenge_package(challenge, now)
                releases += len(package["releases"])
                problems += [f"challenge {challenge_id}: {error}"
                             for error in ocds.validate(package)]
        except ocds.OcdsConfigError as err:
            raise click.ClickException(str(err)) from err
        summary = (f"{len(ids)} challenge{'' if len(ids) == 1 else 's'}, {releases} "
                   f"release{'' if releases == 1 else 's'}")
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            click.echo(f"OCDS: {summary}: {len(problems)} problem"
                       f"{'' if len(problems) == 1 else 's'}", err=True)
            sys.exit(1)
        click.echo(f"OCDS: {summary}, all valid")
