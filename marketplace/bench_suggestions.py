"""``flask --app marketplace bench-suggestions``: time the suggested suppliers page.

The target: the page stays under 500 ms of server time with 100,000 suppliers. This builds a
throwaway database (a temporary SQLite file, an empty database given with ``--database-url``,
or a PostgreSQL database it creates and drops with ``--create-postgres-db``), migrates it and
bulk-inserts one council with a procurement officer, one open challenge and N listed supplier
profiles with case studies and certifications, recombined from the matching benchmark's
development set (deterministic for a seed). It then signs in through the Flask test client,
requests the page once (which builds the match index; timed separately), and times each
scenario: the page through the test client, and the ``suggest_suppliers`` service call alone
(the ranking without the view, template and test client).

It prints figures only: it is a tool for checking the target and spotting regressions, not a
test.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
from flask import Flask, current_app, url_for
from markupsafe import escape
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

from marketplace import reference
from marketplace.bench_matching import (
    DEFAULT_DATASET,
    SEED,
    iter_synthetic_suppliers,
    load_json,
)
from marketplace.bench_search import _percentile
from marketplace.config import sqlalchemy_url

BATCH = 2_000
TARGET_MS = 500
BENCH_PASSWORD = "bench-suggestions-Password-2025"  # noqa: S105 (a throwaway database)
OFFICER_EMAIL = "procurement.officer@northbridge.gov.uk"
COUNCIL_NAME = "Northbridge City Council"
# The development set's challenges may have no capabilities; a council would list some.
FALLBACK_CAPABILITIES = ("Route optimisation for home care visits",
                         "Care workforce scheduling", "Recruitment and retention of carers")
# Capability / outcome / CPV / region, out of 100 (the defaults are 60/30/7/3).
CUSTOM_WEIGHTS = {"capability": 40, "outcome": 40, "cpv": 10, "region": 10}


# --- data --------------------------------------------------------------------------------


def _split_outcome(outcome: str) -> tuple[str, str | None]:
    """'cut mileage for Kent County Council' -> ('Cut mileage', 'Kent County Council')."""
    head, sep, client = outcome.rpartition(" for ")
    if not sep or not head.strip():
        head, client = outcome, ""
    head = " ".join(head.split())
    return head[:1].upper() + head[1:], (" ".join(client.split()) or None)


def _regions(values: list[str]) -> list[str]:
    chosen = {reference.normalise_region(v) for v in values}
    return [r for r in reference.REGIONS if r in chosen]


def _certifications(rng: random.Random, today: date) -> list[dict[str, Any]]:
    """About a third hold Cyber Essentials (some expired), fewer hold the others."""
    rows: list[dict[str, Any]] = []
    draw = rng.random()
    if draw < 0.30:
        rows.append({"kind": "cyber_essentials",
                     "expires_on": today + timedelta(days=rng.randint(-90, 365))})
    elif draw < 0.40:
        rows.append({"kind": "cyber_essentials_plus",
                     "expires_on": today + timedelta(days=rng.randint(-90, 365))})
    if rng.random() < 0.12:
        rows.append({"kind": "iso_27001",
                     "expires_on": today + timedelta(days=rng.randint(-60, 1000))})
    if rng.random() < 0.15:
        rows.append({"kind": "iso_9001", "expires_on": None})
    return rows


def _search_text(name: str, profile: Mapping[str, Any], case_studies: list[dict[str, Any]],
                 certifications: list[dict[str, Any]]) -> str:
    """As ``services.suppliers.index_text`` builds it."""
    from marketplace.models import CERTIFICATION_LABELS, SIZE_LABELS

    cpv = reference.load_cpv()
    parts = [name, profile["description"], " ".join(profile["capabilities"]),
             " ".join(f"{c['title']} {c['client'] or ''} {c['outcome']}" for c in case_studies),
             " ".join(cpv[c].label for c in profile["cpv_codes"] if c in cpv),
             " ".join(CERTIFICATION_LABELS[c["kind"]] for c in certifications),
             " ".join(profile["regions"]), SIZE_LABELS.get(profile["size"] or "", ("", ""))[0]]
    return " ".join(" ".join(p.split()) for p in parts if p).lower()


@dataclass
class Dataset:
    council_id: int
    officer_email: str
    challenge_id: int
    challenge_title: str
    challenge_region: str
    supplier_ids: list[int]
    case_studies: int = 0
    certifications: int = 0


def _insert_people_and_challenge(challenge: Mapping[str, Any], now: datetime
                                 ) -> tuple[int, int, int, str, str]:
    from marketplace import security
    from marketplace.extensions import db
    from marketplace.models import (
        Challenge,
        ChallengeCpv,
        ChallengeOutcome,
        Organisation,
        Role,
        User,
        UserRole,
    )

    council = Organisation(kind="council", name=COUNCIL_NAME,
                           name_key=Organisation.key_for(COUNCIL_NAME), status="verified",
                           verified_at=now, created_at=now)
    officer = User(email=OFFICER_EMAIL, full_name="Priya Patel",
                   password_hash=security.hash_password(BENCH_PASSWORD),
                   organisation=council, email_verified_at=now,
                   role_rows=[UserRole(role=Role.PROCUREMENT_OFFICER.value)])
    db.session.add_all([council, officer])
    db.session.flush()

    cpv = reference.load_cpv()
    codes = [c for c in challenge.get("cpv_codes") or () if c in cpv]
    outcomes = list(challenge.get("outcomes") or ())[:3]
    capabilities = list(challenge.get("capabilities") or ()) or list(FALLBACK_CAPABILITIES)
    region = reference.normalise_region(challenge.get("region") or "") or "South East"
    title = (challenge.get("title") or "Bench challenge")[:200]
    published = now - timedelta(days=5)
    deadline = now + timedelta(days=30)
    row = Challenge(
        lead_council_id=council.id, created_by_id=officer.id, title=title,
        summary=challenge.get("summary") or "", problem=challenge.get("description") or "",
        background="", affected="Residents who need care at home, their families and carers.",
        success="; ".join(outcomes), capabilities=capabilities, region=region,
        budget_min=None, budget_max=challenge.get("budget_gbp"), sme_suitable=True,
        shortlist_size=3, clarification_deadline=deadline - timedelta(days=7),
        submission_deadline=deadline, expected_award_date=(deadline + timedelta(days=30)).date(),
        created_at=published - timedelta(days=10), updated_at=published,
        submitted_at=published - timedelta(days=3), submitted_by_id=officer.id,
        approved_at=published - timedelta(days=1), approved_by_id=officer.id,
        published_at=published)
    row.outcomes = [ChallengeOutcome(position=i, description=o, measure="Measured monthly")
                    for i, o in enumerate(outcomes)]
    row.cpv_rows = [ChallengeCpv(code=c) for c in codes]
    row.search_text = " ".join(" ".join(str(p).split()) for p in (
        title, row.summary, row.problem, row.affected, row.success, " ".join(capabilities),
        " ".join(outcomes), COUNCIL_NAME, " ".join(cpv[c].label for c in codes), region
    ) if p).lower()
    db.session.add(row)
    db.session.flush()
    return council.id, officer.id, row.id, title, region


def insert_dataset(count: int, seed: int, dataset: Path = DEFAULT_DATASET,
                   progress: Callable[[int], None] | None = None) -> Dataset:
    """Insert the council, its officer, the challenge and ``count`` listed suppliers."""
    payload = load_json(dataset)
    now = datetime.now(UTC)
    council_id, _officer_id, challenge_id, title, region = _insert_people_and_challenge(
        payload["challenges"][0], now)
    result = Dataset(council_id, OFFICER_EMAIL, challenge_id, title, region, [])
    insert_suppliers(count, seed, payload["suppliers"], result, progress, now)
    return result


def insert_suppliers(count: int, seed: int, suppliers: list[dict[str, Any]], result: Dataset,
                     progress: Callable[[int], None] | None = None,
                     now: datetime | None = None) -> Dataset:
    """Insert ``count`` verified, listed suppliers recombined from the development set's
    suppliers (profiles, case studies, certifications), all at match revision 1, and set the
    match index state to that revision; the ids and counts go into ``result``."""
    from marketplace.extensions import db
    from marketplace.models import (
        CaseStudy,
        Certification,
        MatchIndexState,
        Organisation,
        SupplierProfile,
    )

    now = now or datetime.now(UTC)
    today = now.date()
    revision = 1  # as if one import had touched every supplier
    rng = random.Random(seed + 1)
    seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if not batch:
            return
        orgs = [{"kind": "supplier", "name": s["name"], "name_key": s["name_key"],
                 "status": "verified", "verified_at": now, "created_at": now} for s in batch]
        ids = list(db.session.scalars(
            insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
            orgs))
        profiles, studies, certs = [], [], []
        for org_id, s in zip(ids, batch, strict=True):
            profiles.append({**s["profile"], "organisation_id": org_id})
            studies += [{**c, "organisation_id": org_id} for c in s["case_studies"]]
            certs += [{**c, "organisation_id": org_id} for c in s["certifications"]]
        db.session.execute(insert(SupplierProfile), profiles)
        if studies:
            db.session.execute(insert(CaseStudy), studies)
        if certs:
            db.session.execute(insert(Certification), certs)
        result.supplier_ids.extend(ids)
        result.case_studies += len(studies)
        result.certifications += len(certs)
        batch.clear()
        db.session.commit()
        if progress:
            progress(len(result.supplier_ids))

    for s in iter_synthetic_suppliers(suppliers, count, seed):
        name = s["name"]
        key = Organisation.key_for(name)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            name = f"{name} {seen[key]}"
            key = Organisation.key_for(name)
        studies = []
        for position, outcome in enumerate(s["outcomes"]):
            what, client = _split_outcome(outcome)
            studies.append({"position": position, "title": (client or "Recent project")[:200],
                            "client": client, "outcome": what, "measure": None,
                            "year": rng.randint(2018, today.year)})
        certs = [{"position": i, "name": None, **c}
                 for i, c in enumerate(_certifications(rng, today))]
        profile = {
            "size": s["size"], "regions": _regions(s["regions"]),
            "description": s["description"],
            "capabilities": [" ".join(c.split())[:300] for c in s["capabilities"]][:20],
            "cpv_codes": list(s["cpv_codes"])[:50], "updated_at": now,
            "match_revision": revision,
        }
        profile["search_text"] = _search_text(name, profile, studies, certs)
        batch.append({"name": name, "name_key": key, "profile": profile,
                      "case_studies": studies, "certifications": certs})
        if len(batch) >= BATCH:
            flush()
    flush()
    # The migration creates the state row; a wiped table (the PostgreSQL tests) has none.
    done = db.session.execute(update(MatchIndexState).where(MatchIndexState.id == 1)
                              .values(revision=revision))
    if not done.rowcount:
        db.session.execute(insert(MatchIndexState).values(id=1, revision=revision,
                                                          vocabulary=""))
    db.session.commit()
    return result


# --- databases ---------------------------------------------------------------------------


@contextmanager
def _temporary_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-suggestions-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"


@contextmanager
def _temporary_postgres(server_url: str) -> Iterator[str]:
    """CREATE DATABASE bench_suggestions_<random> on the server, yield its URL, DROP it at
    the end (also after a failure)."""
    from sqlalchemy import create_engine

    server = make_url(sqlalchemy_url(server_url))
    name = f"bench_suggestions_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"),
                             {"name": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            click.echo(f"Dropped database {name}")
    finally:
        admin.dispose()


@contextmanager
def _database(database_url: str | None, create_postgres_db: str | None) -> Iterator[str]:
    if database_url and create_postgres_db:
        raise click.UsageError("Give --database-url or --create-postgres-db, not both")
    if create_postgres_db:
        with _temporary_postgres(create_postgres_db) as url:
            yield url
    elif database_url:
        yield sqlalchemy_url(database_url)
    else:
        with _temporary_sqlite() as url:
            yield url


# --- timing ------------------------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    args: dict[str, str]
    filters: dict[str, str] = field(default_factory=dict)
    weights: dict[str, int] | None = None
    change_first: bool = False


@dataclass
class Row:
    label: str
    page_ms: list[float]
    service_ms: list[float]
    statuses: list[int]
    considered: int

    @property
    def median(self) -> float:
        return statistics.median(self.page_ms)

    @property
    def p95(self) -> float:
        return _percentile(self.page_ms, 0.95)


@dataclass
class Report:
    suppliers: int
    listed_in_index: int
    first_request_ms: float
    rows: list[Row]
    skipped: list[str]


def _form_args(region: str = "", size: str = "", certification: str = "",
               weights: Mapping[str, int] | None = None) -> dict[str, str]:
    """The query string the page's own form sends (every field, as a browser does)."""
    from marketplace.forms.matching import COMPONENTS, DEFAULT_WEIGHTS

    chosen = weights or DEFAULT_WEIGHTS
    args = {"region": region, "size": size, "certification": certification}
    args.update({f"weight_{name}": str(chosen[name]) for name in COMPONENTS})
    return args


def _scenarios(data: Dataset, has_certifications: bool) -> tuple[list[Scenario], list[str]]:
    region = data.challenge_region
    scenarios = [
        Scenario("no filters (defaults)", {}),
        Scenario(f"region filter ({region})", _form_args(region=region), {"region": region}),
        Scenario("size filter (small)", _form_args(size="small"), {"size": "small"}),
    ]
    skipped = []
    if has_certifications:
        scenarios.append(Scenario("certification filter (Cyber Essentials)",
                                  _form_args(certification="cyber_essentials"),
                                  {"certification": "cyber_essentials"}))
    else:
        skipped.append("certification filter (no certification rows)")
    weights = "/".join(str(v) for v in CUSTOM_WEIGHTS.values())
    scenarios += [
        Scenario(f"custom weights ({weights})", _form_args(weights=CUSTOM_WEIGHTS),
                 weights=CUSTOM_WEIGHTS),
        Scenario("after a profile change (catch-up)", {}, change_first=True),
    ]
    return scenarios, skipped


def _change_profile(app: Flask, supplier_id: int, n: int) -> None:
    """Edit one supplier's description and touch it in one committed transaction, as the
    profile use case does: the next request has to catch its index up."""
    from marketplace.extensions import db
    from marketplace.models import SupplierProfile
    from marketplace.services.matching import touch_supplier

    with app.app_context():
        try:
            db.session.execute(
                update(SupplierProfile).where(SupplierProfile.organisation_id == supplier_id)
                .values(description=SupplierProfile.description + f" Update {n}.",
                        updated_at=datetime.now(UTC)))
            touch_supplier(supplier_id)
            db.session.commit()
        finally:
            db.session.remove()


def _check(response: Any, title: str, label: str) -> None:
    body = response.get_data(as_text=True)
    if response.status_code != 200 or str(escape(title)) not in body:
        raise click.ClickException(
            f"{label}: the suggested suppliers page answered {response.status_code} "
            f"without the challenge title; start of the page:\n{body[:1500]}")


def _service_call(app: Flask, data: Dataset, scenario: Scenario) -> tuple[float, int]:
    """One ``suggest_suppliers`` call in a fresh app context, as a request would make it."""
    from marketplace.extensions import db
    from marketplace.matching import Weights
    from marketplace.models import User
    from marketplace.services.suggestions import SuggestionFilters, suggest_suppliers

    weights = None
    if scenario.weights:
        weights = Weights(*(scenario.weights[k] / 100
                            for k in ("capability", "outcome", "cpv", "region")))
    with app.app_context():
        try:
            started = time.perf_counter()
            actor = db.session.scalar(select(User).where(User.email == data.officer_email))
            page = suggest_suppliers(actor, data.challenge_id,
                                     SuggestionFilters(**scenario.filters), weights)
            elapsed = (time.perf_counter() - started) * 1000
            if not page.items:
                raise click.ClickException(f"{scenario.label}: no suppliers were suggested")
            return elapsed, page.considered
        finally:
            db.session.remove()


def measure(app: Flask, data: Dataset, runs: int,
            echo: Callable[[str], None] = click.echo) -> Report:
    """Sign in, build the index with a first request, then time every scenario."""
    from marketplace.extensions import db
    from marketplace.models import Certification
    from marketplace.services import matching

    client = app.test_client()
    with app.test_request_context():
        sign_in_url = url_for("auth.sign_in")
        page_url = url_for("council.suggested_suppliers", challenge_id=data.challenge_id)
    response = client.post(sign_in_url, data={"email": data.officer_email,
                                              "password": BENCH_PASSWORD})
    if response.status_code != 302:
        raise click.ClickException(f"Signing in as {data.officer_email} failed with "
                                   f"{response.status_code}")

    started = time.perf_counter()
    first = client.get(page_url)
    first_ms = (time.perf_counter() - started) * 1000
    _check(first, data.challenge_title, "first request")
    with app.app_context():
        listed = matching.index_stats()["suppliers"]
        has_certifications = bool(db.session.scalar(select(func.count(Certification.id))))
        db.session.remove()
    echo(f"Index build on first request: {first_ms:,.0f} ms "
         f"({listed:,} suppliers in the index)")
    if listed != len(data.supplier_ids):
        raise click.ClickException(f"The index holds {listed:,} suppliers, not the "
                                   f"{len(data.supplier_ids):,} inserted")

    scenarios, skipped = _scenarios(data, has_certifications)
    rows = []
    changes = 0
    for scenario in scenarios:
        url = page_url + (f"?{urlencode(scenario.args)}" if scenario.args else "")
        _check(client.get(url), data.challenge_title, scenario.label)  # warm-up
        page_ms, service_ms, statuses = [], [], []
        considered = 0
        for _ in range(runs):
            if scenario.change_first:
                changes += 1
                _change_profile(app, data.supplier_ids[(changes * 7919) % len(data.supplier_ids)],
                                changes)
            started = time.perf_counter()
            response = client.get(url)
            page_ms.append((time.perf_counter() - started) * 1000)
            statuses.append(response.status_code)
            _check(response, data.challenge_title, scenario.label)
        for _ in range(runs):
            if scenario.change_first:
                changes += 1
                _change_profile(app, data.supplier_ids[(changes * 7919) % len(data.supplier_ids)],
                                changes)
            elapsed, considered = _service_call(app, data, scenario)
            service_ms.append(elapsed)
        rows.append(Row(scenario.label, page_ms, service_ms, statuses, considered))
    return Report(len(data.supplier_ids), listed, first_ms, rows, skipped)


def print_report(report: Report, runs: int, echo: Callable[[str], None] = click.echo) -> None:
    echo(f"\n{runs} timed requests per scenario, after one warm-up request each. 'page' is "
         "the whole request through the Flask test client (view, ranking, template); "
         "'service' is the suggest_suppliers() call alone. Target: page under "
         f"{TARGET_MS} ms.\n")
    header = (f"{'scenario':<42} {'ranked':>8} {'page med':>9} {'p95':>7} {'max':>7} "
              f"{'svc med':>8} {'svc p95':>8} {'status':>7}")
    echo(header)
    echo("-" * len(header))
    for row in report.rows:
        statuses = ",".join(str(s) for s in sorted(set(row.statuses)))
        echo(f"{row.label:<42} {row.considered:>8,} {row.median:>9.1f} {row.p95:>7.1f} "
             f"{max(row.page_ms):>7.1f} {statistics.median(row.service_ms):>8.1f} "
             f"{_percentile(row.service_ms, 0.95):>8.1f} {statuses:>7}")
    for label in report.skipped:
        echo(f"{label:<42} skipped")
    worst = max(row.p95 for row in report.rows)
    verdict = "under" if worst < TARGET_MS else "OVER"
    echo(f"\nWorst page p95: {worst:.1f} ms ({verdict} the {TARGET_MS} ms target)")


# --- the command -------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(suppliers: int, runs: int, database_url: str | None = None,
        create_postgres_db: str | None = None, seed: int = SEED,
        echo: Callable[[str], None] = click.echo) -> Report:
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Organisation

    base = current_app.config
    echo(f"Suggested suppliers benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    echo(f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
         f"{platform.python_version()}, {platform.system()} {platform.release()}")
    with _database(database_url, create_postgres_db) as url:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": base["ENV_NAME"],
            "SECRET_KEY": base["SECRET_KEY"], "LOG_LEVEL": "WARNING",
            "WTF_CSRF_ENABLED": False,
            "LOGIN_RATE_LIMIT_IP": "10000 per minute",
            "LOGIN_RATE_LIMIT_ACCOUNT": "10000 per minute",
            "SESSION_COOKIE_SECURE": False, "FORCE_HTTPS": False,
            "ARGON2_TIME_COST": base["ARGON2_TIME_COST"],
            "ARGON2_MEMORY_COST": base["ARGON2_MEMORY_COST"]})
        try:
            with app.app_context():
                engine_url = db.engine.url
                server = ""
                if engine_url.get_backend_name() == "postgresql":
                    server = f" (PostgreSQL {db.session.scalar(text('SHOW server_version'))})"
                else:
                    server = f" (SQLite {db.session.scalar(text('SELECT sqlite_version()'))})"
                echo(f"Database: {engine_url.render_as_string(hide_password=True)}{server}")
                upgrade()
                if db.session.scalar(select(func.count(Organisation.id))):
                    raise click.ClickException("The database is not empty: give an empty, "
                                               "throwaway database")
                started = time.perf_counter()
                data = insert_dataset(suppliers, seed)
                echo(f"Dataset (seed {seed}): 1 council, 1 procurement officer, 1 open "
                     f"challenge ({data.challenge_title!r}, region {data.challenge_region}); "
                     f"{len(data.supplier_ids):,} verified suppliers with profiles, "
                     f"{data.case_studies:,} case studies, {data.certifications:,} "
                     f"certifications; inserted in {time.perf_counter() - started:.1f}s")
                if engine_url.get_backend_name() == "postgresql":
                    # Fresh planner statistics, as autovacuum keeps them on a live database
                    # (without them PostgreSQL picks sequential scans for the catch-up).
                    autovacuum = db.session.scalar(text("SHOW autovacuum"))
                    db.session.commit()
                    with db.engine.connect().execution_options(
                            isolation_level="AUTOCOMMIT") as conn:
                        conn.execute(text("ANALYZE"))
                    echo(f"Ran ANALYZE after the bulk insert (autovacuum is {autovacuum} "
                         "on this server)")
                db.session.remove()
            report = measure(app, data, runs, echo)
            print_report(report, runs, echo)
            echo(f"Peak memory of this process: {_peak_rss_mb():,.0f} MB")
            return report
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def register(app: Flask) -> None:
    @app.cli.command("bench-suggestions")
    @click.option("--suppliers", default=100_000, show_default=True,
                  help="How many listed suppliers to insert.")
    @click.option("--runs", default=20, show_default=True,
                  help="Timed requests per scenario.")
    @click.option("--database-url", default=None,
                  help="Use this (empty, throwaway) database instead of a temporary SQLite "
                       "file. It is migrated and filled with suppliers.")
    @click.option("--create-postgres-db", default=None, metavar="SERVER_URL",
                  help="Connect to this PostgreSQL server URL (e.g. "
                       "postgresql://postgres@127.0.0.1:5432/postgres), create a database "
                       "bench_suggestions_<random>, run against it and drop it at the end.")
    @click.option("--seed", default=SEED, show_default=True, help="Seed of the synthetic data.")
    def bench_suggestions(suppliers: int, runs: int, database_url: str | None,
                          create_postgres_db: str | None, seed: int) -> None:
        """Time the suggested suppliers page on many suppliers (prints figures only)."""
        if suppliers < 1 or runs < 1:
            raise click.UsageError("--suppliers and --runs must be at least 1")
        run(suppliers, runs, database_url, create_postgres_db, seed)
