"""Scoring behaviour of the pure-Python matching engine (no app, no database)."""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace.matching import (
    ChallengeInput,
    MatchIndex,
    PayloadError,
    SupplierInput,
    Vocabulary,
    VocabularyError,
    Weights,
    build_index,
    rank_file_payload,
)
from marketplace.matching.engine import cpv_similarity
from marketplace.matching.text import british

PACKAGE = Path(__file__).resolve().parents[1] / "marketplace" / "matching"

# A small vocabulary so tests do not depend on the bundled file's wording.
VOCAB = Vocabulary.parse(
    """
    waste-enforcement: environmental enforcement
    fly-tipping (waste-enforcement): fly-tipping; illegal dumping; dumped rubbish
    highway-maintenance: highway maintenance
    road (highway-maintenance): road; carriageway
    pothole (highway-maintenance): pothole; road defect
    telecare: telecare; technology-enabled care; tec
    home-care: home care; domiciliary care; care at home
    travel-routing: mileage; travel time; route planning; route optimisation; time driving
    """
)


def supplier(
    ident: str, *capabilities: str, outcomes: tuple[str, ...] = (), **extra
) -> SupplierInput:
    return SupplierInput(id=ident, name=ident, capabilities=capabilities, outcomes=outcomes,
                         **extra)


def challenge(**fields) -> ChallengeInput:
    return ChallengeInput(id=fields.pop("id", "c1"), **fields)


def ranked(index: MatchIndex, need: ChallengeInput, **kwargs) -> list[str]:
    return [m.id for m in index.rank(need, **kwargs)]


# Purity ------------------------------------------------------------------------------------

def test_matching_package_imports_no_web_or_database_framework():
    forbidden = {"flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug", "marketplace"}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def test_importing_the_engine_loads_no_framework_module():
    # marketplace/__init__ imports Flask, so load the package from its folder directly.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('matching', r'{PACKAGE / '__init__.py'}',"
        f" submodule_search_locations=[r'{PACKAGE}'])\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['matching'] = module\n"
        "spec.loader.exec_module(module)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('flask', 'sqlalchemy', 'werkzeug')]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


# Text handling -----------------------------------------------------------------------------

def test_us_spellings_become_british():
    assert british("optimization") == "optimisation"
    assert british("analyze") == "analyse"
    assert british("citizen") == "citizen"
    assert british("size") == "size"


@pytest.mark.parametrize(
    "wording",
    [
        "route optimization for refuse collection",  # US spelling
        "refuse collection route optimisations",  # plural
        "route optimisaton for refuse colection",  # typos
        "optimisation of routes for refuse collection",  # word order and inflection
    ],
)
def test_wording_variants_still_find_the_specialist(wording):
    index = build_index([
        supplier("routes", "route optimisation for refuse collection"),
        supplier("catering", "corporate event catering"),
        supplier("parks", "grounds maintenance for parks"),
    ], VOCAB)
    assert ranked(index, challenge(title=wording))[0] == "routes"


def test_hyphenation_does_not_matter():
    index = build_index([
        supplier("joined", "flytipping investigations"),
        supplier("other", "tree surgery"),
    ], Vocabulary.empty())
    assert ranked(index, challenge(title="fly-tipping"))[:1] == ["joined"]


# Synonyms and concepts ---------------------------------------------------------------------

def test_synonyms_match_different_words_for_the_same_thing():
    index = build_index([
        supplier("dumping", "cameras that catch illegal dumping"),
        supplier("roads", "carriageway resurfacing"),
        supplier("tec", "technology-enabled care for older people"),
        supplier("noise", "noise nuisance investigations"),
    ], VOCAB)
    assert ranked(index, challenge(title="Fly-tipping hotspots"))[0] == "dumping"
    assert ranked(index, challenge(title="Road resurfacing programme"))[0] == "roads"
    assert ranked(index, challenge(title="Telecare for people living alone"))[0] == "tec"


def test_without_the_vocabulary_synonyms_are_not_known():
    index = build_index([supplier("dumping", "cameras that catch illegal dumping")],
                        Vocabulary.empty())
    assert ranked(index, challenge(title="Fly-tipping hotspots")) == []


def test_teams_can_extend_the_vocabulary():
    base = Vocabulary.parse("road: road; carriageway")
    extended = base.extended("road: highway\nbins (waste): wheelie bin\nwaste: refuse")
    assert "highway" in extended.concepts["road"].phrases
    assert extended.concepts["bins"].parents == ("waste",)
    index = build_index([supplier("h", "highway repairs"), supplier("x", "event catering")],
                        extended)
    assert ranked(index, challenge(title="carriageway repairs"))[0] == "h"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no colon here", "line 1"),
        ("a (a): phrase", "its own parent"),
        ("a (missing): phrase", "'missing'"),
        ("a:", "at least one phrase"),
        ("a (b): x\nb (a): y", "cycle"),
        ("Bad Id: x", "line 1"),
    ],
)
def test_bad_vocabulary_lines_are_refused_with_a_clear_message(text, message):
    with pytest.raises(VocabularyError, match=message.replace("(", r"\(")):
        Vocabulary.parse(text)


def test_the_bundled_vocabulary_knows_the_classic_synonyms():
    index = build_index([
        supplier("dumping", "illegal dumping enforcement"),
        supplier("roads", "carriageway surveys"),
        supplier("tec", "technology-enabled care"),
        supplier("other", "wedding photography"),
    ])
    assert ranked(index, challenge(title="fly-tipping"))[0] == "dumping"
    assert ranked(index, challenge(title="road condition"))[0] == "roads"
    assert ranked(index, challenge(title="telecare"))[0] == "tec"


def test_broader_concepts_give_partial_credit():
    index = build_index([
        supplier("exact", "illegal dumping detection"),
        supplier("related", "environmental enforcement officers"),
        supplier("none", "wedding photography"),
    ], VOCAB)
    matches = index.rank(challenge(title="fly-tipping"))
    assert [m.id for m in matches] == ["exact", "related"]
    assert matches[0].score > matches[1].score > 0


# Outcomes, generalists and components ------------------------------------------------------

def test_delivered_outcomes_lift_a_supplier_with_the_same_capability():
    need = challenge(title="home care visits", outcomes=("cut carer mileage",))
    index = build_index([
        supplier("plain", "domiciliary care scheduling"),
        supplier("proven", "domiciliary care scheduling",
                 outcomes=("reduced travel time for Kent County Council",)),
    ], VOCAB)
    matches = index.rank(need)
    assert [m.id for m in matches] == ["proven", "plain"]
    assert matches[0].breakdown["outcome"] > matches[1].breakdown["outcome"] == 0


def test_keyword_stuffed_generalist_does_not_outrank_the_specialist():
    index = build_index([
        supplier("specialist", "adaptive traffic signal control at junctions"),
        supplier("generalist", "AI", "machine learning", "data analytics", "platforms",
                 "traffic", "signals", "junctions", "smart city", "IoT", "cloud", "apps",
                 "digital transformation", "innovation"),
    ], VOCAB)
    matches = index.rank(challenge(title="Congestion at junctions",
                                   capabilities=("AI traffic signal control",)))
    assert [m.id for m in matches][0] == "specialist"
    generalist = next(m for m in matches if m.id == "generalist")
    assert any("general capabilities" in note for note in generalist.notes)


def test_lookalike_business_sharing_words_ranks_below_the_real_thing():
    index = build_index([
        supplier("furniture", "care home furniture supply"),
        supplier("homecare", "domiciliary care rostering"),
    ], VOCAB)
    assert ranked(index, challenge(title="Not enough home care capacity"))[0] == "homecare"


def test_cpv_codes_are_compared_through_the_hierarchy():
    assert cpv_similarity("72212000", "72212000") == 1.0
    assert cpv_similarity("72000000", "72212000") == 0.8  # one inside the other
    assert cpv_similarity("72212000", "72213000") == 0.7  # same class (4 digits)
    assert cpv_similarity("72212000", "72222000") == 0.5  # same group (3 digits)
    assert cpv_similarity("72212000", "72312000") == 0.3  # same division (2 digits)
    assert cpv_similarity("72212000", "79212000") == 0.0
    index = build_index([
        supplier("same", cpv_codes=("72212000",)),
        supplier("group", cpv_codes=("72220000",)),
        supplier("none", cpv_codes=("45000000",)),
    ], VOCAB)
    matches = index.rank(challenge(title="x", cpv_codes=("72212000",)),
                         weights=Weights(capability=0, outcome=0, cpv=1, region=0))
    assert [(m.id, m.breakdown["cpv"]) for m in matches] == [("same", 1.0), ("group", 0.5)]


def test_region_fit_counts_uk_wide_and_unknown():
    index = build_index([
        supplier("local", "parks", regions=("London",)),
        supplier("national", "parks", regions=("UK-wide",)),
        supplier("unknown", "parks"),
        supplier("far", "parks", regions=("Scotland",)),
    ], VOCAB)
    matches = index.rank(challenge(title="parks", region="London"),
                         weights=Weights(capability=0, outcome=0, cpv=0, region=1))
    scores = {m.id: m.breakdown["region"] for m in matches}
    assert scores == {"local": 1.0, "national": 1.0, "unknown": 0.5}


def test_weights_change_the_order_and_missing_components_are_left_out():
    index = build_index([
        supplier("words", "pothole repairs", regions=("Scotland",)),
        supplier("nearby", "grass cutting", regions=("London",)),
    ], VOCAB)
    need = challenge(title="pothole repairs", region="London")
    assert ranked(index, need, weights=Weights(1, 0, 0, 0))[0] == "words"
    assert ranked(index, need, weights=Weights(0.1, 0, 0, 0.9))[0] == "nearby"
    match = index.rank(need)[0]
    assert set(match.breakdown) == {"capability", "region"}  # no outcomes, no CPV codes


# Explanations ------------------------------------------------------------------------------

def test_explanation_names_matched_phrases_and_highlights_the_words():
    index = build_index([
        supplier("s", "route planning for domiciliary care workers",
                 outcomes=("less time driving between visits for Kent County Council",)),
    ], VOCAB)
    match = index.rank(challenge(title="Home care rounds", outcomes=("cut carer mileage",)))[0]
    phrases = {(p.component, p.challenge_phrase): p for p in match.explanation}
    title = phrases[("capability", "Home care rounds")]
    assert title.supplier_phrase == "route planning for domiciliary care workers"
    assert "home care" in title.shared
    highlighted = [title.supplier_phrase[s.start:s.end] for s in title.supplier_spans]
    assert "domiciliary care" in highlighted
    assert [title.challenge_phrase[s.start:s.end] for s in title.challenge_spans] == ["Home care"]
    outcome = phrases[("outcome", "cut carer mileage")]
    assert "travel routing" in outcome.shared
    assert outcome.supplier_phrase.startswith("less time driving")
    assert 0 < outcome.strength <= 1


def test_breakdown_and_score_agree():
    index = build_index([supplier("s", "pothole detection", cpv_codes=("71311220",),
                                  regions=("London",))], VOCAB)
    match = index.rank(challenge(title="potholes", cpv_codes=("71311000",), region="Wales"))[0]
    weights = Weights().normalised()
    parts = {"capability": weights.capability, "cpv": weights.cpv, "region": weights.region}
    total = sum(parts.values())
    expected = sum(match.breakdown[k] * w / total for k, w in parts.items()) * 100
    assert match.score == pytest.approx(expected, abs=0.01)


# Index maintenance and determinism ---------------------------------------------------------

def test_upsert_replaces_and_remove_forgets():
    index = build_index([supplier("a", "pothole repairs"), supplier("b", "tree surgery")], VOCAB)
    need = challenge(title="potholes")
    assert ranked(index, need) == ["a"]
    index.upsert(supplier("a", "wedding photography"))
    index.upsert(supplier("b", "pothole detection"))
    assert ranked(index, need) == ["b"]
    index.remove("b")
    index.remove("never-there")
    assert ranked(index, need) == [] and len(index) == 1 and "b" not in index


def test_many_updates_compact_the_index_without_changing_results():
    rng = random.Random(7)
    words = ["pothole repairs", "tree surgery", "illegal dumping cameras", "home care rostering"]
    index = MatchIndex(VOCAB)
    for i in range(3000):
        index.upsert(supplier(f"s{i % 400}", rng.choice(words)))
    fresh = build_index([index._slots[n].supplier for n in index._slot_of.values()], VOCAB)
    need = challenge(title="fly-tipping")
    assert len(index) == 400
    got = index.rank(need, top=50)
    want = fresh.rank(need, top=50)
    assert [(m.id, m.score) for m in got] == [(m.id, m.score) for m in want]


def test_ranking_is_deterministic_whatever_the_insertion_order():
    suppliers = [supplier(f"s{i}", "pothole repairs" if i % 3 else "road defect surveys")
                 for i in range(60)]
    need = challenge(title="potholes on the carriageway")
    first = [(m.id, m.score) for m in build_index(suppliers, VOCAB).rank(need, top=30)]
    shuffled = suppliers[:]
    random.Random(3).shuffle(shuffled)
    second = [(m.id, m.score) for m in build_index(shuffled, VOCAB).rank(need, top=30)]
    assert first == second
    assert first == sorted(first, key=lambda item: (-item[1], item[0]))


def test_only_restricts_the_candidates():
    index = build_index([supplier("a", "pothole repairs"), supplier("b", "pothole surveys")],
                        VOCAB)
    assert ranked(index, challenge(title="potholes"), only=["b", "zzz"]) == ["b"]


def test_scoring_a_few_suppliers_one_by_one_gives_the_same_scores_as_the_full_pass():
    rng = random.Random(11)
    phrases = ["pothole repairs", "road defect surveys", "illegal dumping cameras",
               "home care rostering", "route planning for domiciliary care", "tree surgery"]
    suppliers = [
        supplier(f"s{i}", *rng.sample(phrases, 2), outcomes=(rng.choice(phrases),),
                 cpv_codes=(rng.choice(["45233141", "90600000", "85312000"]),),
                 regions=(rng.choice(["London", "Wales", "UK-wide"]),))
        for i in range(800)
    ]
    index = build_index(suppliers, VOCAB)
    need = challenge(title="potholes and home care", outcomes=("fewer road defects",),
                     cpv_codes=("45233000",), region="Wales")
    full = {m.id: m for m in index.rank(need, top=800)}
    few = ["s3", "s10", "s99", "s700"]
    for match in index.rank(need, top=10, only=few):
        assert match.score == full[match.id].score
        assert match.breakdown == full[match.id].breakdown
    assert len(index.rank(need, top=800, only=[f"s{i}" for i in range(600)])) == len(
        [i for i in full if int(i[1:]) < 600])


def test_region_and_size_filters_and_count():
    index = build_index([
        supplier("london", "parks", regions=("London",), size="small"),
        supplier("national", "parks", regions=("UK-wide",), size="large"),
        supplier("wales", "parks", regions=("Wales",), size="small"),
        supplier("unsized", "parks", regions=("London",)),
    ], VOCAB)
    need = challenge(title="parks")
    assert sorted(ranked(index, need, regions=["London"])) == ["london", "national", "unsized"]
    assert sorted(ranked(index, need, sizes=["small"])) == ["london", "wales"]
    assert ranked(index, need, regions=["London"], sizes=["small"], only=["london", "wales"]) == [
        "london"]
    assert index.count() == 4
    assert index.count(regions=["Wales"]) == 2
    assert index.count(sizes=["micro"]) == 0


def test_rank_challenges_ranks_in_reverse_with_the_same_scores():
    index = build_index([supplier("s", "illegal dumping cameras"),
                         supplier("t", "tree surgery")], VOCAB)
    needs = [challenge(id="fly", title="fly-tipping"), challenge(id="trees", title="tree survey"),
             challenge(id="none", title="wedding")]
    reverse = index.rank_challenges("s", needs)
    assert [m.id for m in reverse] == ["fly"]
    forward = index.rank(needs[0])[0]
    assert reverse[0].score == forward.score
    assert index.rank_challenges("unknown", needs) == []
    assert index.rank_challenges("s", needs, min_score=101) == []


# rank-file ---------------------------------------------------------------------------------

PAYLOAD = {
    "challenges": [{"id": "c1", "title": "Illegal dumping", "outcomes": [], "capabilities": [],
                    "cpv_codes": [], "region": "London", "budget_gbp": 1000}],
    "suppliers": [
        {"id": "s1", "name": "A", "description": "fly-tipping cameras", "capabilities": [],
         "outcomes": [], "cpv_codes": [], "regions": ["UK-wide"], "size": "small"},
        {"id": "s2", "name": "B", "description": "", "capabilities": ["catering"],
         "outcomes": [], "cpv_codes": [], "regions": [], "size": "micro"},
    ],
}


def test_rank_file_payload_has_the_benchmark_shape():
    result = rank_file_payload(PAYLOAD, top=1)
    assert list(result) == ["rankings"]
    (entry,) = result["rankings"]["c1"]
    assert entry["supplier_id"] == "s1"
    assert 0 < entry["score"] <= 100
    assert set(entry["breakdown"]) == {"capability", "region"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "JSON object"),
        ({"challenges": {}}, "'challenges' must be a list"),
        ({"suppliers": [{"name": "x"}]}, r"suppliers\[0\] needs an 'id'"),
        ({"suppliers": [{"id": "a"}, {"id": "a"}]}, "used twice"),
        ({"suppliers": [{"id": "a", "capabilities": "x"}]}, "list of strings"),
        ({"challenges": [{"id": "a", "budget_gbp": "lots"}]}, "must be a number"),
    ],
)
def test_rank_file_payload_refuses_bad_input(payload, message):
    with pytest.raises(PayloadError, match=message):
        rank_file_payload(payload)


def test_empty_lists_and_fields_are_fine():
    assert rank_file_payload({"challenges": [{"id": "c"}], "suppliers": [{"id": "s"}]}) == {
        "rankings": {"c": []}
    }


def test_rank_file_command(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(PAYLOAD))
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "marketplace", "rank-file", str(path), "--top", "5"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == rank_file_payload(PAYLOAD, top=5)

    path.write_text("{not json")
    result = subprocess.run(
        [str(flask), "--app", "marketplace", "rank-file", str(path)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "not valid JSON (line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_index_without_any_text_still_ranks() -> None:
    """Suppliers with nothing but a name (no capabilities or case studies): the typo lookup
    finds no indexed words and everyone scores 0, rather than failing."""
    index = build_index([SupplierInput(id="s1", name="Acme Ltd")])
    matches = index.rank(ChallengeInput(id="c", title="Machine learning",
                                        capabilities=("Machine learning",)), top=1)
    assert [m.score for m in matches] in ([], [0.0])
