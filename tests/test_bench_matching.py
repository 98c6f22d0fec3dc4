"""The matching benchmark's metrics, baselines and synthetic data (never the engine itself)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from flask import Flask

from marketplace import bench_matching as bench

GRADES = {"a": 3, "b": 2, "c": 1}


# --- metrics -----------------------------------------------------------------------------


def test_ndcg_uses_graded_gains_and_an_ideal_from_all_judged():
    # DCG: c (gain 1) at rank 1, a (gain 7) at rank 2, an unjudged supplier at rank 3.
    # Ideal: a, b, c -> 7/log2(2) + 3/log2(3) + 1/log2(4).
    expected = (1 + 7 / math.log2(3)) / (7 + 3 / math.log2(3) + 1 / 2)
    assert bench.ndcg_at(["c", "a", "x"], GRADES) == pytest.approx(expected)
    assert bench.ndcg_at(["c", "a", "x"], GRADES) == pytest.approx(0.576667, abs=1e-6)


def test_ndcg_is_one_for_the_ideal_order_and_stops_at_k():
    assert bench.ndcg_at(["a", "b", "c"], GRADES) == pytest.approx(1.0)
    # A judged supplier the ranking misses still counts in the ideal.
    assert bench.ndcg_at(["a", "b"], GRADES) == pytest.approx(
        (7 + 3 / math.log2(3)) / (7 + 3 / math.log2(3) + 1 / 2))
    # The only relevant supplier at rank 11 is past the cut-off.
    assert bench.ndcg_at([f"x{i}" for i in range(10)] + ["a"], GRADES) == 0.0
    assert bench.ndcg_at(["a"], {}) == 0.0


def test_mrr_is_the_first_grade_three():
    assert bench.reciprocal_rank(["x", "b", "a"], GRADES) == pytest.approx(1 / 3)
    assert bench.reciprocal_rank(["b", "c", "x"], GRADES) == 0.0  # no grade 3 ranked
    assert bench.reciprocal_rank(["b", "c"], {"b": 2, "c": 1}) == 0.0  # none judged 3
    assert bench.reciprocal_rank([], GRADES) == 0.0


def test_precision_at_10_counts_grades_two_and_three_over_ten():
    assert bench.precision_at(["a", "b", "c", "x"], GRADES) == pytest.approx(0.2)
    ranking = ["x"] * 10 + ["a"]
    assert bench.precision_at(ranking, GRADES) == 0.0


def test_recall_at_50_of_grades_two_and_three():
    ranking = ["a"] + [f"x{i}" for i in range(49)] + ["b"]  # b is 51st
    assert bench.recall_at(ranking, GRADES) == pytest.approx(0.5)
    assert bench.recall_at(["b", "a"], GRADES) == pytest.approx(1.0)
    assert bench.recall_at(["c"], {"c": 1}) is None  # nothing relevant: excluded


def test_evaluate_means_and_excludes_challenges_without_relevant_from_recall():
    qrels = {"c1": {"a": 3}, "c2": {"z": 1}}
    rankings = {"c1": ["a"], "c2": ["z"]}
    scores = bench.evaluate(rankings, qrels, ["c1", "c2"])
    assert scores["NDCG@10"] == pytest.approx(1.0)
    assert scores["MRR"] == pytest.approx(0.5)
    assert scores["P@10"] == pytest.approx(0.05)
    assert scores["recall@50"] == pytest.approx(1.0)
    # A challenge with no ranking at all scores zero rather than disappearing.
    assert bench.evaluate({}, qrels, ["c1"])["NDCG@10"] == 0.0


# --- baselines ---------------------------------------------------------------------------

TINY = {
    "challenges": [{
        "id": "c1", "title": "Potholes on rural roads",
        "summary": "Pothole repairs take too long and residents report the same pothole.",
        "description": "We want to find road surface defects sooner.",
        "outcomes": ["fewer pothole claims"], "capabilities": ["road condition surveys"],
        "cpv_codes": [], "region": "", "budget_gbp": None,
    }],
    "suppliers": [
        {"id": "s1", "name": "Careline Ltd", "description": "Home care scheduling software.",
         "capabilities": ["rota planning"], "outcomes": ["fewer missed care visits"]},
        {"id": "s2", "name": "RoadScan", "description": "We survey road surfaces with "
         "vehicle cameras and find potholes before residents report them.",
         "capabilities": ["road condition surveys", "pothole detection"],
         "outcomes": ["fewer pothole claims for Kent County Council"]},
        {"id": "s3", "name": "Shelf Life", "description": "Library events and reading clubs.",
         "capabilities": ["community engagement"], "outcomes": []},
        {"id": "s4", "name": "", "description": "", "capabilities": [], "outcomes": []},
    ],
}


@pytest.mark.parametrize("ranker", [bench.bm25_rankings, bench.tfidf_rankings,
                                    bench.char_tfidf_rankings])
def test_baselines_rank_the_obviously_relevant_supplier_first(ranker):
    rankings = ranker(TINY)
    assert rankings["c1"][0] == "s2"
    assert sorted(rankings["c1"]) == ["s1", "s2", "s3", "s4"]
    assert len(ranker(TINY, depth=2)["c1"]) == 2


def test_concatenated_texts_cover_the_named_fields():
    text = bench.supplier_text(TINY["suppliers"][1])
    assert text.startswith("RoadScan We survey")
    assert "pothole detection" in text and "Kent County Council" in text
    text = bench.challenge_text(TINY["challenges"][0])
    assert "Potholes on rural roads" in text and "road condition surveys" in text
    assert bench.tokenize("Pothole-repairs, A1 road!") == ["pothole", "repairs", "a1", "road"]


# --- synthetic suppliers -----------------------------------------------------------------


def _bundled() -> dict:
    return bench.load_json(bench.DEFAULT_DATASET)


def test_synthetic_suppliers_are_deterministic_with_unique_ids():
    base = _bundled()["suppliers"]
    first = bench.synthetic_suppliers(base, 2_000, seed=5)
    assert first == bench.synthetic_suppliers(base, 2_000, seed=5)
    assert first != bench.synthetic_suppliers(base, 2_000, seed=6)
    assert len(first) == 2_000
    assert len({s["id"] for s in first}) == 2_000
    assert not {s["id"] for s in first} & {s["id"] for s in base}
    capabilities = {c for s in base for c in s["capabilities"]}
    assert all(set(s["capabilities"]) <= capabilities for s in first)
    assert all(s["size"] in {"micro", "small", "medium", "large"} for s in first)
    # Recombined, not copied: descriptions mix sentences of different base suppliers.
    assert len({s["description"] for s in first}) > len(base)


def test_synthetic_suppliers_edge_cases():
    assert bench.synthetic_suppliers([], 0) == []
    with pytest.raises(ValueError):
        bench.synthetic_suppliers([], 3)
    one = bench.synthetic_suppliers(TINY["suppliers"][:1], 3)
    assert [s["id"] for s in one] == ["syn0000000", "syn0000001", "syn0000002"]


# --- command -----------------------------------------------------------------------------


def test_bundled_set_and_qrels_are_in_the_package():
    assert bench.DEFAULT_DATASET.is_file()
    qrels = bench.load_json(bench.default_qrels_path(bench.DEFAULT_DATASET))
    data = _bundled()
    assert set(qrels) == {c["id"] for c in data["challenges"]}


def test_sizes_option_parsing():
    assert bench.parse_sizes("1000,10_000, 100000") == [1000, 10000, 100000]
    with pytest.raises(Exception, match="comma-separated"):
        bench.parse_sizes("1k")
    with pytest.raises(Exception, match="positive"):
        bench.parse_sizes("0")


def test_command_prints_a_header_for_what_it_ran(tmp_path: Path):
    app = Flask("bench-test")
    bench.register(app)
    dataset = tmp_path / "tiny.json"
    dataset.write_text(json.dumps(TINY))
    result = app.test_cli_runner().invoke(
        args=["bench-matching", "--dataset", str(dataset), "--skip-speed", "--skip-quality"])
    assert result.exit_code == 0, result.output
    assert "1 challenges, 4 suppliers" in result.output
    assert "cores" in result.output
    bad = app.test_cli_runner().invoke(args=["bench-matching", "--sizes", "lots"])
    assert bad.exit_code != 0
