"""The synonym vocabulary: concept groups of phrases that mean the same thing.

One concept per line::

    concept-id (parent-id, other-parent): phrase; another phrase; third phrase

Parents are broader concepts; a shared parent earns partial credit. Blank lines and
lines starting with ``#`` are ignored. Teams extend the bundled file with more lines in
the same format (a line reusing a concept id adds phrases and parents to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_LINE = re.compile(
    r"^(?P<id>[a-z0-9][a-z0-9-]*)\s*(?:\((?P<parents>[^)]*)\))?\s*:\s*(?P<phrases>.*)$"
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class VocabularyError(ValueError):
    """A vocabulary line that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    phrases: tuple[str, ...]
    parents: tuple[str, ...]


class Vocabulary:
    """Concept groups of equivalent phrases, with optional parent concepts."""

    def __init__(self, concepts: dict[str, Concept], source_text: str = "") -> None:
        self.concepts = concepts
        self.source_text = source_text

    @classmethod
    def default(cls) -> Vocabulary:
        """The bundled local-government and procurement vocabulary."""
        return _default()

    @classmethod
    def empty(cls) -> Vocabulary:
        return cls({})

    @classmethod
    def parse(cls, text: str, *, source: str = "vocabulary") -> Vocabulary:
        """Read vocabulary lines; raises VocabularyError naming the first bad line."""
        return cls.empty().extended(text, source=source)

    def extended(self, text: str, *, source: str = "team vocabulary") -> Vocabulary:
        """This vocabulary plus the concepts in ``text`` (same format)."""
        concepts = dict(self.concepts)
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = _LINE.match(line)
            if match is None:
                raise VocabularyError(
                    f"{source} line {number}: write it as "
                    "'concept-id (optional, parents): phrase; phrase'"
                )
            concept_id = match["id"]
            parents = tuple(p.strip() for p in (match["parents"] or "").split(",") if p.strip())
            for parent in parents:
                if not _ID.match(parent):
                    raise VocabularyError(
                        f"{source} line {number}: parent '{parent}' must be a concept id "
                        "of lower-case letters, digits and hyphens"
                    )
                if parent == concept_id:
                    raise VocabularyError(
                        f"{source} line {number}: '{concept_id}' cannot be its own parent"
                    )
            phrases = tuple(
                " ".join(p.lower().split()) for p in match["phrases"].split(";") if p.strip()
            )
            if not phrases:
                raise VocabularyError(f"{source} line {number}: give at least one phrase")
            for phrase in phrases:
                if len(phrase) > 100:
                    raise VocabularyError(
                        f"{source} line {number}: phrase '{phrase[:40]}…' is over 100 characters"
                    )
            old = concepts.get(concept_id)
            if old is not None:
                phrases = old.phrases + tuple(p for p in phrases if p not in old.phrases)
                parents = old.parents + tuple(p for p in parents if p not in old.parents)
            concepts[concept_id] = Concept(concept_id, phrases, parents)
        vocabulary = Vocabulary(concepts, self.source_text + "\n" + text)
        vocabulary._check_parents(source)
        return vocabulary

    def _check_parents(self, source: str) -> None:
        for concept in self.concepts.values():
            for parent in concept.parents:
                if parent not in self.concepts:
                    raise VocabularyError(
                        f"{source}: '{concept.id}' names parent '{parent}', "
                        "which is not a concept"
                    )
        # No cycles: walk each chain of parents.
        for concept in self.concepts.values():
            seen: set[str] = set()
            stack = list(concept.parents)
            while stack:
                current = stack.pop()
                if current == concept.id:
                    raise VocabularyError(
                        f"{source}: '{concept.id}' is its own ancestor (a cycle of parents)"
                    )
                if current in seen:
                    continue
                seen.add(current)
                stack.extend(self.concepts[current].parents)

    def ancestors(self, concept_id: str) -> tuple[str, ...]:
        """Every broader concept of ``concept_id``, nearest first."""
        result: list[str] = []
        queue = list(self.concepts[concept_id].parents)
        while queue:
            current = queue.pop(0)
            if current not in result:
                result.append(current)
                queue.extend(self.concepts[current].parents)
        return tuple(result)

    def __len__(self) -> int:
        return len(self.concepts)


@cache
def _default() -> Vocabulary:
    text = resources.files(__package__).joinpath("vocabulary.txt").read_text("utf-8")
    return Vocabulary.parse(text, source="vocabulary.txt")
