"""Plain data in and out of the matching engine (no framework types)."""

from __future__ import annotations

from dataclasses import dataclass, field

SIZES = ("micro", "small", "medium", "large")


@dataclass(frozen=True, slots=True)
class ChallengeInput:
    """What the engine needs to know about a challenge."""

    id: str
    title: str = ""
    summary: str = ""
    description: str = ""
    outcomes: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    cpv_codes: tuple[str, ...] = ()
    region: str = ""
    budget_gbp: int | None = None


@dataclass(frozen=True, slots=True)
class SupplierInput:
    """What the engine needs to know about a supplier's profile."""

    id: str
    name: str = ""
    description: str = ""
    capabilities: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    cpv_codes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    size: str = ""


@dataclass(frozen=True, slots=True)
class Weights:
    """Relative weights of the four score components (normalised when used)."""

    capability: float = 0.6
    outcome: float = 0.3
    cpv: float = 0.07
    region: float = 0.03

    def normalised(self) -> Weights:
        """The same weights scaled to sum to 1 (the defaults when all are zero)."""
        values = [max(0.0, v) for v in (self.capability, self.outcome, self.cpv, self.region)]
        total = sum(values)
        if total <= 0:
            return Weights().normalised()
        return Weights(*(v / total for v in values))

    def as_dict(self) -> dict[str, float]:
        return {
            "capability": self.capability,
            "outcome": self.outcome,
            "cpv": self.cpv,
            "region": self.region,
        }


@dataclass(frozen=True, slots=True)
class Span:
    """A matched stretch of an original phrase: ``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """One challenge phrase and the supplier phrase that best answers it."""

    component: str  # "capability" or "outcome"
    challenge_phrase: str
    supplier_phrase: str
    strength: float  # 0..1
    challenge_spans: tuple[Span, ...] = ()
    supplier_spans: tuple[Span, ...] = ()
    shared: tuple[str, ...] = ()  # human-readable shared terms and concepts


@dataclass(frozen=True, slots=True)
class Match:
    """A ranked supplier (or, in reverse, a ranked challenge) with its reasons."""

    id: str
    score: float  # 0..100
    breakdown: dict[str, float] = field(default_factory=dict)  # component -> 0..1
    explanation: tuple[PhraseMatch, ...] = ()
    notes: tuple[str, ...] = ()  # CPV and region reasons, generalist penalty
