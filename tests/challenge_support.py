"""Building challenges through the service layer, for the challenge and access-rule tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from marketplace.models import Challenge, User, utcnow
from marketplace.services import challenges as svc
from marketplace.services.challenges import (
    ChallengeChanges,
    CriterionInput,
    OutcomeInput,
    StageInput,
)


def days(n: float) -> datetime:
    """``n`` days from now (negative for the past)."""
    return utcnow() + timedelta(days=n)


def complete(**overrides: Any) -> ChallengeChanges:
    """Every part a challenge needs before it can be published (CPV codes from the bundled
    list; questions close in 7 days, submissions in 21, award expected in 45)."""
    values: dict[str, Any] = dict(
        summary="Predict where potholes will form so crews can repair roads before they fail.",
        problem="Reactive repairs cost three times more than planned resurfacing.",
        background="We maintain 3,000 miles of road and receive 20,000 pothole reports a year.",
        affected="Drivers, cyclists, bus passengers and highways crews.",
        success="Fewer emergency repairs and fewer compensation claims.",
        region="Yorkshire and The Humber",
        budget_min=20_000, budget_max=80_000, set_budget=True,
        shortlist_size=3,
        capabilities=["Machine learning", "Computer vision"],
        cpv_codes=["72000000", "90511000"],
        outcomes=[OutcomeInput("Fewer emergency repairs", "Down 25% in a year"),
                  OutcomeInput("Faster planned repairs")],
        essential_requirements=["Works with our asset management system"],
        nice_to_haves=["Uses images from refuse lorry cameras"],
        stages=[StageInput("Exploration", "3 weeks", 5_000, 3),
                StageInput("Accelerator", "3 to 4 months", 40_000, 1)],
        criteria=[CriterionInput("Understanding of the problem", 40, word_limit=500),
                  CriterionInput("Approach", 40, word_limit=750),
                  CriterionInput("Value for money", 20, word_limit=300)],
        clarification_deadline=days(7), submission_deadline=days(21),
        expected_award_date=days(45).date(), set_dates=True,
    )
    values.update(overrides)
    return ChallengeChanges(**values)


def publishable(actor: User, title: str = "Predicting potholes before they form",
                **overrides: Any) -> Challenge:
    """A complete draft, created and filled in through the use cases."""
    draft = svc.create_draft(actor, title)
    return svc.update_draft(actor, draft.id, complete(**overrides))


def closing_soon(challenge_id: int, seconds: float = 1.5) -> datetime:
    """Move a published challenge's submission deadline to ``seconds`` from now (questions
    closed a day before) and commit; returns the deadline."""
    from marketplace.extensions import db

    row = db.session.get(Challenge, challenge_id)
    assert row is not None
    deadline = utcnow() + timedelta(seconds=seconds)
    row.submission_deadline = deadline
    row.clarification_deadline = deadline - timedelta(days=1)
    db.session.commit()
    return deadline


def wait_until_past(moment: datetime) -> None:
    """Sleep until just after ``moment``."""
    import time

    time.sleep(max(0.0, (moment - utcnow()).total_seconds()) + 0.2)
