"""Demo bids in every state, made through the bid use cases while their challenges are open
(challenges that later close are backdated with their bids)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Bid, BidVersion, Challenge, User
from marketplace.services import bids as service
from marketplace.services.bids import BidChanges, RequirementAnswer

SAM = "sam@roadsense.example.com"
NADIA = "nadia@roadsense.example.com"
OWEN = "owen@carelink.example.com"
GRACE = "grace@carelink.example.com"
FEMI = "femi@cleanstreets.example.coop"
ELEANOR = "eleanor@flowward.example.com"


@dataclass(frozen=True)
class DemoBid:
    bidder: str
    state: str  # draft, changed, submitted, resubmitted, withdrawn
    price: int
    pitch: str


BIDS: dict[str, tuple[DemoBid, ...]] = {
    "Predicting potholes before they form": (
        DemoBid(SAM, "resubmitted", 48_500,
                "Our models combine refuse-lorry dashcam footage, traffic counts and weather to "
                "rank road segments by the chance of a pothole forming in the next 90 days."),
        DemoBid(FEMI, "draft", 39_000,
                "We map street condition from our cleansing rounds and can add surface defects "
                "to the same survey."),
    ),
    "Preventing fly-tipping in rural lanes and lay-bys": (
        DemoBid(FEMI, "submitted", 52_000,
                "We predict tipping hotspots from historic reports and land use, and run "
                "community reporting with rapid clearance so sites stop attracting more waste."),
        DemoBid(NADIA, "withdrawn", 61_000,
                "Computer vision on existing CCTV to spot vans stopping at known hotspots."),
    ),
    "Remote monitoring for vulnerable residents after the digital switchover": (
        DemoBid(OWEN, "changed", 118_000,
                "Digital telecare hubs with battery back-up, proactive wellbeing calls and "
                "alerts when daily patterns change."),
    ),
    "Getting people home from hospital when they are ready": (
        DemoBid(ELEANOR, "submitted", 145_000,
                "A shared discharge board for ward staff, social workers and care providers, "
                "with predicted discharge dates two days ahead."),
        DemoBid(GRACE, "draft", 96_000,
                "Short-term home monitoring so people can leave hospital with support in place."),
    ),
    "Better routes for home-to-school transport for children with SEND": (
        DemoBid(SAM, "submitted", 58_000,
                "Route optimisation that respects each child's needs, escorts and vehicle "
                "requirements, with parents told of changes in advance."),
        DemoBid(ELEANOR, "submitted", 71_500,
                "A scheduling engine adapted from patient transport, with safeguarding checks."),
    ),
    "Cutting queues at household waste recycling centres": (
        DemoBid(FEMI, "submitted", 34_000,
                "A booking system with live queue estimates and number-plate counting."),
        DemoBid(SAM, "submitted", 29_500,
                "Queue prediction from traffic sensors on the approach roads, shown online."),
    ),
    "Reducing missed bin collections": (
        DemoBid(FEMI, "submitted", 44_000,
                "In-cab devices that record every lift, so crews and residents see what was "
                "missed and why, and can fix it the same day."),
        DemoBid(SAM, "submitted", 51_000,
                "Route and crew analytics that predict which rounds will run late."),
    ),
    "Finding empty homes and bringing them back into use": (
        DemoBid(SAM, "submitted", 24_000,
                "Matching council tax, benefits and utility signals to flag homes likely to "
                "be empty, with a caseload tool for tracing owners."),
        DemoBid(FEMI, "submitted", 18_500,
                "Street-level surveys by our cleansing crews, reported through our app."),
    ),
    "Translating council letters quickly and accurately": (
        DemoBid(GRACE, "submitted", 22_000,
                "Machine translation with a human check for the ten most common languages."),
    ),
}


def _answer(pitch: str, criterion_name: str, limit: int) -> str:
    text = (f"{pitch} For ‘{criterion_name.lower()}’ we draw on delivery for other councils, "
            "working with frontline staff from the first week and measuring the outcomes "
            "agreed at the start.")
    words = text.split()
    return " ".join(words[:limit])


def _complete(challenge: Challenge, spec: DemoBid) -> BidChanges:
    return BidChanges(
        answers={c.id: _answer(spec.pitch, c.name, c.word_limit) for c in challenge.criteria},
        requirements={
            **{r.id: RequirementAnswer(True, "Delivered for two councils; references "
                                              "available.") for r in
               challenge.essential_requirements},
            **{r.id: RequirementAnswer(n % 2 == 0, "Offered as standard." if n % 2 == 0
                                       else "") for n, r in
               enumerate(challenge.nice_to_haves)},
        },
        price=str(spec.price), set_price=True,
        team="A delivery lead, a data scientist, a user researcher and a developer, all "
             "employed by us.",
        availability="Available to start within two weeks of award.",
        has_conflict=False, set_conflict=True, terms_accepted=True,
    )


def load_bids_for(challenge: Challenge, users: dict[str, User]) -> None:
    """Create the demo bids for one (still open) challenge."""
    for spec in BIDS.get(challenge.title, ()):
        bidder = users[spec.bidder]
        bid = service.start_bid(bidder, challenge.id)
        service.save_bid(bidder, bid.id, _complete(challenge, spec))
        if spec.state == "draft":
            continue
        service.submit_bid(bidder, bid.id)
        if spec.state == "resubmitted":
            service.save_bid(bidder, bid.id, BidChanges(price=str(spec.price - 1500),
                                                        set_price=True))
            service.submit_bid(bidder, bid.id)
        elif spec.state == "changed":
            service.save_bid(bidder, bid.id, BidChanges(
                availability="Available to start within one week of award."))
        elif spec.state == "withdrawn":
            service.withdraw_bid(bidder, bid.id)


def backdate_bids(challenge: Challenge, delta: timedelta) -> None:
    """Move a challenge's bids (and their versions) back with its timeline."""
    for bid in db.session.scalars(select(Bid).where(Bid.challenge_id == challenge.id)):
        bid.created_at -= delta
        bid.changed_at -= delta
        if bid.submitted_at is not None:
            bid.submitted_at -= delta
        if bid.withdrawn_at is not None:
            bid.withdrawn_at -= delta
        for version in db.session.scalars(select(BidVersion).where(BidVersion.bid_id == bid.id)):
            version.received_at -= delta
