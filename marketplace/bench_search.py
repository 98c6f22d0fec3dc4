"""``flask --app marketplace bench-search``: time the public challenge pages on a big catalogue.

Builds a throwaway SQLite database in a temporary directory (or uses ``--database-url``),
migrates it, bulk-inserts N realistic published challenges from a handful of councils, then
requests the public pages through the Flask test client and prints the median and 95th
percentile times. It prints figures only: it is a tool for spotting regressions, not a test.
"""

from __future__ import annotations

import math
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import insert, select

from marketplace import reference

COUNCILS = (
    "Northbridge City Council", "Eastmoor District Council", "Westhaven Borough Council",
    "Southfield County Council", "Riverside Metropolitan Borough Council",
    "Kingsmere Unitary Authority", "Highcliff Council", "Lowdale Borough Council",
    "Ashford Vale District Council", "Greenhurst City Council", "Marshgate County Council",
    "Port Elling Council",
)

# (topic words for titles, a problem sentence, CPV codes, capabilities)
TOPICS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("pothole repairs", "Potholes on rural roads take too long to find and repair, and "
     "residents report the same pothole many times.", ("45233141", "71311000"),
     ("Computer vision", "Asset management", "Mobile apps")),
    ("fly-tipping", "Fly-tipping in back lanes and lay-bys costs the council clearance "
     "money every week and upsets residents.", ("90511000", "90500000"),
     ("Sensors", "Data analytics", "Behaviour change")),
    ("social care scheduling", "Home care visits are scheduled by hand, so carers travel "
     "further than they need to and visits are missed.", ("85310000", "72230000"),
     ("Scheduling", "Route optimisation", "Care technology")),
    ("library footfall", "Fewer people use our libraries, and we do not know which "
     "services would bring them back.", ("79311000", "79310000"),
     ("User research", "Service design")),
    ("school transport", "Home to school transport costs have doubled in five years and "
     "routes are planned on spreadsheets.", ("60130000", "72316000"),
     ("Route optimisation", "Data analytics")),
    ("damp and mould", "Council homes with damp and mould are found only when tenants "
     "complain, often too late.", ("50000000", "38430000"),
     ("Sensors", "Internet of things", "Housing")),
    ("street lighting energy", "Street lights use more energy than they need to at quiet "
     "times of night.", ("45316110", "71314300"),
     ("Smart lighting", "Energy management")),
    ("missed bin collections", "Residents report missed bin collections that crews "
     "cannot check, and repeat visits cost money.", ("90511000", "48000000"),
     ("Mobile apps", "Telematics", "Data analytics")),
    ("air quality near schools", "Air quality near primary schools is poor at drop-off and "
     "pick-up times.", ("38433200", "90700000"),
     ("Sensors", "Behaviour change", "Public health")),
    ("temporary accommodation", "Families wait too long in temporary accommodation because "
     "vacancies are tracked by email.", ("70000000", "48810000"),
     ("Case management", "Housing", "Data sharing")),
    ("parking enforcement", "Parking permits and enforcement use three systems that do not "
     "talk to each other.", ("98351000", "48000000"),
     ("Integration", "Payments", "Mobile apps")),
    ("flood warnings", "Drains block before heavy rain and flood warnings reach residents "
     "too late.", ("71300000", "32441000"),
     ("Sensors", "Alerts", "Internet of things")),
    ("loneliness in older people", "Older residents living alone are lonely and we reach "
     "them only in a crisis.", ("85320000", "79310000"),
     ("Community engagement", "Care technology")),
    ("council tax arrears", "Council tax arrears are rising and reminder letters do not "
     "work for people in financial difficulty.", ("66000000", "72316000"),
     ("Behaviour change", "Data analytics", "Payments")),
    ("tree planting", "We have pledged to plant thousands of trees but cannot track which "
     "survive.", ("77000000", "71400000"),
     ("Mapping", "Computer vision", "Environment")),
    ("planning applications", "Planning applications arrive incomplete and officers "
     "spend days asking for missing documents.", ("48311000", "71410000"),
     ("Document processing", "Service design")),
)
OPENINGS = ("Reducing", "Improving", "Speeding up", "Preventing", "Predicting", "Tackling",
            "Measuring", "Cutting the cost of", "Rethinking", "Understanding")
PLACES = ("in rural villages", "across the borough", "in town centres", "on housing estates",
          "near schools", "in coastal towns", "for residents", "on main roads", "", "")
FILLER = (
    "We want to work with suppliers who can show results quickly and at low cost.",
    "Residents have told us through consultation that this matters to them.",
    "Staff spend hours each week on manual work that could be automated.",
    "Data exists in several systems but nobody can see the whole picture.",
    "We are open to new approaches, including ones used in other sectors.",
    "The solution must work for people who do not use the internet.",
    "A small pilot in one area would let us test the idea before scaling.",
    "Neighbouring councils have the same problem and may join later.",
    "We must meet our duties under the Public Sector Equality Duty.",
    "Any data collected must be handled under UK GDPR.",
)
AFFECTED = ("Residents, ward councillors and frontline staff.",
            "Older and disabled residents, their carers and families.",
            "Parents, pupils and school staff.", "Tenants and housing officers.",
            "Local businesses and visitors.")


def _text(rng: random.Random, lead: str, sentences: int) -> str:
    return " ".join([lead, *rng.sample(FILLER, sentences)])


def _rows(n: int, council_ids: list[int], council_names: dict[int, str], seed: int = 7
          ) -> Iterator[tuple[dict[str, Any], list[tuple[str, Any]]]]:
    """Challenge rows with their child rows, deterministic for a seed."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    regions = list(reference.REGIONS)
    cpv = reference.load_cpv()
    bands = (5_000, 20_000, 40_000, 75_000, 120_000, 250_000, 400_000, 750_000, 1_500_000, None)
    for i in range(1, n + 1):
        words, problem, codes, capabilities = rng.choice(TOPICS)
        council_id = rng.choice(council_ids)
        title = " ".join(f"{rng.choice(OPENINGS)} {words} {rng.choice(PLACES)}".split())
        title = title[0].upper() + title[1:]
        published = now - timedelta(days=rng.uniform(1, 400), minutes=rng.randint(0, 1440))
        fate = rng.random()
        if fate < 0.55:
            deadline = now + timedelta(days=rng.uniform(0.5, 90))
        else:
            deadline = published + timedelta(days=rng.uniform(14, 60))
            if deadline > now:
                deadline = now - timedelta(days=rng.uniform(0.5, 30))
        high = rng.choice(bands)
        low = None if high is None or rng.random() < 0.4 else high // rng.choice((2, 4, 10))
        summary = _text(rng, f"{problem}", 1)
        row: dict[str, Any] = {
            "id": i, "lead_council_id": council_id, "title": title[:200],
            "summary": summary, "problem": _text(rng, problem, 3),
            "background": _text(rng, "This work follows a review by the council.", 3),
            "affected": rng.choice(AFFECTED), "success": _text(rng, "Success means fewer "
                                                                  "complaints.", 2),
            "capabilities": list(capabilities), "region": rng.choice(regions),
            "budget_min": low, "budget_max": high, "sme_suitable": rng.random() < 0.7,
            "shortlist_size": rng.randint(2, 6),
            "clarification_deadline": deadline - timedelta(days=7),
            "submission_deadline": deadline,
            "expected_award_date": (deadline + timedelta(days=30)).date(),
            "created_at": published - timedelta(days=10), "updated_at": published,
            "submitted_at": published - timedelta(days=3),
            "approved_at": published - timedelta(days=1), "published_at": published,
            "evaluation_started_at": None, "award_decided_at": None, "awarded_at": None,
            "withdrawn_at": None, "cancelled_at": None, "end_reason": None,
        }
        if deadline < now and fate > 0.9:
            if deadline + timedelta(days=5) < now:
                row["award_decided_at"] = deadline + timedelta(days=2)
                row["awarded_at"] = deadline + timedelta(days=5)
        elif deadline < now and fate > 0.8:
            row["evaluation_started_at"] = deadline + timedelta(hours=1)
        elif fate < 0.02 and deadline > now:
            row["withdrawn_at"] = now - timedelta(hours=2)
            row["end_reason"] = "The budget for this work has been withdrawn."
        outcomes = [f"Fewer reports about {words}", f"Lower cost of dealing with {words}"]
        labels = " ".join(cpv[c].label for c in codes if c in cpv)
        row["search_text"] = " ".join(" ".join(str(p).split()) for p in (
            row["title"], row["summary"], row["problem"], row["background"], row["affected"],
            row["success"], " ".join(capabilities), " ".join(outcomes),
            council_names[council_id], labels, row["region"])).lower()
        children: list[tuple[str, Any]] = [("cpv", c) for c in codes if c in cpv]
        children += [("outcome", o) for o in outcomes]
        yield row, children


def child_rows(cid: int, children: list[tuple[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The child rows of one challenge from :func:`_rows`: CPV codes, outcomes, two
    requirements, two stages and three criteria (weights 40/40/20), keyed by kind."""
    parts: dict[str, list[dict[str, Any]]] = {"cpv": [], "outcome": []}
    for kind, value in children:
        if kind == "cpv":
            parts["cpv"].append({"challenge_id": cid, "code": value})
        else:
            parts["outcome"].append({"challenge_id": cid, "position": len(parts["outcome"]),
                                     "description": value, "measure": "Measured monthly"})
    parts["requirement"] = [
        {"challenge_id": cid, "position": 0, "kind": "essential",
         "text": "Works with our existing case management system"},
        {"challenge_id": cid, "position": 1, "kind": "nice_to_have", "text": "Open data formats"}]
    parts["stage"] = [
        {"challenge_id": cid, "position": 0, "name": "Discovery", "duration": "4 weeks",
         "funding_per_supplier": 10_000, "max_suppliers": 3},
        {"challenge_id": cid, "position": 1, "name": "Pilot", "duration": "3 months",
         "funding_per_supplier": 50_000, "max_suppliers": 1}]
    parts["criterion"] = [
        {"challenge_id": cid, "position": 0, "name": "Understanding of the problem",
         "weight": 40, "word_limit": 500},
        {"challenge_id": cid, "position": 1, "name": "Approach", "weight": 40,
         "word_limit": 750},
        {"challenge_id": cid, "position": 2, "name": "Value for money", "weight": 20,
         "word_limit": 300}]
    return parts


def _insert_catalogue(n: int) -> int:
    """Insert councils and N published challenges; return the id of a typical challenge."""
    from marketplace.extensions import db
    from marketplace.models import (
        Challenge,
        ChallengeAmendment,
        ChallengeCpv,
        ChallengeOutcome,
        ChallengeRequirement,
        ChallengeStage,
        ClarificationQuestion,
        EvaluationCriterion,
        Organisation,
    )

    now = datetime.now(UTC)
    orgs = [{"kind": "council", "name": name, "name_key": Organisation.key_for(name),
             "status": "verified", "verified_at": now, "created_at": now}
            for name in COUNCILS]
    orgs.append({"kind": "supplier", "name": "Bench Supplier Ltd",
                 "name_key": "bench supplier ltd", "status": "verified", "verified_at": now,
                 "created_at": now})
    db.session.execute(insert(Organisation), orgs)
    found = db.session.execute(select(Organisation.id, Organisation.name,
                                      Organisation.kind)).all()
    councils = {row.id: row.name for row in found if row.kind == "council"}
    supplier_id = next(row.id for row in found if row.kind == "supplier")

    batch = 1000
    challenges: list[dict[str, Any]] = []
    cpvs: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    reqs: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    criteria: list[dict[str, Any]] = []

    def flush() -> None:
        for model, rows in ((Challenge, challenges), (ChallengeCpv, cpvs),
                            (ChallengeOutcome, outcomes), (ChallengeRequirement, reqs),
                            (ChallengeStage, stages), (EvaluationCriterion, criteria)):
            if rows:
                db.session.execute(insert(model), rows)
                rows.clear()

    for row, children in _rows(n, sorted(councils), councils):
        challenges.append(row)
        parts = child_rows(row["id"], children)
        cpvs += parts["cpv"]
        outcomes += parts["outcome"]
        reqs += parts["requirement"]
        stages += parts["stage"]
        criteria += parts["criterion"]
        if len(challenges) >= batch:
            flush()
    flush()

    # A typical open challenge with some questions and amendments, for the detail page.
    target = db.session.scalar(
        select(Challenge.id).where(Challenge.submission_deadline > now,
                                   Challenge.withdrawn_at.is_(None))
        .order_by(Challenge.id).limit(1)) or 1
    db.session.execute(insert(ClarificationQuestion), [
        {"challenge_id": target, "supplier_id": supplier_id, "question": f"Question {k}?",
         "published_question": f"Question {k}?", "answer": "Yes, that is in scope.",
         "status": "published", "asked_at": now, "answered_at": now} for k in range(8)])
    db.session.execute(insert(ChallengeAmendment), [
        {"challenge_id": target, "summary": f"Amendment {k}: the deadline moved",
         "changes": {}, "created_at": now} for k in range(3)])
    db.session.commit()
    return target


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _time(app: Flask, url: str, runs: int) -> tuple[list[float], int, int]:
    client = app.test_client()
    first = client.get(url)  # warm-up: templates, vocabulary, query plans
    sizes = len(first.data)
    timings = []
    status = first.status_code
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        status = max(status, response.status_code)
    return timings, status, sizes


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"


def run(challenges: int, runs: int, database_url: str | None) -> None:
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db

    base = current_app.config
    with _database(database_url) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": base["ENV_NAME"],
                          "SECRET_KEY": base["SECRET_KEY"], "LOG_LEVEL": "WARNING"})
        with app.app_context():
            click.echo(f"Database: {db.engine.url.render_as_string(hide_password=True)}")
            upgrade()
            started = time.perf_counter()
            target = _insert_catalogue(challenges)
            click.echo(f"Inserted {challenges:,} published challenges in "
                       f"{time.perf_counter() - started:.1f}s; {runs} timed runs per page "
                       f"(after one warm-up)\n")
            db.session.remove()
        scenarios = [
            ("index, no query", "/challenges"),
            ("keyword 'pothole'", "/challenges?q=pothole"),
            ("typo 'potholle'", "/challenges?q=potholle"),
            ("two keywords", "/challenges?q=social+care+scheduling"),
            ("filters (open, region, budget, SME, CPV)",
             "/challenges?status=open&region=London&budget=100k-500k&sme=1&division=90"),
            ("keyword + filter + budget sort", "/challenges?q=sensors&status=open&sort=budget"),
            ("page 50", "/challenges?page=50"),
            ("detail page", f"/challenges/{target}"),
            ("Atom feed", "/challenges/feed.atom"),
        ]
        header = f"{'page':<44} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'status':>6}"
        click.echo(header)
        click.echo("-" * len(header))
        for label, path in scenarios:
            timings, status, _size = _time(app, path, runs)
            click.echo(f"{label:<44} {statistics.median(timings):>10.1f} "
                       f"{_percentile(timings, 0.95):>8.1f} {max(timings):>8.1f} {status:>6}")
        with app.app_context():
            db.engine.dispose()


def register(app: Flask) -> None:
    @app.cli.command("bench-search")
    @click.option("--challenges", default=10_000, show_default=True,
                  help="How many published challenges to insert.")
    @click.option("--runs", default=30, show_default=True, help="Timed requests per page.")
    @click.option("--database-url", default=None,
                  help="Use this (empty, throwaway) database instead of a temporary SQLite "
                       "file. It is migrated and filled with challenges.")
    def bench_search(challenges: int, runs: int, database_url: str | None) -> None:
        """Time the public challenge pages on a large catalogue (prints figures only)."""
        run(challenges, runs, database_url)
