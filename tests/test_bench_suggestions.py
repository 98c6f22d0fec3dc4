"""The suggested suppliers benchmark runs end to end on a small SQLite database (it prints
figures only; nothing here checks a timing)."""

from __future__ import annotations

from flask import Flask

from marketplace import bench_suggestions as bench


def test_bench_suggestions_times_every_scenario(app: Flask) -> None:
    lines: list[str] = []
    report = bench.run(200, 2, echo=lines.append)

    assert report.suppliers == 200
    assert report.listed_in_index == 200  # every inserted supplier is listed
    labels = [row.label for row in report.rows]
    assert labels[0] == "no filters (defaults)"
    assert any(label.startswith("region filter") for label in labels)
    assert any(label.startswith("size filter") for label in labels)
    assert any(label.startswith("certification filter") for label in labels)
    assert any(label.startswith("custom weights") for label in labels)
    assert labels[-1] == "after a profile change (catch-up)"
    for row in report.rows:
        assert row.statuses == [200, 200]
        assert len(row.page_ms) == len(row.service_ms) == 2
        assert 0 < row.considered <= 200
    assert report.rows[0].considered == 200

    output = "\n".join(lines)
    assert "Index build on first request" in output
    assert "200 verified suppliers" in output
    for label in labels:
        assert label in output
    assert "Worst page p95" in output


def test_the_dataset_is_deterministic_and_listed(app: Flask) -> None:
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from marketplace.models import MatchIndexState, Organisation, SupplierProfile

    first = bench.insert_dataset(50, seed=3)
    names = db.session.scalars(select(Organisation.name).where(
        Organisation.kind == "supplier").order_by(Organisation.id)).all()
    assert len(names) == len(set(names)) == 50
    revision = db.session.scalar(select(MatchIndexState.revision))
    assert db.session.scalar(select(func.max(SupplierProfile.match_revision))) <= revision
    assert first.case_studies > 0
    base = bench.load_json(bench.DEFAULT_DATASET)["suppliers"]
    expected = [s["name"] for s in bench.iter_synthetic_suppliers(base, 50, 3)]
    assert names[0] == expected[0]  # same seed, same suppliers
    assert all(name.startswith(want) for name, want in zip(names, expected, strict=True))
