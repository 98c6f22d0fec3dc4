"""Small data sets for the fault tests, built through the service layer (run inside
``seed(...)``, in an app context on the fault database). Each returns plain values."""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.services import award as award_service
from marketplace.services import bids as bid_service
from tests.bid_support import complete_changes, open_challenge
from tests.evaluation_support import evaluation_setup, moderated
from tests.factories import CouncilFactory, SupplierFactory, council_user, supplier_user


@dataclass(frozen=True)
class DraftBid:
    bidder: str  # email
    colleague: str  # email of a second bidder of the same supplier
    bid_id: int
    challenge_id: int


@dataclass(frozen=True)
class AwardReady:
    lead: str  # email of the lead procurement officer
    challenge_id: int
    bid_ids: list[int]  # all shortlisted


def draft_bid() -> DraftBid:
    """An open challenge and a supplier's complete, never submitted bid for it."""
    officer = council_user("procurement_officer", organisation=CouncilFactory())
    challenge = open_challenge(officer)
    supplier = SupplierFactory()
    bidder = supplier_user("bidder", organisation=supplier)
    colleague = supplier_user("bidder", organisation=supplier)
    bid = bid_service.start_bid(bidder, challenge.id)
    bid_service.save_bid(bidder, bid.id, complete_changes(bid.challenge))
    return DraftBid(bidder.email, colleague.email, bid.id, challenge.id)


def award_ready() -> AwardReady:
    """A closed challenge with two moderated bids, both shortlisted, no decision yet."""
    setup = moderated(evaluation_setup(bidders=2, evaluators=1))
    bid_ids = [b.id for b in setup.bids]
    award_service.shortlist(setup.lead, setup.challenge.id, bid_ids)
    return AwardReady(setup.lead.email, setup.challenge.id, bid_ids)
