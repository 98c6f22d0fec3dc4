"""Building bids through the service layer, for the bid page and access-rule tests."""

from __future__ import annotations

import io
from datetime import timedelta

from marketplace.extensions import db
from marketplace.models import Bid, Challenge, User, utcnow
from marketplace.services import bids as bid_service
from marketplace.services import challenges as challenge_service
from marketplace.services.bids import BidChanges, RequirementAnswer
from tests.challenge_support import publishable


def pdf_bytes(pages: int = 1) -> bytes:
    """A small, real PDF."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def open_challenge(officer: User, title: str = "Predicting potholes before they form"
                   ) -> Challenge:
    """A published challenge, open for bids (a procurement officer publishes their own)."""
    return challenge_service.publish(officer, publishable(officer, title).id)


def complete_changes(challenge: Challenge, price: str = "45000") -> BidChanges:
    """Everything a bid needs before it can be submitted."""
    return BidChanges(
        answers={c.id: f"Our answer about {c.name.lower()}." for c in challenge.criteria},
        requirements={
            **{r.id: RequirementAnswer(True, "We did this for two councils.")
               for r in challenge.essential_requirements},
            **{r.id: RequirementAnswer(False, "") for r in challenge.nice_to_haves},
        },
        price=price, set_price=True,
        team="Two data scientists and a highways engineer.",
        availability="We can start within two weeks of the award.",
        has_conflict=False, set_conflict=True, terms_accepted=True,
    )


def submitted_bid(bidder: User, challenge_id: int, *, attachment: bool = True,
                  name: str = "case-study.pdf") -> Bid:
    """A complete bid, with a PDF attachment, submitted once."""
    bid = bid_service.start_bid(bidder, challenge_id)
    bid_service.save_bid(bidder, bid.id, complete_changes(bid.challenge))
    if attachment:
        bid_service.add_attachment(bidder, bid.id, name, io.BytesIO(pdf_bytes()))
    bid_service.submit_bid(bidder, bid.id)
    return db.session.get(Bid, bid.id)  # type: ignore[return-value]


def close(challenge_id: int) -> Challenge:
    """Move a challenge's deadlines into the past, as if time had passed."""
    challenge = db.session.get(Challenge, challenge_id)
    assert challenge is not None
    now = utcnow()
    challenge.clarification_deadline = now - timedelta(days=3)
    challenge.submission_deadline = now - timedelta(minutes=5)
    db.session.commit()
    return challenge
