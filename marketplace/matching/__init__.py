"""Supplier matching engine: pure Python, no web framework or database imports.

Plain dataclasses go in (:class:`ChallengeInput`, :class:`SupplierInput`); ranked
:class:`Match` objects come out, each with a score breakdown and an explanation.
See ``engine.py`` for how the score is made up.
"""

from .engine import (
    MatchIndex,
    PayloadError,
    build_index,
    challenge_from_dict,
    check_payload,
    rank_file_payload,
    supplier_from_dict,
)
from .types import ChallengeInput, Match, PhraseMatch, Span, SupplierInput, Weights
from .vocabulary import Vocabulary, VocabularyError

__all__ = [
    "ChallengeInput",
    "Match",
    "MatchIndex",
    "PayloadError",
    "PhraseMatch",
    "Span",
    "SupplierInput",
    "Vocabulary",
    "VocabularyError",
    "Weights",
    "build_index",
    "challenge_from_dict",
    "check_payload",
    "rank_file_payload",
    "supplier_from_dict",
]
