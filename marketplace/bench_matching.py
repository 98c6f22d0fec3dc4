"""``flask --app marketplace bench-matching``: quality and speed of the supplier-matching engine.

Quality: ranks every challenge of a benchmark set (by default the bundled development set in
``marketplace/data/matching-bench/``, format and metrics in its README) with the engine and
with three off-the-shelf baselines over the same concatenated texts (BM25, word TF-IDF,
character n-gram TF-IDF), and prints NDCG@10, MRR, P@10 and recall@50 for each.

Speed: for each size, builds a synthetic supplier set by recombining the set's profiles and,
in a fresh child process (so sizes do not share memory), times the index build and top-20
queries, reads the child's peak memory, and compares the median query time with one bare
``rapidfuzz.process.cdist`` pass of the challenge text against every supplier text.

It prints figures only: it is a tool for tuning and spotting regressions, not a test. The
baselines need the dev extras (``rank-bm25``, ``scikit-learn``); they are imported lazily so
the application runs without them.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask

from marketplace.bench_search import _percentile

BENCH_DIR = Path(__file__).resolve().parent / "data" / "matching-bench"
DEFAULT_DATASET = BENCH_DIR / "dev.json"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
RANK_DEPTH = 100  # how deep each ranker ranks for the quality metrics
SPEED_TOP = 20
CDIST_RUNS = 5  # cdist passes per size; the median is the ratio's denominator
CHILD_TIMEOUT_S = 3600
SEED = 20_251_129

Ranking = list[str]  # supplier ids, best first
Qrels = dict[str, dict[str, int]]  # challenge id -> supplier id -> grade (absent = 0)


# --- data --------------------------------------------------------------------------------


def default_qrels_path(dataset: Path) -> Path:
    """``dev.json`` -> ``dev-qrels.json`` in the same folder."""
    return dataset.with_name(f"{dataset.stem}-qrels.json")


def load_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _join(*parts: Any) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, list | tuple):
            out.extend(str(p) for p in part if p)
        elif part:
            out.append(str(part))
    return " ".join(out)


def supplier_text(supplier: Mapping[str, Any]) -> str:
    """Name, description, capabilities and outcomes as one text (what the baselines see)."""
    return _join(supplier.get("name"), supplier.get("description"),
                 supplier.get("capabilities") or (), supplier.get("outcomes") or ())


def challenge_text(challenge: Mapping[str, Any]) -> str:
    """Title, summary, description, outcomes and capabilities as one text."""
    return _join(challenge.get("title"), challenge.get("summary"), challenge.get("description"),
                 challenge.get("outcomes") or (), challenge.get("capabilities") or ())


def tokenize(text: str) -> list[str]:
    """Lowercase words (letters and digits)."""
    return re.findall(r"[a-z0-9]+", text.lower())


def supplier_input(supplier: Mapping[str, Any]) -> Any:
    from marketplace.matching import SupplierInput

    return SupplierInput(
        id=str(supplier["id"]), name=supplier.get("name") or "",
        description=supplier.get("description") or "",
        capabilities=tuple(supplier.get("capabilities") or ()),
        outcomes=tuple(supplier.get("outcomes") or ()),
        cpv_codes=tuple(supplier.get("cpv_codes") or ()),
        regions=tuple(supplier.get("regions") or ()), size=supplier.get("size") or "")


def challenge_input(challenge: Mapping[str, Any]) -> Any:
    from marketplace.matching import ChallengeInput

    return ChallengeInput(
        id=str(challenge["id"]), title=challenge.get("title") or "",
        summary=challenge.get("summary") or "", description=challenge.get("description") or "",
        outcomes=tuple(challenge.get("outcomes") or ()),
        capabilities=tuple(challenge.get("capabilities") or ()),
        cpv_codes=tuple(challenge.get("cpv_codes") or ()),
        region=challenge.get("region") or "", budget_gbp=challenge.get("budget_gbp"))


# --- metrics (as in the benchmark README) ------------------------------------------------


def _gain(grade: int) -> float:
    return float(2 ** grade - 1)


def ndcg_at(ranking: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """NDCG@k with gains 2^grade - 1; the ideal ranking is built from every judged supplier."""
    dcg = sum(_gain(grades.get(sid, 0)) / math.log2(i + 2) for i, sid in enumerate(ranking[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(_gain(g) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def reciprocal_rank(ranking: Sequence[str], grades: Mapping[str, int], grade: int = 3) -> float:
    """1 / rank of the first supplier of ``grade`` or above; 0 when none is in the ranking."""
    for i, sid in enumerate(ranking):
        if grades.get(sid, 0) >= grade:
            return 1.0 / (i + 1)
    return 0.0


def precision_at(ranking: Sequence[str], grades: Mapping[str, int], k: int = 10,
                 min_grade: int = 2) -> float:
    """Share of the top k that are relevant (grade 2 or 3); a short ranking still divides by k."""
    return sum(1 for sid in ranking[:k] if grades.get(sid, 0) >= min_grade) / k


def recall_at(ranking: Sequence[str], grades: Mapping[str, int], k: int = 50,
              min_grade: int = 2) -> float | None:
    """Share of the relevant (grade 2 or 3) found in the top k; None when nothing is relevant."""
    relevant = {sid for sid, g in grades.items() if g >= min_grade}
    if not relevant:
        return None
    return len(relevant.intersection(ranking[:k])) / len(relevant)


METRICS = ("NDCG@10", "MRR", "P@10", "recall@50")


def evaluate(rankings: Mapping[str, Sequence[str]], qrels: Qrels,
             challenge_ids: Sequence[str]) -> dict[str, float]:
    """Mean of each metric over ``challenge_ids`` (recall@50 only over those with relevant)."""
    per: dict[str, list[float]] = {m: [] for m in METRICS}
    for cid in challenge_ids:
        ranking = list(rankings.get(cid, ()))
        grades = qrels.get(cid, {})
        per["NDCG@10"].append(ndcg_at(ranking, grades))
        per["MRR"].append(reciprocal_rank(ranking, grades))
        per["P@10"].append(precision_at(ranking, grades))
        recall = recall_at(ranking, grades)
        if recall is not None:
            per["recall@50"].append(recall)
    return {m: (statistics.fmean(v) if v else 0.0) for m, v in per.items()}


# --- rankers -----------------------------------------------------------------------------


def _top_ids(scores: Any, ids: Sequence[str], depth: int) -> Ranking:
    import numpy as np

    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:depth]
    return [ids[i] for i in order]


def bm25_rankings(payload: Mapping[str, Any], depth: int = RANK_DEPTH) -> dict[str, Ranking]:
    """BM25Okapi over lowercase word tokens of the concatenated texts."""
    from rank_bm25 import BM25Okapi

    suppliers = payload["suppliers"]
    ids = [s["id"] for s in suppliers]
    # BM25Okapi divides by the corpus size and the average length: keep both non-zero.
    bm25 = BM25Okapi([tokenize(supplier_text(s)) or [""] for s in suppliers])
    return {c["id"]: _top_ids(bm25.get_scores(tokenize(challenge_text(c))), ids, depth)
            for c in payload["challenges"]}


def tfidf_rankings(payload: Mapping[str, Any], depth: int = RANK_DEPTH, *,
                   analyzer: str = "word", ngram_range: tuple[int, int] = (1, 1),
                   sublinear_tf: bool = True, stop_words: str | None = None,
                   ) -> dict[str, Ranking]:
    """Cosine similarity of TF-IDF vectors fitted on the supplier texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    suppliers = payload["suppliers"]
    ids = [s["id"] for s in suppliers]
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range,
                                 sublinear_tf=sublinear_tf, stop_words=stop_words)
    matrix = vectorizer.fit_transform([supplier_text(s) for s in suppliers])
    queries = vectorizer.transform([challenge_text(c) for c in payload["challenges"]])
    scores = (queries @ matrix.T).toarray()  # rows are L2-normalised: this is the cosine
    return {c["id"]: _top_ids(scores[i], ids, depth)
            for i, c in enumerate(payload["challenges"])}


def char_tfidf_rankings(payload: Mapping[str, Any], depth: int = RANK_DEPTH
                        ) -> dict[str, Ranking]:
    return tfidf_rankings(payload, depth, analyzer="char_wb", ngram_range=(3, 5))


def engine_rankings(payload: Mapping[str, Any], depth: int = RANK_DEPTH) -> dict[str, Ranking]:
    """The engine exactly as the app uses it: ``build_index`` then ``rank`` per challenge."""
    from marketplace.matching import build_index

    index = build_index(supplier_input(s) for s in payload["suppliers"])
    return {c["id"]: [m.id for m in index.rank(challenge_input(c), top=depth)]
            for c in payload["challenges"]}


def word_tfidf_stop_rankings(payload: Mapping[str, Any], depth: int = RANK_DEPTH
                             ) -> dict[str, Ranking]:
    return tfidf_rankings(payload, depth, stop_words="english")


def char_tfidf_raw_rankings(payload: Mapping[str, Any], depth: int = RANK_DEPTH
                            ) -> dict[str, Ranking]:
    return tfidf_rankings(payload, depth, analyzer="char_wb", ngram_range=(3, 5),
                          sublinear_tf=False)


# The last two are the better-tuned variants of each TF-IDF, so the margin is measured
# against the strongest of them, not a weak setting.
BASELINES: tuple[tuple[str, Callable[..., dict[str, Ranking]]], ...] = (
    ("BM25", bm25_rankings),
    ("word TF-IDF", tfidf_rankings),
    ("char n-gram TF-IDF (3-5)", char_tfidf_rankings),
    ("word TF-IDF, English stop words", word_tfidf_stop_rankings),
    ("char n-gram TF-IDF (3-5), raw tf", char_tfidf_raw_rankings),
)


def quality_report(payload: Mapping[str, Any], qrels: Qrels) -> list[str]:
    """The quality table as markdown lines (engine first, then the baselines)."""
    challenge_ids = [c["id"] for c in payload["challenges"]]
    rows: list[tuple[str, dict[str, float], str]] = []
    started = time.perf_counter()
    engine = evaluate(engine_rankings(payload), qrels, challenge_ids)
    rows.append(("engine", engine, f"{time.perf_counter() - started:.1f}"))
    for name, ranker in BASELINES:
        started = time.perf_counter()
        rows.append((name, evaluate(ranker(payload), qrels, challenge_ids),
                     f"{time.perf_counter() - started:.1f}"))

    lines = ["| ranker | NDCG@10 | MRR | P@10 | recall@50 |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, scores, _note in rows:
        lines.append(f"| {name} | " + " | ".join(f"{scores[m]:.3f}" for m in METRICS) + " |")
    lines.append("")
    best_name, best = max(((n, s) for n, s, _ in rows[1:]), key=lambda row: row[1]["NDCG@10"])
    margin = engine["NDCG@10"] - best["NDCG@10"]
    lines.append(f"engine NDCG@10 margin over best baseline: {margin:+.3f} ({best_name})")
    lines.append("ranking time for the whole set (s): "
                 + ", ".join(f"{name} {note}" for name, _scores, note in rows))
    return lines


# --- synthetic supplier sets -------------------------------------------------------------

_NAME_HEADS = ("Civic", "Lumen", "North", "Bright", "Open", "Tern", "Harbour", "Oak", "Kestrel",
               "Meadow", "Signal", "Granite", "Willow", "Beacon", "Arden", "Vale", "Orbit",
               "Cobalt", "Thistle", "Riverside", "Summit", "Fenland", "Pennine", "Ember")
_NAME_TAILS = ("works", "labs", "data", "logic", "path", "gate", "field", "point", "wise",
               "ly", "stack", "forge", "bridge", "sense", "loop", "well", "mark", "scope")
_NAME_FORMS = ("Ltd", "Limited", "LLP", "CIC", "Group", "& Co", "Consulting", "Partners",
               "Solutions", "Technologies", "Services", "Cooperative")
_SIZES = ("micro", "small", "medium", "large")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def synthetic_suppliers(base: Sequence[Mapping[str, Any]], count: int, seed: int = SEED
                        ) -> list[dict[str, Any]]:
    """``count`` supplier profiles (benchmark format) recombined from ``base``.

    Each mixes the capabilities, outcomes, description sentences, CPV codes and regions of
    different base suppliers, with a fresh id (``syn0000000``...) and a made-up name. The
    same base, count and seed always give the same list.
    """
    return list(iter_synthetic_suppliers(base, count, seed))


def iter_synthetic_suppliers(base: Sequence[Mapping[str, Any]], count: int, seed: int = SEED
                             ) -> Iterator[dict[str, Any]]:
    """:func:`synthetic_suppliers` one at a time (no list of dicts held in memory)."""
    if count and not base:
        raise ValueError("need at least one base supplier to recombine")
    rng = random.Random(seed)
    width = max(7, len(str(count)))
    for i in range(count):
        a, b, c, d, e, f = (base[rng.randrange(len(base))] for _ in range(6))
        capabilities = list(a.get("capabilities") or ())
        extra = list(b.get("capabilities") or ())
        if extra and rng.random() < 0.5:
            capabilities.append(rng.choice(extra))
        outcomes = list(c.get("outcomes") or ())
        more = list(b.get("outcomes") or ())
        if more and rng.random() < 0.3:
            outcomes.append(rng.choice(more))
        first, rest = _sentences(a.get("description") or ""), _sentences(d.get("description") or "")
        description = " ".join(first[:1] + rest[1:])
        yield {
            "id": f"syn{i:0{width}d}",
            "name": f"{rng.choice(_NAME_HEADS)}{rng.choice(_NAME_TAILS)} {rng.choice(_NAME_FORMS)}",
            "description": description,
            "capabilities": list(dict.fromkeys(capabilities)),
            "outcomes": list(dict.fromkeys(outcomes)),
            "cpv_codes": list(d.get("cpv_codes") or ()),
            "regions": list(e.get("regions") or ()),
            "size": f.get("size") or rng.choice(_SIZES),
        }


# --- speed (one child process per size) --------------------------------------------------


def _rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's ``ru_maxrss`` starts a spawned child at its parent's resident size (the kernel
    carries the parent's high-water mark through fork and exec), so where ``/proc`` has it
    this reads ``VmHWM``, the peak of this process's own address space since exec.
    """
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure_size(dataset: str, size: int, queries: int, seed: int = SEED) -> dict[str, float]:
    """Run inside a fresh process: build, query and cdist timings for one synthetic size."""
    import gc

    payload = load_json(Path(dataset))
    challenges = payload["challenges"]
    suppliers = [supplier_input(s)
                 for s in iter_synthetic_suppliers(payload["suppliers"], size, seed)]
    del payload
    inputs = [challenge_input(challenges[i % len(challenges)]) for i in range(queries)]
    gc.collect()
    baseline_mb = _rss_mb()

    from marketplace.matching import build_index

    started = time.perf_counter()
    index = build_index(suppliers)
    build_s = time.perf_counter() - started
    timings = []
    for challenge in inputs:
        started = time.perf_counter()
        index.rank(challenge, top=SPEED_TOP)
        timings.append((time.perf_counter() - started) * 1000)
    peak_mb = _rss_mb()  # before the cdist texts exist, so it is the engine's peak

    from rapidfuzz import fuzz, process

    texts = [supplier_text({"name": s.name, "description": s.description,
                            "capabilities": s.capabilities, "outcomes": s.outcomes})
             for s in suppliers]
    cdist_ms = []
    for i in range(min(CDIST_RUNS, len(challenges))):
        query = challenge_text(challenges[i])
        started = time.perf_counter()
        process.cdist([query], texts, scorer=fuzz.token_set_ratio, workers=1)
        cdist_ms.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(timings)
    cdist = statistics.median(cdist_ms)
    return {"size": size, "build_s": build_s, "p50_ms": p50,
            "p95_ms": _percentile(timings, 0.95), "peak_mb": peak_mb,
            "baseline_mb": baseline_mb, "cdist_ms": cdist, "ratio": p50 / cdist if cdist else 0}


def _child_main(args_json: str) -> None:
    args = json.loads(args_json)
    result = measure_size(args["dataset"], args["size"], args["queries"], args["seed"])
    print(json.dumps(result))


def run_size_in_child(dataset: Path, size: int, queries: int, seed: int = SEED,
                      timeout: float = CHILD_TIMEOUT_S) -> dict[str, Any]:
    """``measure_size`` in a fresh interpreter; {"error": ...} when it fails or times out."""
    args = json.dumps({"dataset": str(dataset), "size": size, "queries": queries, "seed": seed})
    code = ("import sys; from marketplace.bench_matching import _child_main; "
            "_child_main(sys.argv[1])")
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code, args], capture_output=True,  # noqa: S603
                              text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"size": size, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"size": size, "error": f"exit {done.returncode} after {wall:.0f} s: {tail}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def speed_report(dataset: Path, sizes: Sequence[int], queries: int,
                 progress: Callable[[str], None] | None = None) -> list[str]:
    """The speed table as markdown lines."""
    lines = ["| suppliers | build (s) | query p50 (ms) | query p95 (ms) | peak memory (MB) "
             "| p50 / cdist |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    for size in sizes:
        if progress:
            progress(f"measuring {size:,} suppliers in a child process...")
        r = run_size_in_child(dataset, size, queries)
        if "error" in r:
            lines.append(f"| {size:,} | failed: {r['error']} | | | | |")
            continue
        lines.append(f"| {size:,} | {r['build_s']:.2f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
                     f"| {r['peak_mb']:.0f} | {r['ratio']:.2f} |")
        notes.append(f"{size:,}: cdist {r['cdist_ms']:.1f} ms, memory before build "
                     f"{r['baseline_mb']:.0f} MB, child wall time {r['wall_s']:.0f} s")
    lines.append("")
    lines.append(f"top-{SPEED_TOP} queries, {queries} per size cycling through the set's "
                 f"challenges, no warm-up; peak memory is the child's own peak resident size "
                 f"(VmHWM; ru_maxrss elsewhere) after the queries, including the interpreter, "
                 f"Flask imports and the supplier objects; "
                 f"cdist is the median of {CDIST_RUNS} single-query rapidfuzz.process.cdist "
                 f"passes (token_set_ratio, workers=1) over the same suppliers' texts.")
    lines.extend(notes)
    return lines


# --- command -----------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise click.BadParameter("give sizes as comma-separated numbers, e.g. 1000,10000") from err
    if not sizes or any(s <= 0 for s in sizes):
        raise click.BadParameter("give at least one positive size")
    return sizes


def run(dataset: Path | None, qrels_path: Path | None, sizes: Sequence[int], queries: int,
        skip_speed: bool, skip_quality: bool) -> None:
    dataset = dataset or DEFAULT_DATASET
    qrels_path = qrels_path or default_qrels_path(dataset)
    payload = load_json(dataset)
    qrels: Qrels = load_json(qrels_path) if not skip_quality else {}
    judged = sum(len(v) for v in qrels.values())
    parts = [f"dataset {_display(dataset)} ({len(payload['challenges'])} challenges, "
             f"{len(payload['suppliers'])} suppliers"]
    parts[0] += f", {judged} judgements in {_display(qrels_path)})" if qrels else ")"
    ran = [name for name, skipped in (("quality", skip_quality), ("speed", skip_speed))
           if not skipped]
    if not skip_speed:
        parts.append(f"sizes {','.join(str(s) for s in sizes)}, {queries} queries per size")
    click.echo(f"bench-matching: {' and '.join(ran) or 'nothing'}; {'; '.join(parts)}; "
               f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores "
               f"({platform.machine()}), Python {platform.python_version()}")
    if not skip_quality:
        click.echo("\n## Quality\n")
        for line in quality_report(payload, qrels):
            click.echo(line)
    if not skip_speed:
        click.echo("\n## Speed\n")
        for line in speed_report(dataset, sizes, queries,
                                 progress=lambda msg: click.echo(msg, err=True)):
            click.echo(line)


def register(app: Flask) -> None:
    @app.cli.command("bench-matching", with_appcontext=False)
    @click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  default=None, help="Benchmark-format JSON (default: the bundled dev set).")
    @click.option("--qrels", "qrels_path",
                  type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                  help="Relevance judgements (default: <dataset>-qrels.json next to it).")
    @click.option("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), show_default=True,
                  help="Synthetic supplier counts for the speed table.")
    @click.option("--queries", default=30, show_default=True, type=click.IntRange(min=1),
                  help="Timed queries per size.")
    @click.option("--skip-speed", is_flag=True, help="Only the quality table.")
    @click.option("--skip-quality", is_flag=True, help="Only the speed table.")
    def bench_matching(dataset: Path | None, qrels_path: Path | None, sizes: str, queries: int,
                       skip_speed: bool, skip_quality: bool) -> None:
        """Matching quality against baselines and speed at scale (prints figures only)."""
        run(dataset, qrels_path, parse_sizes(sizes), queries, skip_speed, skip_quality)
