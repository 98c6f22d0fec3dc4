"""The supplier index and how a supplier's score is made up.

Score (0-100) = 100 × Σ weightᶜ × componentᶜ over the components a challenge gives data for
(weights re-normalised over those), where each component is 0..1:

* **capability**: for every phrase that states the need (capabilities sought, title,
  summary, the description's clauses, outcomes wanted; repeats merged), the best-matching
  phrase among the supplier's capability statements, description clauses and delivered
  outcomes; mean weighted by NEED_WEIGHTS.
* **outcome**: for every outcome wanted, the best-matching outcome the supplier has
  delivered (case studies, or clauses of the description); mean, scaled down while the
  capability component is below OUTCOME_GATE.
* **cpv**: for every challenge CPV code, the closest supplier code: the same code 1, one
  inside the other 0.8, then by shared digits (category 0.85, class 0.7, group 0.5,
  division 0.3); mean.
* **region**: 1 when the supplier works in the challenge's region or UK-wide, 0.5 when it
  gives no regions, else 0.

Two phrases are compared on their features: content-word stems (after typo correction and
British spelling) and vocabulary concepts (synonym groups, plus their broader concepts at
reduced strength). Each feature is weighted by its rarity among suppliers (BM25 idf) and
concepts count 1.5×; challenge words that no supplier uses also match indexed words within a
typo (rapidfuzz). ``similarity = coverage^0.7 × focus^0.3``, where coverage is the share of
the challenge phrase's weight the supplier phrase shares, and focus the share of the
supplier phrase's own weight that is shared (the shared weight capped at both totals): a
phrase has to answer the need, and a one-word buzzword cannot. Keyword-stuffed profiles
(many one-word generic capabilities) have their text components scaled down.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from .text import Analyser, Analysis
from .types import SIZES, ChallengeInput, Match, PhraseMatch, Span, SupplierInput, Weights
from .vocabulary import Vocabulary

CONCEPT_BOOST = 1.5
BROADER_STRENGTH = 0.4
ALPHA = 0.7  # coverage exponent; focus gets 1 - ALPHA

# How strongly each kind of supplier phrase counts towards each component.
CAP_FACTORS = {"capability": 1.0, "description": 0.85, "outcome": 0.8}
OUT_FACTORS = {"capability": 0.0, "description": 0.8, "outcome": 1.0}
GENERIC_PHRASE_FACTOR = 0.5

# How much each kind of challenge phrase counts towards the capability component.
NEED_WEIGHTS = {
    "capability": 1.0,
    "title": 1.2,
    "summary": 1.0,
    "outcome": 0.5,
    "description": 0.3,
}

UK_WIDE = "uk-wide"
# Outcomes only count in full once the capability component reaches this: similar results
# delivered through unrelated work do not make a supplier a fit.
OUTCOME_GATE = 0.3
FUZZY_MIN_LENGTH = 6  # shorter stems are too easily confused
FUZZY_CUTOFF = 85.0  # rapidfuzz ratio for a stem to count as a misspelling of another
MIN_EXPLAINED = 0.15
SMALL_SUBSET = 500  # at most this many allowed suppliers: score them one by one


def _clauses(text: str) -> list[str]:
    """Split free text into clauses (sentences, then semicolons, colons and commas)."""
    parts: list[str] = []
    for sentence in _split(text, ".!?\n"):
        for clause in _split(sentence, ";:,"):
            words = clause.split()
            if len(words) >= 2:
                parts.append(clause)
    return parts


def _split(text: str, separators: str) -> list[str]:
    current: list[str] = []
    out: list[str] = []
    for ch in text:
        if ch in separators:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    return [p for p in out if p]


def _size_code(size: str) -> int:
    size = (size or "").strip().lower()
    return SIZES.index(size) if size in SIZES else -1


def _cpv_sig(code: str) -> str:
    digits = "".join(ch for ch in code.split("-")[0] if ch.isdigit())[:8]
    if len(digits) < 2:
        return ""
    sig = digits.rstrip("0")
    return sig if len(sig) >= 2 else digits[:2]


CPV_SAME = 1.0
CPV_NESTED = 0.8  # one code inside the other
_PREFIX_SCORES = {2: 0.3, 3: 0.5, 4: 0.7}  # digits shared: division, group, class
CPV_CATEGORY = 0.85  # five or more digits shared


def _shared_digits_score(common: int) -> float:
    return CPV_CATEGORY if common >= 5 else _PREFIX_SCORES.get(common, 0.0)


def cpv_similarity(a: str, b: str) -> float:
    """How close two CPV codes are (1 same code, 0 different divisions)."""
    sa, sb = _cpv_sig(a), _cpv_sig(b)
    if not sa or not sb:
        return 0.0
    if sa == sb:
        return CPV_SAME
    if sa.startswith(sb) or sb.startswith(sa):
        return CPV_NESTED
    common = 0
    for x, y in zip(sa, sb, strict=False):
        if x != y:
            break
        common += 1
    return _shared_digits_score(common)


@dataclass(slots=True)
class _Phrase:
    kind: str
    text: str
    analysis: Analysis
    cap: float
    out: float


@dataclass(slots=True)
class _Slot:
    supplier: SupplierInput
    phrases: list[_Phrase]
    features: list[tuple[np.ndarray, np.ndarray]]  # per phrase: feature ids, strengths
    doc_features: np.ndarray  # distinct feature ids of the whole profile
    cpv: tuple[str, ...]
    regions: frozenset[str]
    stuffing: float  # 1 = focused, lower = keyword-stuffed
    live: bool = True


@dataclass(slots=True)
class _Block:
    """A compressed run of slots (the base block, then a small delta block)."""

    first_slot: int
    slots: int
    matrix: sparse.csc_matrix  # rows = phrases, cols = features
    row_slot: np.ndarray  # slot number of each row (non-decreasing)
    cap: np.ndarray
    out: np.ndarray
    row_weight: np.ndarray | None = None
    weight_version: int = -1


@dataclass(slots=True)
class _Query:
    phrases: list[tuple[str, str, Analysis]]  # (kind, text, analysis)
    need: np.ndarray  # need weight per phrase (0 when not a need phrase)
    outcome: np.ndarray  # 1 for outcome phrases
    cols: np.ndarray  # feature ids used by the query
    coef: np.ndarray  # (len(cols), n_phrases): what a supplier feature is worth to a phrase
    totals: np.ndarray  # the most a phrase can earn (its own features' weights)
    row_of: dict[int, int]  # feature id -> row of coef
    origin: dict[tuple[int, int], str]  # (row, phrase) -> the challenge feature it stands for


class MatchIndex:
    """An updatable index of supplier profiles that ranks them against a challenge."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary if vocabulary is not None else Vocabulary.default()
        self.analyser = _analyser_for(self.vocabulary)
        self._features: dict[str, int] = {}
        self._term_names: list[str] = []  # stems of every term feature, in id order
        self._near: dict[str, tuple[int, list[tuple[str, float]]]] = {}
        self._boost: list[float] = []
        self._df: list[int] = []
        self._slots: list[_Slot] = []
        self._slot_of: dict[str, int] = {}
        self._blocks: list[_Block] = []
        self._built_upto = 0  # slots compressed into blocks
        # Slot numbers by kind and key: "sig" (a CPV code's significant digits), "prefix"
        # (a shorter prefix of them), "region", and "none" (key "": no regions given).
        self._lists: dict[str, dict[str, list[int]]] = {
            "sig": {}, "prefix": {}, "region": {}, "none": {},
        }
        self._weights: np.ndarray = np.zeros(0)
        self._weights_version = 0
        self._weights_dirty = True
        self._live = 0
        self._dead = 0
        # Per slot, grown as slots are added: whether it is live, its keyword-stuffing factor.
        self._live_arr = np.zeros(1024, dtype=bool)
        self._stuffing_arr = np.zeros(1024)
        self._size_arr = np.full(1024, -1, dtype=np.int8)  # index into SIZES, -1 unknown
        self._list_arrays: dict[tuple[str, str], np.ndarray] = {}
        self._names: list[str] = []  # feature names by id
        self._phrase_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.RLock()

    # -- maintenance ---------------------------------------------------------------------

    def upsert(self, supplier: SupplierInput) -> None:
        """Add a supplier, or replace the one with the same id."""
        slot = self._prepare(supplier)
        with self._lock:
            self._remove_locked(supplier.id)
            number = len(self._slots)
            self._slots.append(slot)
            if number >= len(self._live_arr):
                self._live_arr = np.resize(self._live_arr, 2 * len(self._live_arr))
                self._stuffing_arr = np.resize(self._stuffing_arr, 2 * len(self._stuffing_arr))
                self._size_arr = np.resize(self._size_arr, 2 * len(self._size_arr))
            self._live_arr[number] = True
            self._stuffing_arr[number] = slot.stuffing
            self._size_arr[number] = _size_code(slot.supplier.size)
            self._slot_of[supplier.id] = number
            for feature in slot.doc_features.tolist():
                self._df[feature] += 1
            self._list_slot(number, slot)
            self._live += 1
            self._weights_dirty = True

    def _list_slot(self, number: int, slot: _Slot) -> None:
        """File a slot under its CPV codes (and their prefixes) and regions."""
        listed: list[tuple[str, str]] = []
        for code in slot.cpv:
            sig = _cpv_sig(code)
            if sig:
                listed.append(("sig", sig))
                listed.extend(("prefix", sig[:length]) for length in range(2, len(sig)))
        if slot.regions:
            listed.extend(("region", region) for region in slot.regions)
        else:
            listed.append(("none", ""))
        for kind, key in listed:
            self._lists[kind].setdefault(key, []).append(number)
            self._list_arrays.pop((kind, key), None)

    def remove(self, supplier_id: str) -> None:
        """Forget a supplier (no error if it is not there)."""
        with self._lock:
            self._remove_locked(supplier_id)

    def _remove_locked(self, supplier_id: str) -> None:
        number = self._slot_of.pop(supplier_id, None)
        if number is None:
            return
        slot = self._slots[number]
        slot.live = False
        self._live_arr[number] = False
        for feature in slot.doc_features.tolist():
            self._df[feature] -= 1
        self._live -= 1
        self._dead += 1
        self._weights_dirty = True

    def prepare(self) -> None:
        """Do now the set-up the next query would otherwise do (after a bulk load)."""
        with self._lock:
            self._refresh()
            for block in self._blocks:
                self._row_weights(block)

    def __len__(self) -> int:
        return self._live

    def __contains__(self, supplier_id: object) -> bool:
        return supplier_id in self._slot_of

    def _feature(self, name: str, boost: float) -> int:
        number = self._features.get(name)
        if number is None:
            number = self._features[name] = len(self._boost)
            self._boost.append(boost)
            self._df.append(0)
            self._names.append(name)
            if name.startswith("t:"):
                self._term_names.append(name[2:])
        return number

    def _phrase_features(self, analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
        ids: list[int] = []
        strengths: list[float] = []
        for term in analysis.terms:
            ids.append(self._feature("t:" + term, 1.0))
            strengths.append(1.0)
        for concept in analysis.concepts:
            ids.append(self._feature("c:" + concept, CONCEPT_BOOST))
            strengths.append(1.0)
        for concept in analysis.broader:
            ids.append(self._feature("c:" + concept, CONCEPT_BOOST))
            strengths.append(BROADER_STRENGTH)
        return np.asarray(ids, dtype=np.int32), np.asarray(strengths, dtype=np.float64)

    def _prepare(self, supplier: SupplierInput) -> _Slot:
        analyse = self.analyser.analyse
        phrases: list[_Phrase] = []
        seen: set[str] = set()

        by_signature: dict[frozenset[str], _Phrase] = {}

        def add(kind: str, text: str) -> None:
            text = " ".join(text.split())
            key = text.lower()
            if not text or key in seen:
                return
            seen.add(key)
            analysis = analyse(text)
            if not analysis.terms and not analysis.concepts:
                return
            factor = GENERIC_PHRASE_FACTOR if analysis.generic else 1.0
            cap, out = CAP_FACTORS[kind] * factor, OUT_FACTORS[kind] * factor
            signature = analysis.terms | {"@" + c for c in analysis.concepts}
            same = by_signature.get(signature)
            if same is not None:
                # The same features again (a description repeating a capability): one row
                # with the larger factors scores exactly as the two would.
                same.cap, same.out = max(same.cap, cap), max(same.out, out)
                return
            phrase = _Phrase(kind, text, analysis, cap, out)
            by_signature[signature] = phrase
            phrases.append(phrase)

        for text in supplier.capabilities:
            add("capability", text)
        for text in supplier.outcomes:
            add("outcome", text)
        for text in _clauses(supplier.description):
            add("description", text)
        with self._lock:
            features = []
            for phrase in phrases:
                cached = self._phrase_cache.get(phrase.text)
                if cached is None:
                    cached = self._phrase_features(phrase.analysis)
                    if len(self._phrase_cache) < 2_000_000:
                        self._phrase_cache[phrase.text] = cached
                features.append(cached)
        doc_features = (
            np.unique(np.concatenate([ids for ids, _ in features]))
            if features
            else np.zeros(0, dtype=np.int32)
        )
        stated = [p for p in phrases if p.kind == "capability"]
        generic = sum(1 for p in stated if p.analysis.generic)
        stuffing = 1.0
        if stated:
            stuffing = 1.0 - 0.5 * generic / len(stated)
            if len(stated) > 8:
                stuffing *= (8 / len(stated)) ** 0.5
        regions = frozenset(r.strip().lower() for r in supplier.regions if r.strip())
        return _Slot(
            supplier=supplier,
            phrases=phrases,
            features=features,
            doc_features=doc_features,
            cpv=tuple(supplier.cpv_codes),
            regions=regions,
            stuffing=stuffing,
        )

    def _refresh(self) -> None:
        """Bring blocks and feature weights up to date (call with the lock held)."""
        total = len(self._slots)
        pending = total - self._built_upto
        if self._dead > max(1000, self._live // 2):
            self._compact()
            return
        if pending:
            base = self._blocks[0] if self._blocks else None
            if base is None or pending > max(2000, base.slots // 10):
                self._blocks = [self._make_block(0, total)]
            else:
                self._blocks = [base, self._make_block(base.slots, total)]
            self._built_upto = total
        if self._weights_dirty or len(self._weights) != len(self._boost):
            n = max(self._live, 1)
            df = np.asarray(self._df, dtype=np.float64)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            self._weights = idf * np.asarray(self._boost, dtype=np.float64)
            self._weights_version += 1
            self._weights_dirty = False

    def _compact(self) -> None:
        live = [s for s in self._slots if s.live]
        self._slots = live
        self._list_arrays = {}
        size = max(1024, 2 * len(live))
        self._live_arr = np.zeros(size, dtype=bool)
        self._live_arr[: len(live)] = True
        self._stuffing_arr = np.zeros(size)
        self._stuffing_arr[: len(live)] = [s.stuffing for s in live]
        self._size_arr = np.full(size, -1, dtype=np.int8)
        self._size_arr[: len(live)] = [_size_code(s.supplier.size) for s in live]
        self._slot_of = {s.supplier.id: i for i, s in enumerate(live)}
        self._lists = {kind: {} for kind in self._lists}
        for number, slot in enumerate(live):
            self._list_slot(number, slot)
        self._dead = 0
        self._blocks = []
        self._built_upto = 0
        self._weights_dirty = True
        self._refresh()

    def _make_block(self, first: int, end: int) -> _Block:
        rows_ids: list[np.ndarray] = []
        rows_val: list[np.ndarray] = []
        indptr = [0]
        row_slot: list[int] = []
        cap: list[float] = []
        out: list[float] = []
        for number in range(first, end):
            slot = self._slots[number]
            if not slot.live:
                continue
            for phrase, (ids, values) in zip(slot.phrases, slot.features, strict=True):
                rows_ids.append(ids)
                rows_val.append(values)
                indptr.append(indptr[-1] + len(ids))
                row_slot.append(number - first)
                cap.append(phrase.cap)
                out.append(phrase.out)
        n_features = len(self._boost)
        if rows_ids:
            indices = np.concatenate(rows_ids)
            data = np.concatenate(rows_val)
        else:
            indices = np.zeros(0, dtype=np.int32)
            data = np.zeros(0)
        csr = sparse.csr_matrix(
            (data, indices, np.asarray(indptr, dtype=np.int64)),
            shape=(len(row_slot), n_features),
        )
        return _Block(
            first_slot=first,
            slots=end - first,
            matrix=csr.tocsc(),
            row_slot=np.asarray(row_slot, dtype=np.int64),
            cap=np.asarray(cap),
            out=np.asarray(out),
        )

    # -- queries -------------------------------------------------------------------------

    def _query(self, challenge: ChallengeInput) -> _Query:
        analyse = self.analyser.analyse
        phrases: list[tuple[str, str, Analysis]] = []
        need: list[float] = []
        outcome: list[float] = []
        signatures: list[frozenset[str]] = []

        def add(kind: str, text: str) -> None:
            text = " ".join(text.split())
            if not text:
                return
            analysis = analyse(text)
            signature = analysis.terms | {"@" + c for c in analysis.concepts}
            if not signature:
                return
            # The same statement again (a summary repeating the title, a description
            # repeating the outcomes) adds no new need: merge it rather than count it twice.
            for i, seen in enumerate(signatures):
                if signature == seen or (
                    kind in ("summary", "description") and signature <= seen
                ):
                    need[i] = max(need[i], NEED_WEIGHTS[kind])
                    if kind == "outcome":
                        outcome[i] = 1.0
                    return
            signatures.append(signature)
            phrases.append((kind, text, analysis))
            need.append(NEED_WEIGHTS[kind])
            outcome.append(1.0 if kind == "outcome" else 0.0)

        for text in challenge.capabilities:
            add("capability", text)
        add("title", challenge.title)
        add("summary", challenge.summary)
        for text in challenge.outcomes:
            add("outcome", text)
        for text in _clauses(challenge.description):
            add("description", text)

        row_of: dict[int, int] = {}
        entries: list[tuple[int, int, float, str]] = []
        totals = np.zeros(len(phrases))
        weights = self._weights
        for column, (_, _, analysis) in enumerate(phrases):
            named = [("t:" + t, 1.0) for t in analysis.terms]
            named += [("c:" + c, 1.0) for c in analysis.concepts]
            named += [("c:" + c, BROADER_STRENGTH) for c in analysis.broader]
            for name, strength in named:
                feature = self._features.get(name)
                near = self._near_terms(name[2:]) if name.startswith("t:") else []
                near_ids = [(self._features["t:" + n], s) for n, s in near]
                if feature is not None:
                    weight = float(weights[feature])
                elif near_ids:
                    weight = max(float(weights[f]) for f, _ in near_ids)
                else:
                    continue  # no supplier uses it: it cannot tell suppliers apart
                totals[column] += strength * weight
                if feature is not None:
                    entries.append((feature, column, strength * weight, name))
                for near_feature, similarity in near_ids:
                    entries.append((near_feature, column, similarity * strength * weight, name))
        coef_rows: dict[tuple[int, int], float] = {}
        origin: dict[tuple[int, int], str] = {}
        for feature, column, value, name in entries:
            row = row_of.setdefault(feature, len(row_of))
            if value > coef_rows.get((row, column), 0.0):
                coef_rows[(row, column)] = value
                origin[(row, column)] = name
        coef = np.zeros((len(row_of), len(phrases)))
        for (row, column), value in coef_rows.items():
            coef[row, column] = value
        return _Query(
            phrases=phrases,
            need=np.asarray(need),
            outcome=np.asarray(outcome),
            cols=np.fromiter(row_of, dtype=np.int64, count=len(row_of)),
            coef=coef,
            totals=totals,
            row_of=row_of,
            origin=origin,
        )

    def _near_terms(self, stem: str) -> list[tuple[str, float]]:
        """Indexed word stems within a typo of ``stem`` (rapidfuzz), with a strength < 1."""
        if len(stem) < FUZZY_MIN_LENGTH or stem.isdigit():
            return []
        checked, found = self._near.get(stem, (0, []))
        if checked < len(self._term_names):
            for name, similarity, _ in process.extract(
                stem,
                self._term_names[checked:],
                scorer=fuzz.ratio,
                score_cutoff=FUZZY_CUTOFF,
                limit=None,
            ):
                if name != stem and name[:1] == stem[:1] or name != stem and len(stem) >= 8:
                    found = found + [(name, (similarity / 100) ** 4)]
            found.sort(key=lambda item: -item[1])
            self._near[stem] = (len(self._term_names), found[:5])
        return self._near.get(stem, (0, []))[1]  # nothing cached when no term is indexed

    def _row_weights(self, block: _Block) -> np.ndarray:
        """Each row's own feature weight under the current idf (recomputed when it moved)."""
        if block.row_weight is None or block.weight_version != self._weights_version:
            block.row_weight = block.matrix @ self._weights[: block.matrix.shape[1]]
            block.weight_version = self._weights_version
        return block.row_weight

    def _text_components(
        self, query: _Query
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Capability and outcome component per candidate slot: (slots, capability, outcome)."""
        all_slots: list[np.ndarray] = []
        all_cap: list[np.ndarray] = []
        all_out: list[np.ndarray] = []
        if not len(query.cols) or not query.phrases:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty, empty
        weighted = query.coef
        for block in self._blocks:
            if block.matrix.shape[0] == 0:
                continue
            row_weight = self._row_weights(block)
            usable = query.cols < block.matrix.shape[1]
            sub = block.matrix[:, query.cols[usable]]
            hit = np.zeros(sub.shape[0], dtype=bool)
            hit[sub.indices] = True
            rows = np.flatnonzero(hit)
            if not len(rows):
                continue
            overlap = np.asarray(sub[rows] @ weighted[usable])
            slot_numbers, cap, out = self._aggregate(
                query, overlap, row_weight[rows], block.cap[rows], block.out[rows],
                block.row_slot[rows],
            )
            all_slots.append(slot_numbers + block.first_slot)
            all_cap.append(cap)
            all_out.append(out)
        if not all_slots:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty, empty
        return np.concatenate(all_slots), np.concatenate(all_cap), np.concatenate(all_out)

    @staticmethod
    def _similarity(
        overlap: np.ndarray, query_totals: np.ndarray, row_weight: np.ndarray
    ) -> np.ndarray:
        """coverage^ALPHA × focus^(1-ALPHA) for each (supplier phrase, challenge phrase).

        The shared weight is capped at both phrases' totals, so coverage = shared / challenge
        phrase total and focus = shared / supplier phrase total are both at most 1, and the
        product is shared × total^-ALPHA × row^-(1-ALPHA): no per-cell powers needed.
        """
        with np.errstate(divide="ignore"):
            col_factor = np.where(query_totals > 0, query_totals ** -ALPHA, 0.0)
            row_factor = np.where(row_weight > 0, row_weight ** -(1.0 - ALPHA), 0.0)
        shared = np.minimum(overlap, query_totals[None, :])
        np.minimum(shared, row_weight[:, None], out=shared)
        shared *= col_factor[None, :]
        shared *= row_factor[:, None]
        return shared

    def _aggregate(
        self,
        query: _Query,
        overlap: np.ndarray,
        row_weight: np.ndarray,
        cap_factor: np.ndarray,
        out_factor: np.ndarray,
        row_slot: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sim = self._similarity(overlap, query.totals, row_weight)
        starts = np.flatnonzero(np.r_[True, row_slot[1:] != row_slot[:-1]])
        cap_best = np.maximum.reduceat(sim * cap_factor[:, None], starts, axis=0)
        out_best = np.maximum.reduceat(sim * out_factor[:, None], starts, axis=0)
        need_total = query.need.sum()
        cap = cap_best @ query.need / need_total if need_total > 0 else cap_best[:, 0] * 0
        outcome_total = query.outcome.sum()
        out = (
            out_best @ query.outcome / outcome_total
            if outcome_total > 0
            else np.zeros(len(starts))
        )
        return row_slot[starts], cap, out

    def _numbers(self, kind: str, key: str) -> np.ndarray | None:
        """Slot numbers listed under a CPV prefix, CPV code or region, as an array."""
        cached = self._list_arrays.get((kind, key))
        if cached is None:
            listed = self._lists[kind].get(key)
            if not listed:
                return None
            cached = self._list_arrays[(kind, key)] = np.asarray(listed, dtype=np.int64)
        return cached

    def _cpv_scores(self, codes: Iterable[str], size: int) -> np.ndarray | None:
        sigs = [s for s in (_cpv_sig(c) for c in codes) if s]
        if not sigs:
            return None
        total = np.zeros(size)
        for sig in sigs:
            best = np.zeros(size)
            for length in range(2, len(sig)):
                slots = self._numbers("prefix", sig[:length])
                score = _shared_digits_score(length)
                if slots is not None:
                    best[slots] = np.maximum(best[slots], score)
            for length in range(2, len(sig)):  # a supplier code is broader than this one
                slots = self._numbers("sig", sig[:length])
                if slots is not None:
                    best[slots] = np.maximum(best[slots], CPV_NESTED)
            slots = self._numbers("prefix", sig)  # a supplier code is narrower than this one
            if slots is not None:
                best[slots] = np.maximum(best[slots], CPV_NESTED)
            slots = self._numbers("sig", sig)
            if slots is not None:
                best[slots] = CPV_SAME
            total += best
        return total / len(sigs)

    def _region_scores(self, region: str, size: int) -> np.ndarray | None:
        region = region.strip().lower()
        if not region:
            return None
        scores = np.zeros(size)
        unknown = self._numbers("none", "")
        if unknown is not None:
            scores[unknown] = 0.5
        if region == UK_WIDE:
            for key in list(self._lists["region"]):
                slots = self._numbers("region", key)
                if slots is not None:
                    scores[slots] = np.maximum(scores[slots], 0.5)
        for key in (region, UK_WIDE):
            slots = self._numbers("region", key)
            if slots is not None:
                scores[slots] = 1.0
        return scores

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-slot arrays: whether it is live, and its keyword-stuffing factor."""
        count = len(self._slots)
        return self._live_arr[:count], self._stuffing_arr[:count]

    def _text_components_of(
        self, query: _Query, numbers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As _text_components, for a few slots only (same arithmetic, row by row)."""
        found_slots: list[int] = []
        caps: list[float] = []
        outs: list[float] = []
        if not len(query.cols) or not query.phrases:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty, empty
        for number in numbers.tolist():
            slot = self._slots[number]
            if not slot.phrases:
                continue
            overlap, row_weight, _ = self._slot_overlap(query, slot)
            if not overlap.any():
                continue
            cap_factor = np.array([p.cap for p in slot.phrases])
            out_factor = np.array([p.out for p in slot.phrases])
            _, cap, out = self._aggregate(query, overlap, row_weight, cap_factor, out_factor,
                                          np.zeros(len(slot.phrases), dtype=np.int64))
            found_slots.append(number)
            caps.append(float(cap[0]))
            outs.append(float(out[0]))
        return np.asarray(found_slots, dtype=np.int64), np.asarray(caps), np.asarray(outs)

    def _slot_overlap(
        self, query: _Query, slot: _Slot
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """One slot's phrases against the query, as the matrix pass computes them: the
        overlap with every challenge phrase, each phrase's own weight, and for each phrase
        the query row of each of its features with whether the query has it."""
        overlap = np.zeros((len(slot.phrases), len(query.phrases)))
        row_weight = np.zeros(len(slot.phrases))
        rows_used: list[tuple[np.ndarray, np.ndarray]] = []
        get = query.row_of.get
        for position, (ids, strengths) in enumerate(slot.features):
            row_weight[position] = float(np.dot(strengths, self._weights[ids]))
            rows = np.fromiter((get(f, -1) for f in ids.tolist()), dtype=np.int64,
                               count=len(ids))
            known = rows >= 0
            rows_used.append((rows, known))
            if known.any():
                overlap[position] = strengths[known] @ query.coef[rows[known]]
        return overlap, row_weight, rows_used

    def _allowed(
        self,
        only: Collection[str] | None,
        regions: Collection[str] | None,
        sizes: Collection[str] | None,
    ) -> np.ndarray:
        """Which slots are live and pass the filters."""
        allowed = self._arrays()[0].copy()
        if only is not None:
            get = self._slot_of.get
            numbers = np.fromiter((get(i, -1) for i in only), dtype=np.int64)
            chosen = np.zeros(len(allowed), dtype=bool)
            chosen[numbers[numbers >= 0]] = True
            allowed &= chosen
        if regions is not None:
            chosen = np.zeros(len(allowed), dtype=bool)
            for region in {r.strip().lower() for r in regions} | {UK_WIDE}:
                numbers = self._numbers("region", region)
                if numbers is not None:
                    chosen[numbers] = True
            allowed &= chosen
        if sizes is not None:
            codes = [_size_code(s) for s in sizes]
            allowed &= np.isin(self._size_arr[: len(allowed)], [c for c in codes if c >= 0])
        return allowed

    def count(
        self,
        *,
        only: Collection[str] | None = None,
        regions: Collection[str] | None = None,
        sizes: Collection[str] | None = None,
    ) -> int:
        """How many indexed suppliers pass the filters (as ``rank`` applies them)."""
        with self._lock:
            return int(self._allowed(only, regions, sizes).sum())

    def _score_all(
        self, challenge: ChallengeInput, weights: Weights, numbers: np.ndarray | None = None
    ) -> tuple[_Query, dict[str, np.ndarray | None], np.ndarray]:
        self._refresh()
        size = len(self._slots)
        query = self._query(challenge)
        if numbers is not None and len(numbers) <= SMALL_SUBSET:
            slots, cap, out = self._text_components_of(query, numbers)
        else:
            slots, cap, out = self._text_components(query)
        capability = np.zeros(size)
        outcome = np.zeros(size)
        capability[slots] = cap
        outcome[slots] = out
        live, stuffing = self._arrays()
        components: dict[str, np.ndarray | None] = {
            "capability": capability * stuffing,
            "outcome": (
                outcome * stuffing * np.minimum(capability / OUTCOME_GATE, 1.0)
                if query.outcome.sum() > 0
                else None
            ),
            "cpv": self._cpv_scores(challenge.cpv_codes, size),
            "region": self._region_scores(challenge.region, size),
        }
        raw = weights.as_dict()
        available = {k: max(0.0, raw[k]) for k, v in components.items() if v is not None}
        total_weight = sum(available.values())
        score = np.zeros(size)
        if total_weight > 0:
            for key, weight in available.items():
                score += (weight / total_weight) * components[key]  # type: ignore[operator]
        return query, components, score

    def rank(
        self,
        challenge: ChallengeInput,
        *,
        top: int = 20,
        weights: Weights | None = None,
        only: Collection[str] | None = None,
        regions: Collection[str] | None = None,
        sizes: Collection[str] | None = None,
    ) -> list[Match]:
        """The best ``top`` suppliers for a challenge, best first.

        ``only`` restricts to those ids; ``regions`` to suppliers working in one of them or
        UK-wide; ``sizes`` to those size bands. Ties are broken by id.
        """
        weights = weights or Weights()
        with self._lock:
            self._refresh()
            allowed = self._allowed(only, regions, sizes)
            numbers = np.flatnonzero(allowed) if only is not None else None
            query, components, score = self._score_all(challenge, weights, numbers)
            candidates = np.flatnonzero(allowed & (score > 0))
            if not len(candidates) or top <= 0:
                return []
            if len(candidates) > top:
                # Everything scoring at least the top-th best, ties included.
                threshold = np.partition(score[candidates], len(candidates) - top)[
                    len(candidates) - top
                ]
                candidates = candidates[score[candidates] >= threshold]
            ids = [self._slots[n].supplier.id for n in candidates]
            order = sorted(range(len(candidates)), key=lambda i: (-score[candidates[i]], ids[i]))
            chosen = [candidates[i] for i in order[:top]]
            return [self._match(query, components, score, n) for n in chosen]

    def rank_challenges(
        self,
        supplier_id: str,
        challenges: Iterable[ChallengeInput],
        *,
        top: int = 20,
        weights: Weights | None = None,
        min_score: float = 0.0,
    ) -> list[Match]:
        """The challenges that best fit an indexed supplier (Match.id is the challenge id)."""
        if supplier_id not in self:
            return []
        results: list[Match] = []
        for challenge in challenges:
            found = self.rank(challenge, top=1, weights=weights, only=[supplier_id])
            if found and found[0].score >= min_score:
                match = found[0]
                results.append(
                    Match(challenge.id, match.score, match.breakdown, match.explanation,
                          match.notes)
                )
        results.sort(key=lambda m: (-m.score, m.id))
        return results[:top]

    # -- explanations --------------------------------------------------------------------

    def _match(
        self,
        query: _Query,
        components: dict[str, np.ndarray | None],
        score: np.ndarray,
        number: int,
    ) -> Match:
        slot = self._slots[number]
        breakdown = {
            key: round(float(values[number]), 4)
            for key, values in components.items()
            if values is not None
        }
        explanation = self._explain(query, slot)
        notes: list[str] = []
        if slot.stuffing < 0.999:
            notes.append(
                "Scored down: the profile lists many general capabilities rather than "
                "specific ones"
            )
        cpv = components.get("cpv")
        if cpv is not None and cpv[number] > 0:
            notes.append(f"CPV codes: {round(float(cpv[number]) * 100)}% aligned")
        region = components.get("region")
        if region is not None:
            if region[number] >= 1:
                notes.append("Works in the challenge's region")
            elif region[number] > 0:
                notes.append("Has not said which regions it works in")
            else:
                notes.append("Does not work in the challenge's region")
        return Match(
            id=slot.supplier.id,
            score=round(float(score[number]) * 100, 2),
            breakdown=breakdown,
            explanation=tuple(explanation),
            notes=tuple(notes),
        )

    def _explain(self, query: _Query, slot: _Slot) -> list[PhraseMatch]:
        """The best supplier phrase for each challenge phrase, as scored, with shared words."""
        if not slot.phrases or not len(query.cols):
            return []
        overlap, row_weight, rows_used = self._slot_overlap(query, slot)
        sims = self._similarity(overlap, query.totals, row_weight)
        cap = np.array([p.cap for p in slot.phrases])[:, None] * sims
        out = np.array([p.out for p in slot.phrases])[:, None] * sims
        found: list[PhraseMatch] = []
        for column, (_, text, analysis) in enumerate(query.phrases):
            for component, table, wanted in (
                ("capability", cap, query.need[column] > 0),
                ("outcome", out, query.outcome[column] > 0),
            ):
                if not wanted:
                    continue
                best = int(np.argmax(table[:, column]))
                strength = float(table[best, column])
                if strength < MIN_EXPLAINED:
                    continue
                phrase = slot.phrases[best]
                ids = slot.features[best][0].tolist()
                rows, known = rows_used[best]
                shared: dict[str, str] = {}
                for feature, row, ok in zip(ids, rows.tolist(), known.tolist(), strict=True):
                    if ok and query.coef[row, column] > 0:
                        shared[self._names[feature]] = query.origin[(row, column)]
                found.append(
                    PhraseMatch(
                        component=component,
                        challenge_phrase=text,
                        supplier_phrase=phrase.text,
                        strength=round(min(strength, 1.0), 3),
                        challenge_spans=_spans(analysis, set(shared.values())),
                        supplier_spans=_spans(phrase.analysis, set(shared)),
                        shared=tuple(sorted({_label(f, phrase.analysis) for f in shared})),
                    )
                )
        found.sort(key=lambda m: (-m.strength, m.component, m.challenge_phrase))
        return found[:8]


def _spans(analysis: Analysis, shared: set[str]) -> tuple[Span, ...]:
    ranges: list[tuple[int, int]] = []
    for feature in shared:
        key = feature[2:] if feature.startswith("t:") else "@" + feature[2:]
        ranges.extend(analysis.spans.get(key, ()))
    ranges.sort()
    merged: list[list[int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(Span(a, b) for a, b in merged)


def _label(feature: str, analysis: Analysis) -> str:
    if feature.startswith("c:"):
        return feature[2:].replace("-", " ")
    stem = feature[2:]
    for token in analysis.tokens:
        if token.stem == stem:
            return token.word
    return stem


_ANALYSERS: dict[int, Analyser] = {}
_ANALYSERS_LOCK = threading.Lock()


def _analyser_for(vocabulary: Vocabulary) -> Analyser:
    with _ANALYSERS_LOCK:
        analyser = _ANALYSERS.get(id(vocabulary))
        if analyser is None or analyser.vocabulary is not vocabulary:
            analyser = Analyser(vocabulary)
            if len(_ANALYSERS) > 8:
                _ANALYSERS.clear()
            _ANALYSERS[id(vocabulary)] = analyser
        return analyser


def build_index(
    suppliers: Iterable[SupplierInput], vocabulary: Vocabulary | None = None
) -> MatchIndex:
    """An index over ``suppliers``."""
    index = MatchIndex(vocabulary)
    for supplier in suppliers:
        index.upsert(supplier)
    return index


class PayloadError(ValueError):
    """A benchmark-format file that cannot be ranked; the message says where and why."""


_TEXT_FIELDS = {
    "challenges": ("title", "summary", "description", "buyer", "region"),
    "suppliers": ("name", "description", "size"),
}
_LIST_FIELDS = {
    "challenges": ("outcomes", "capabilities", "cpv_codes"),
    "suppliers": ("capabilities", "outcomes", "cpv_codes", "regions"),
}


def check_payload(payload: Any) -> None:
    """Raise PayloadError for the first thing wrong with a benchmark-format payload."""
    if not isinstance(payload, dict):
        raise PayloadError("the file must hold a JSON object with 'challenges' and 'suppliers'")
    for key in ("challenges", "suppliers"):
        items = payload.get(key, [])
        if not isinstance(items, list):
            raise PayloadError(f"'{key}' must be a list")
        seen: set[str] = set()
        for position, item in enumerate(items):
            where = f"{key}[{position}]"
            if not isinstance(item, dict):
                raise PayloadError(f"{where} must be an object")
            ident = item.get("id")
            if not isinstance(ident, str) or not ident.strip():
                raise PayloadError(f"{where} needs an 'id' that is a non-empty string")
            if ident in seen:
                raise PayloadError(f"{where}: id '{ident}' is used twice")
            seen.add(ident)
            for field_name in _TEXT_FIELDS[key]:
                value = item.get(field_name)
                if value is not None and not isinstance(value, str):
                    raise PayloadError(f"{where} ('{ident}'): '{field_name}' must be text")
            for field_name in _LIST_FIELDS[key]:
                value = item.get(field_name)
                if value is None:
                    continue
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise PayloadError(
                        f"{where} ('{ident}'): '{field_name}' must be a list of strings"
                    )
            budget = item.get("budget_gbp")
            if key == "challenges" and budget is not None and (
                isinstance(budget, bool) or not isinstance(budget, int | float)
            ):
                raise PayloadError(f"{where} ('{ident}'): 'budget_gbp' must be a number")


def _tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(str(v) for v in value if v is not None)


def challenge_from_dict(data: dict[str, Any]) -> ChallengeInput:
    """A ChallengeInput from the benchmark JSON shape."""
    budget = data.get("budget_gbp")
    return ChallengeInput(
        id=str(data["id"]),
        title=str(data.get("title") or ""),
        summary=str(data.get("summary") or ""),
        description=str(data.get("description") or ""),
        outcomes=_tuple(data.get("outcomes")),
        capabilities=_tuple(data.get("capabilities")),
        cpv_codes=_tuple(data.get("cpv_codes")),
        region=str(data.get("region") or ""),
        budget_gbp=int(budget) if isinstance(budget, int | float) and math.isfinite(budget)
        else None,
    )


def supplier_from_dict(data: dict[str, Any]) -> SupplierInput:
    """A SupplierInput from the benchmark JSON shape."""
    return SupplierInput(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        description=str(data.get("description") or ""),
        capabilities=_tuple(data.get("capabilities")),
        outcomes=_tuple(data.get("outcomes")),
        cpv_codes=_tuple(data.get("cpv_codes")),
        regions=_tuple(data.get("regions")),
        size=str(data.get("size") or ""),
    )


def rank_file_payload(
    payload: dict[str, Any], *, top: int = 20, vocabulary: Vocabulary | None = None
) -> dict[str, Any]:
    """Rank every challenge in a benchmark-format payload; returns the rank-file JSON.

    Raises PayloadError when the payload is not in the benchmark format.
    """
    check_payload(payload)
    index = build_index((supplier_from_dict(s) for s in payload.get("suppliers", [])), vocabulary)
    rankings: dict[str, list[dict[str, Any]]] = {}
    for data in payload.get("challenges", []):
        challenge = challenge_from_dict(data)
        rankings[challenge.id] = [
            {"supplier_id": m.id, "score": m.score, "breakdown": m.breakdown}
            for m in index.rank(challenge, top=top)
        ]
    return {"rankings": rankings}
