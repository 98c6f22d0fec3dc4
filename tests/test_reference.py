"""The bundled reference data and its pure-Python lookups (no app or database needed)."""

from __future__ import annotations

import ast
import csv
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace import reference
from marketplace.reference import (
    BUDGET_BANDS,
    ITL1_REGIONS,
    REGIONS,
    UK_WIDE,
    CpvCode,
    cpv_divisions,
    division_label,
    load_cpv,
    normalise_region,
    parse_cpv,
    search_cpv,
)

REFERENCE_PY = Path(reference.__file__)
CPV_CSV = REFERENCE_PY.parent / "data" / "cpv.csv"

ALL_DIVISIONS = [
    f"{number:02d}"
    for number in (3, 9, 14, 15, 16, 18, 19, 22, 24, 30, 31, 32, 33, 34, 35, 37, 38, 39, 41)
    + (42, 43, 44, 45, 48, 50, 51, 55, 60, 63, 64, 65, 66, 70, 71, 72, 73, 75, 76, 77, 79)
    + (80, 85, 90, 92, 98)
]


def _csv_rows() -> list[dict[str, str]]:
    with CPV_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["code", "label"]
        return list(reader)


# --- The CSV file ----------------------------------------------------------------------


def test_csv_codes_are_eight_digits_unique_and_sorted():
    rows = _csv_rows()
    codes = [row["code"] for row in rows]
    assert all(len(code) == 8 and code.isdigit() for code in codes)
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    assert all(row["label"] and row["label"] == row["label"].strip() for row in rows)
    assert 120 <= len(codes) <= 250


def test_all_45_divisions_are_present():
    assert len(ALL_DIVISIONS) == 45
    assert [entry.division for entry in cpv_divisions()] == ALL_DIVISIONS
    assert all(entry.code.endswith("000000") for entry in cpv_divisions())


def test_every_code_belongs_to_an_included_division():
    codes = load_cpv()
    for code in codes:
        assert code[:2] + "000000" in codes, code


def test_known_labels():
    codes = load_cpv()
    assert codes["03000000"].label == (
        "Agricultural, farming, fishing, forestry and related products"
    )
    assert codes["72000000"].label == (
        "IT services: consulting, software development, Internet and support"
    )
    assert codes["90511000"].label == "Refuse collection services"
    assert codes["45233141"].label == "Road-maintenance works"
    assert codes["85311200"].label == "Welfare services for the handicapped"


def test_load_cpv_reads_the_file_once_and_matches_it():
    assert load_cpv() is load_cpv()
    assert list(load_cpv()) == [row["code"] for row in _csv_rows()]


# --- CpvCode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("90000000", "division"),
        ("90500000", "group"),
        ("90510000", "class"),
        ("90511000", "category"),
        ("90511200", "subcategory"),
        ("45233141", "subcategory"),
    ],
)
def test_cpv_level(code, level):
    assert CpvCode(code, "x").level == level


def test_cpv_division_and_display():
    entry = load_cpv()["90511000"]
    assert entry.division == "90"
    assert entry.display == "90511000 Refuse collection services"


def test_division_label():
    assert division_label("90") == "Sewage, refuse, cleaning and environmental services"
    assert division_label("90511000") == division_label("90")
    with pytest.raises(ValueError, match="not a CPV division"):
        division_label("99")


# --- parse_cpv -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["90511000", "90511000-2", " 9051 1000 ", "90511000 - 2", "\t90511000\n"],
)
def test_parse_cpv_accepts_codes_with_or_without_check_digit(value):
    assert parse_cpv(value) == "90511000"


def test_parse_cpv_does_not_validate_the_check_digit():
    assert parse_cpv("90511000-9") == "90511000"


@pytest.mark.parametrize(
    "value",
    ["", "   ", "9051100", "905110000", "9051100A", "abcdefgh", "90511000-", "90511000-22"],
)
def test_parse_cpv_rejects_malformed_input(value):
    with pytest.raises(ValueError, match="^Enter a CPV code of 8 digits, like 72000000$"):
        parse_cpv(value)


def test_parse_cpv_rejects_unknown_codes():
    with pytest.raises(ValueError, match="^12345678 is not in the list of CPV codes$"):
        parse_cpv("12345678")


# --- search_cpv ------------------------------------------------------------------------


def test_search_by_digits_is_a_prefix_match():
    codes = [entry.code for entry in search_cpv("9051")]
    assert codes
    assert all(code.startswith("9051") for code in codes)
    assert "90511000" in codes
    assert [entry.code for entry in search_cpv("90511000-2")] == ["90511000"]


def test_search_by_words_needs_every_word_as_a_word_prefix():
    assert [entry.code for entry in search_cpv("refuse collection")] == [
        "34144511",  # Refuse-collection vehicles
        "90511000",
        "90511200",
    ]
    assert [entry.code for entry in search_cpv("ROAD maint")] == ["45233141"]
    assert search_cpv("fuse") == []  # inside a word, not at its start


def test_search_tolerates_simple_plurals():
    assert "79311000" in [entry.code for entry in search_cpv("surveys")]
    assert "71311000" in [entry.code for entry in search_cpv("consultancies")]
    assert "72700000" in [entry.code for entry in search_cpv("computer networks")]


def test_search_ranks_divisions_first_then_by_code():
    results = search_cpv("services")
    levels = [entry.level == "division" for entry in results]
    assert levels == sorted(levels, reverse=True)
    divisions = [entry for entry in results if entry.level == "division"]
    others = [entry for entry in results if entry.level != "division"]
    assert divisions and others
    assert [entry.code for entry in divisions] == sorted(entry.code for entry in divisions)
    assert [entry.code for entry in others] == sorted(entry.code for entry in others)


def test_search_limit():
    assert len(search_cpv("services")) == 30
    assert len(search_cpv("services", limit=5)) == 5
    assert search_cpv("services", limit=0) == []


def test_empty_search_returns_the_divisions():
    assert search_cpv("") == cpv_divisions()
    assert search_cpv("   ") == cpv_divisions()


def test_search_with_no_match():
    assert search_cpv("zzzz") == []
    assert search_cpv("1234") == []
    assert search_cpv("!!") == []


# --- Regions ---------------------------------------------------------------------------


def test_regions():
    assert len(ITL1_REGIONS) == 12
    assert ITL1_REGIONS[0] == "North East"
    assert ITL1_REGIONS[-1] == "Northern Ireland"
    assert (*ITL1_REGIONS, UK_WIDE) == REGIONS
    assert UK_WIDE == "UK-wide"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("London", "London"),
        ("  london ", "London"),
        ("NORTH   EAST", "North East"),
        ("Yorkshire and the Humber", "Yorkshire and The Humber"),
        ("yorkshire and the humber", "Yorkshire and The Humber"),
        ("East", "East of England"),
        ("east of england", "East of England"),
        ("UK wide", UK_WIDE),
        ("uk-wide", UK_WIDE),
        ("UK-wide", UK_WIDE),
        ("United Kingdom", UK_WIDE),
        ("Northern Ireland", "Northern Ireland"),
    ],
)
def test_normalise_region(value, expected):
    assert normalise_region(value) == expected


@pytest.mark.parametrize("value", ["", "Narnia", "North", "Ireland", "England"])
def test_normalise_region_unknown(value):
    assert normalise_region(value) is None


def test_every_region_normalises_to_itself():
    assert all(normalise_region(region) == region for region in REGIONS)


# --- Budget bands ----------------------------------------------------------------------


def test_budget_bands_are_contiguous_and_open_ended():
    assert [band.key for band in BUDGET_BANDS] == [
        "under-25k",
        "25k-100k",
        "100k-500k",
        "500k-plus",
    ]
    assert BUDGET_BANDS[0].minimum == 0
    assert BUDGET_BANDS[-1].maximum is None
    for lower, upper in zip(BUDGET_BANDS, BUDGET_BANDS[1:], strict=False):
        assert lower.maximum == upper.minimum
        assert lower.minimum < lower.maximum
    assert BUDGET_BANDS[0] == ("under-25k", "Under £25,000", 0, 25000)
    assert BUDGET_BANDS[-1] == ("500k-plus", "£500,000 or more", 500000, None)


# --- Purity ----------------------------------------------------------------------------


def test_reference_imports_nothing_from_flask_or_sqlalchemy():
    tree = ast.parse(REFERENCE_PY.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "reference.py should use absolute stdlib imports only"
            imported.add(node.module or "")
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"flask", "sqlalchemy", "flask_sqlalchemy", "marketplace"}, roots
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


def test_reference_loads_standalone_without_flask_or_sqlalchemy():
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('reference', {str(REFERENCE_PY)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['reference'] = module\n"
        "spec.loader.exec_module(module)\n"
        "assert module.parse_cpv('72000000') == '72000000'\n"
        "assert not {'flask', 'sqlalchemy'} & set(sys.modules), sorted(sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
