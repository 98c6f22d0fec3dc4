"""Reference data shared by forms, filters and open data: UK regions, budget bands and CPV
codes.

Pure Python (standard library only), so it can be imported without an application context.
The CPV list is a bundled selection of CPV 2008; see ``marketplace/data/README.md``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "BUDGET_BANDS",
    "ITL1_REGIONS",
    "REGIONS",
    "UK_WIDE",
    "BudgetBand",
    "CpvCode",
    "cpv_divisions",
    "division_label",
    "load_cpv",
    "normalise_region",
    "parse_cpv",
    "search_cpv",
]

# --- Regions ---------------------------------------------------------------------------

ITL1_REGIONS: tuple[str, ...] = (
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
    "Wales",
    "Scotland",
    "Northern Ireland",
)
UK_WIDE = "UK-wide"
REGIONS: tuple[str, ...] = ITL1_REGIONS + (UK_WIDE,)


def _region_key(value: str) -> str:
    """Fold case, treat hyphens and "&" as their spelled-out forms and collapse spaces."""
    value = value.casefold().replace("&", " and ").replace("-", " ")
    return " ".join(value.split())


_REGION_LOOKUP: dict[str, str] = {_region_key(region): region for region in REGIONS}
_REGION_LOOKUP.update(
    {
        _region_key("East"): "East of England",
        _region_key("United Kingdom"): UK_WIDE,
    }
)


def normalise_region(value: str) -> str | None:
    """Return the canonical name from ``REGIONS`` for ``value``, or None if unknown.

    Matching ignores case and extra spaces, so "yorkshire and the humber", " London " and
    "uk wide" are all accepted. "East" means East of England and "United Kingdom" means
    UK-wide.
    """
    return _REGION_LOOKUP.get(_region_key(value))


# --- Budget bands ----------------------------------------------------------------------


class BudgetBand(NamedTuple):
    """A budget range in whole pounds: ``minimum <= amount < maximum`` (no upper limit
    when ``maximum`` is None)."""

    key: str
    label: str
    minimum: int
    maximum: int | None


BUDGET_BANDS: tuple[BudgetBand, ...] = (
    BudgetBand("under-25k", "Under £25,000", 0, 25_000),
    BudgetBand("25k-100k", "£25,000 to £100,000", 25_000, 100_000),
    BudgetBand("100k-500k", "£100,000 to £500,000", 100_000, 500_000),
    BudgetBand("500k-plus", "£500,000 or more", 500_000, None),
)


# --- CPV codes -------------------------------------------------------------------------

CPV_CSV = Path(__file__).parent / "data" / "cpv.csv"
CPV_FORMAT_MESSAGE = "Enter a CPV code of 8 digits, like 72000000"

_CPV_INPUT = re.compile(r"(\d{8})(?:-\d)?")
_DIGIT_QUERY = re.compile(r"(\d+)(?:-\d)?")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class CpvCode:
    """One CPV 2008 entry: an 8-digit code (no check digit) and its English label."""

    code: str
    label: str

    @property
    def division(self) -> str:
        """The first two digits, which name the division."""
        return self.code[:2]

    @property
    def level(self) -> str:
        """Where the code sits in the CPV tree, from the number of trailing zeros."""
        if self.code[2:] == "000000":
            return "division"
        if self.code[3:] == "00000":
            return "group"
        if self.code[4:] == "0000":
            return "class"
        if self.code[5:] == "000":
            return "category"
        return "subcategory"

    @property
    def display(self) -> str:
        """Code and label for lists and summaries, e.g. "90511000 Refuse collection
        services"."""
        return f"{self.code} {self.label}"


@cache
def load_cpv() -> dict[str, CpvCode]:
    """Read the bundled CPV list once, returning entries keyed by code in code order."""
    with CPV_CSV.open(encoding="utf-8", newline="") as handle:
        rows = [
            CpvCode(row["code"].strip(), row["label"].strip()) for row in csv.DictReader(handle)
        ]
    return {entry.code: entry for entry in sorted(rows, key=lambda entry: entry.code)}


def parse_cpv(value: str) -> str:
    """Turn user input into a known 8-digit CPV code.

    Spaces are ignored and an optional "-N" check digit is accepted and dropped (it is not
    validated). Raises ValueError when the input is not 8 digits, or when the code is not
    in the bundled list.
    """
    compact = "".join(value.split())
    match = _CPV_INPUT.fullmatch(compact)
    if match is None:
        raise ValueError(CPV_FORMAT_MESSAGE)
    code = match.group(1)
    if code not in load_cpv():
        raise ValueError(f"{code} is not in the list of CPV codes")
    return code


def cpv_divisions() -> list[CpvCode]:
    """All divisions in the bundled list, in code order."""
    return [entry for entry in load_cpv().values() if entry.level == "division"]


def division_label(division: str) -> str:
    """Label of a division, given its two digits (or any code in it, e.g. "90511000").

    Raises ValueError for a division that is not in the bundled list.
    """
    entry = load_cpv().get(division.strip()[:2] + "000000")
    if entry is None:
        raise ValueError(f"{division} is not a CPV division")
    return entry.label


def _word_forms(word: str) -> set[str]:
    """The word plus simple singular forms: "surveys" -> "survey", "boxes" -> "box",
    "consultancies" -> "consultancy"."""
    forms = {word}
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        forms.add(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.add(word[:-1])
    return forms


@cache
def _label_words(label: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(label.casefold()))


def _matches_word(query_word: str, label_words: tuple[str, ...]) -> bool:
    """True when the query word, or its singular, starts one of the label's words."""
    forms = _word_forms(query_word)
    return any(word.startswith(form) for word in label_words for form in forms)


def search_cpv(query: str, limit: int = 30) -> list[CpvCode]:
    """Find CPV codes for a search box, divisions first and then in code order.

    Digits (optionally with a check digit) match codes that start with them. Words match
    labels that contain every word as the start of a word, ignoring case and simple
    plurals. An empty query returns every division, and ``limit`` does not apply to it.
    """
    text = query.strip()
    if not text:
        return cpv_divisions()
    entries = load_cpv().values()
    digits = _DIGIT_QUERY.fullmatch("".join(text.split()))
    if digits is not None:
        prefix = digits.group(1)
        found = [entry for entry in entries if entry.code.startswith(prefix)]
    else:
        query_words = _WORD.findall(text.casefold())
        if not query_words:
            return []
        found = [
            entry
            for entry in entries
            if all(_matches_word(word, _label_words(entry.label)) for word in query_words)
        ]
    found.sort(key=lambda entry: (entry.level != "division", entry.code))
    return found[: max(limit, 0)]
