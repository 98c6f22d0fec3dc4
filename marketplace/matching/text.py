"""Turning phrases into matchable features: words, spelling, typos, stems and concepts."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources

import Stemmer
from symspellpy import SymSpell, Verbosity

from .vocabulary import Vocabulary

_WORD = re.compile(r"[a-z0-9]+")
# "Kent County Council", "Royal Borough of Greenwich", "Leeds City Council": client names in
# outcome statements say who was served, not what was done.
_COUNCIL_NAME = re.compile(
    r"(?:\b[A-Z][\w'’&.-]*\s+){1,4}(?:City\s+|County\s+|Borough\s+|District\s+|Metropolitan\s+"
    r"|Town\s+|Parish\s+|Combined\s+)?(?:Council|Authority)\b"
    r"|\bRoyal\s+Borough\s+of\s+(?:[A-Z][\w'’&.-]*\s*){1,3}"
    r"|\bLondon\s+Borough\s+of\s+(?:[A-Z][\w'’&.-]*\s*){1,3}"
)

# Function words, plus the words every profile and challenge statement uses to frame itself
# ("we are a specialist company offering", "how might technology help when").
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "across",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "around",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "enough",
        "etc",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "least",
        "less",
        "let",
        "lot",
        "lots",
        "made",
        "make",
        "makes",
        "making",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "need",
        "needs",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "quite",
        "rather",
        "really",
        "regardless",
        "same",
        "several",
        "shall",
        "she",
        "should",
        "since",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "therefore",
        "these",
        "they",
        "this",
        "those",
        "though",
        "through",
        "thus",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "uses",
        "using",
        "very",
        "via",
        "was",
        "we",
        "well",
        "were",
        "what",
        "whatever",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whole",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "company",
        "companies",
        "business",
        "firm",
        "ltd",
        "limited",
        "llp",
        "plc",
        "cic",
        "inc",
        "specialist",
        "specialists",
        "specialising",
        "specialise",
        "offering",
        "offer",
        "offers",
        "provide",
        "provides",
        "providing",
        "provider",
        "recent",
        "recently",
        "previously",
        "previous",
        "work",
        "worked",
        "working",
        "works",
        "experience",
        "experienced",
        "growing",
        "established",
        "leading",
        "award",
        "winning",
        "expert",
        "experts",
        "team",
        "teams",
        "clients",
        "client",
        "customers",
        "including",
        "include",
        "includes",
        "across",
        "range",
        "wide",
        "various",
        "number",
        "tackle",
        "tackling",
        "problem",
        "problems",
        "issue",
        "issues",
        "challenge",
        "challenges",
        "face",
        "faces",
        "facing",
        "want",
        "wants",
        "wanted",
        "looking",
        "approach",
        "approaches",
        "open",
        "idea",
        "ideas",
        "able",
    ]
)

# Words so general that a phrase made only of them says nothing specific.
GENERIC = frozenset(
    [
        "ai",
        "artificial",
        "intelligence",
        "ml",
        "machine",
        "learning",
        "data",
        "analytics",
        "analysis",
        "digital",
        "transformation",
        "innovation",
        "innovative",
        "platform",
        "platforms",
        "solution",
        "solutions",
        "software",
        "system",
        "systems",
        "technology",
        "technologies",
        "tech",
        "app",
        "apps",
        "cloud",
        "automation",
        "smart",
        "iot",
        "sensor",
        "sensors",
        "dashboard",
        "dashboards",
        "insight",
        "insights",
        "service",
        "services",
        "public",
        "sector",
        "local",
        "government",
        "council",
        "councils",
        "consultancy",
        "consulting",
        "support",
        "management",
        "strategy",
        "strategic",
        "engagement",
        "citizen",
        "citizens",
        "resident",
        "residents",
        "community",
        "communities",
        "modernisation",
        "efficiency",
        "transformational",
        "intelligent",
        "tool",
        "tools",
        "product",
        "products",
    ]
)

_SUFFIX_RULES = (
    ("izations", "isations"),
    ("ization", "isation"),
    ("izing", "ising"),
    ("izes", "ises"),
    ("ized", "ised"),
    ("izer", "iser"),
    ("izers", "isers"),
    ("ize", "ise"),
    ("yzing", "ysing"),
    ("yzed", "ysed"),
    ("yzes", "yses"),
    ("yze", "yse"),
)
_IZE_KEEP = frozenset(
    [
        "size",
        "sizes",
        "sized",
        "sizing",
        "seize",
        "seized",
        "seizes",
        "seizing",
        "prize",
        "prizes",
        "capsize",
        "resize",
        "downsize",
        "downsized",
        "downsizing",
        "oversize",
        "oversized",
        "citizen",
        "citizens",
    ]
)


@cache
def spelling_map() -> dict[str, str]:
    """US to British spellings of single words (bundled spelling.txt)."""
    mapping: dict[str, str] = {}
    path = resources.files(__package__).joinpath("spelling.txt")
    if path.is_file():
        for line in path.read_text("utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                mapping[parts[0].lower()] = parts[1].lower()
    return mapping


def british(word: str) -> str:
    """The British spelling of a lower-case word (unchanged when already British)."""
    mapped = spelling_map().get(word)
    if mapped:
        return mapped
    if word in _IZE_KEEP or len(word) < 5:
        return word
    for us, uk in _SUFFIX_RULES:
        if word.endswith(us):
            return word[: -len(us)] + uk
    return word


_STEMMER_LOCAL = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_STEMMER_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _STEMMER_LOCAL.stemmer = Stemmer.Stemmer("english")
    return stemmer


# Words the stemmer would fold into an unrelated word ("consultancy" and "consultation"
# both become "consult", "parking" becomes "park"): each keeps a stem of its own.
_OWN_STEMS = {
    "consultancy": "consultancy",
    "consultancies": "consultancy",
    "consultant": "consultancy",
    "consultants": "consultancy",
    "parking": "parking",
    "marketing": "marketing",
    "licensing": "licenc",
    "licensed": "licenc",
    "licenses": "licenc",
}


@cache
def stem(word: str) -> str:
    """Stem of a British-spelt lower-case word (plurals and endings folded)."""
    own = _OWN_STEMS.get(word)
    return own if own is not None else _stemmer().stemWord(word)


@cache
def _english() -> tuple[frozenset[str], SymSpell, dict[str, int]]:
    """Known English words and a spelling corrector over the common ones (built once)."""
    from spellchecker import SpellChecker

    frequencies = SpellChecker(language="en").word_frequency.dictionary
    known = frozenset(w for w in frequencies if w.isalpha())
    common = {w: c for w, c in frequencies.items() if c >= 200 and w.isalpha() and len(w) >= 4}
    corrector = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for word, count in common.items():
        corrector.create_dictionary_entry(word, count)
    return known, corrector, common


class Dictionary:
    """Known words, and the correction of a misspelt word to the nearest known one."""

    def __init__(self, domain_words: set[str]) -> None:
        self.domain = frozenset(w for w in domain_words if w.isalpha())
        self._domain_corrector = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in self.domain:
            if len(word) >= 4:
                self._domain_corrector.create_dictionary_entry(word, 1)
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def known(self, word: str) -> bool:
        return word in self.domain or word in _english()[0] or not word.isalpha()

    def _compound(self, word: str) -> bool:
        """Two known words written as one ("flytipping", "homecare")?"""
        return any(
            self.known(word[:cut]) and self.known(word[cut:]) for cut in range(3, len(word) - 2)
        )

    def correct(self, word: str) -> str:
        """``word`` itself when known or too short to judge, else its likeliest correction.

        Only words of six or more letters are corrected: one edit (two for nine letters or
        more; a swap of neighbouring letters is one edit), preferring vocabulary words, then
        common ones.
        """
        if len(word) < 6 or self.known(word) or self._compound(word):
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        limit = 2 if len(word) >= 9 else 1
        _, english, counts = _english()
        best: tuple[int, int, int, str] | None = None
        for rank, corrector in ((0, self._domain_corrector), (1, english)):
            for suggestion in corrector.lookup(
                word, Verbosity.CLOSEST, max_edit_distance=limit, transfer_casing=False
            ):
                key = (suggestion.distance, rank, -counts.get(suggestion.term, 0), suggestion.term)
                if best is None or key < best:
                    best = key
        result = best[3] if best is not None else word
        with self._lock:
            self._cache[word] = result
        return result


@dataclass(frozen=True, slots=True)
class Token:
    word: str  # corrected, British, lower case
    stem: str
    start: int
    end: int
    stop: bool
    joined: bool = False  # a hyphenated pair read as one word


@dataclass(frozen=True, slots=True)
class Analysis:
    """A phrase as features: content-word stems and concepts, with where each came from."""

    text: str
    tokens: tuple[Token, ...]
    terms: frozenset[str]
    concepts: frozenset[str]  # concepts named directly
    broader: frozenset[str]  # their ancestors
    spans: dict[str, tuple[tuple[int, int], ...]]  # feature -> character spans in text
    generic: bool  # only generic words (an "AI, cloud, platforms" kind of phrase)


class Analyser:
    """Analyses phrases against one vocabulary (thread-safe, cached per phrase)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        domain_words: set[str] = set()
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for concept in vocabulary.concepts.values():
            for phrase in concept.phrases:
                words = [british(w) for w in _WORD.findall(phrase.lower())]
                domain_words.update(w for w in words if w.isalpha())
                stems = tuple(stem(w) for w in words)
                if not stems:
                    continue
                self._phrases.setdefault(stems[0], []).append((stems, concept.id))
                if len(stems) > 1:
                    # "fly-tipping" written as one word: "flytipping".
                    joined = stem("".join(words))
                    self._phrases.setdefault(joined, []).append(((joined,), concept.id))
        for options in self._phrases.values():
            options.sort(key=lambda item: -len(item[0]))
        domain_words.update(spelling_map().values())
        self.dictionary = Dictionary(domain_words)
        self._ancestors = {cid: vocabulary.ancestors(cid) for cid in vocabulary.concepts}
        self._cache: dict[str, Analysis] = {}
        self._lock = threading.Lock()

    def tokens(self, text: str) -> list[Token]:
        masked = [(m.start(), m.end()) for m in _COUNCIL_NAME.finditer(text)]
        lowered = text.lower()
        tokens: list[Token] = []
        previous_end = -1
        for match in _WORD.finditer(lowered):
            raw = match.group()
            start, end = match.span()
            inside_name = any(a <= start < b for a, b in masked)
            word = british(self.dictionary.correct(raw) if raw.isalpha() else raw)
            is_stop = inside_name or word in STOPWORDS
            tokens.append(Token(word, stem(word), start, end, is_stop))
            # Hyphenated compounds also count as one word: "fly-tip" = "flytip".
            if previous_end >= 0 and lowered[previous_end:start] == "-" and tokens[-2:-1]:
                first = tokens[-2]
                if first.joined:
                    first = tokens[-3]
                joined = first.word + word
                tokens.append(Token(joined, stem(joined), first.start, end, is_stop, True))
            previous_end = end
        return tokens

    def analyse(self, text: str) -> Analysis:
        """Features of one phrase (cached)."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        tokens = self.tokens(text)
        spans: dict[str, list[tuple[int, int]]] = {}
        terms: set[str] = set()
        for token in tokens:
            if token.stop or len(token.stem) < 2 and not token.stem.isdigit():
                continue
            terms.add(token.stem)
            spans.setdefault(token.stem, []).append((token.start, token.end))
        concepts: set[str] = set()
        sequence = [t for t in tokens if not t.joined]
        stems = [t.stem for t in sequence]
        for position, token in enumerate(sequence):
            for phrase, concept in self._phrases.get(token.stem, ()):
                if tuple(stems[position : position + len(phrase)]) == phrase:
                    concepts.add(concept)
                    span = (token.start, sequence[position + len(phrase) - 1].end)
                    spans.setdefault("@" + concept, []).append(span)
        for token in tokens:  # joined compounds may name a concept on their own
            if token.joined:
                for phrase, concept in self._phrases.get(token.stem, ()):
                    if phrase == (token.stem,):
                        concepts.add(concept)
                        spans.setdefault("@" + concept, []).append((token.start, token.end))
        broader: set[str] = set()
        for concept in concepts:
            broader.update(self._ancestors.get(concept, ()))
        broader -= concepts
        content = [t.word for t in tokens if not t.stop]
        generic = bool(content) and all(w in GENERIC for w in content) and not concepts
        analysis = Analysis(
            text=text,
            tokens=tuple(tokens),
            terms=frozenset(terms),
            concepts=frozenset(concepts),
            broader=frozenset(broader),
            spans={k: tuple(v) for k, v in spans.items()},
            generic=generic,
        )
        with self._lock:
            if len(self._cache) > 500_000:
                self._cache.clear()
            self._cache[text] = analysis
        return analysis
