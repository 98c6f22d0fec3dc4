"""Building evaluations through the service layer, for the evaluation, award, report and page
tests: a closed challenge with submitted bids, then opened, scored and moderated."""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.extensions import db
from marketplace.models import Bid, Challenge, Organisation, User
from marketplace.services import evaluation as svc
from marketplace.services.evaluation import ModeratedInput, ScoreInput
from tests.bid_support import close, open_challenge, submitted_bid
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user

# Default per-criterion scores by bid index (criteria weigh 40/40/20): totals 90, 60, 30, ...
DEFAULT_SCORES: tuple[tuple[int, int, int], ...] = (
    (4, 4, 2),  # 40 + 40 + 10 = 90
    (3, 2, 3),  # 30 + 20 + 15 = 65
    (2, 1, 1),  # 20 + 10 + 5 = 35
    (1, 1, 0),  # 10 + 10 + 0 = 20
    (0, 0, 1),  # 0 + 0 + 5 = 5
)


@dataclass
class EvalSetup:
    council: Organisation
    lead: User
    evaluators: list[User]
    challenge: Challenge
    bids: list[Bid]
    bidders: list[User]

    def refresh(self) -> EvalSetup:
        """Reload the challenge and bids from the database (after other sessions' changes)."""
        db.session.expire_all()
        self.challenge = db.session.get(Challenge, self.challenge.id)  # type: ignore[assignment]
        self.bids = [db.session.get(Bid, b.id) for b in self.bids]  # type: ignore[misc]
        return self


def evaluation_setup(*, bidders: int = 3, evaluators: int = 2) -> EvalSetup:
    """A council with a lead procurement officer and ``evaluators`` evaluators, a published
    challenge (3 criteria weighted 40/40/20, 1 essential requirement, shortlist of 3, first
    stage up to 3 suppliers) with ``bidders`` submitted bids, its deadline passed, bids NOT
    opened."""
    council = CouncilFactory()
    lead = council_user("procurement_officer", organisation=council, full_name="Lena Lead")
    people = [council_user("evaluator", organisation=council, full_name=f"Evan Evaluator {i}")
              for i in range(1, evaluators + 1)]
    challenge = open_challenge(lead)
    bids: list[Bid] = []
    bid_users: list[User] = []
    for i in range(bidders):
        bidder = supplier_user("bidder", organisation=SupplierFactory(
            name=f"Bidder {i + 1} {challenge.id} Ltd"))
        bids.append(submitted_bid(bidder, challenge.id))
        bid_users.append(bidder)
    challenge = close(challenge.id)
    return EvalSetup(council=council, lead=lead, evaluators=people, challenge=challenge,
                     bids=bids, bidders=bid_users)


def opened(setup: EvalSetup) -> EvalSetup:
    """Open the bids and assign every evaluator."""
    svc.open_bids(setup.lead, setup.challenge.id)
    for person in setup.evaluators:
        svc.assign_evaluator(setup.lead, setup.challenge.id, person.id)
    return setup.refresh()


def scores_for(index: int) -> list[int]:
    return list(DEFAULT_SCORES[index % len(DEFAULT_SCORES)])


def score_bid(evaluator: User, bid: Bid, scores: list[int], *, met: bool = True,
              submit: bool = True) -> None:
    """Declare no conflict, score every criterion with a comment, mark every essential
    requirement, and submit (unless ``submit`` is False)."""
    challenge = bid.challenge
    svc.declare_conflict(evaluator, bid.id, False, "")
    svc.save_scores(
        evaluator, bid.id,
        {c.id: ScoreInput(score, f"Comment on {c.name.lower()}: scored {score}.")
         for c, score in zip(challenge.criteria, scores, strict=True)},
        {r.id: met for r in challenge.essential_requirements}, "")
    if submit:
        svc.submit_sheet(evaluator, bid.id)


def scored(setup: EvalSetup, scores: dict[int, list[int]] | None = None) -> EvalSetup:
    """Opened, then each evaluator declares no conflict and submits a full sheet for every
    bid (``scores``: bid index -> per-criterion scores; by default varied so totals differ:
    the first bid best)."""
    opened(setup)
    for i, bid in enumerate(setup.bids):
        values = (scores or {}).get(i) or scores_for(i)
        for person in setup.evaluators:
            score_bid(person, bid, values)
    return setup.refresh()


def moderate_bid(lead: User, bid: Bid) -> None:
    """Moderate every criterion of a bid to the rounded mean of the submitted scores."""
    view = svc.moderation(lead, bid.id)
    svc.moderate(lead, bid.id, {
        row.criterion.id: ModeratedInput(int(round(row.mean or 0)),
                                         f"Agreed score for {row.criterion.name.lower()}.")
        for row in view.criteria})


def moderated(setup: EvalSetup) -> EvalSetup:
    """Scored, then the lead moderates every bid (rounded means of the submitted scores)."""
    scored(setup)
    for bid in setup.bids:
        moderate_bid(setup.lead, bid)
    return setup.refresh()
