"""Demo challenges in every state, modelled on real council problems.

They are built through the use cases (so the search index, audit trail and emails are what
real use produces). What no use case can do is recorded in the audit trail as demo data:
moving a published challenge's timeline into the past (a closed challenge needs a deadline
that has passed, which publication refuses), and the evaluation and award states, which
later use cases will reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from marketplace.demo_bids import backdate_bids, load_bids_for
from marketplace.demo_evaluation import backdate_evaluation, run_evaluation
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ChallengeAmendment,
    ChallengeFollow,
    ChallengeStatus,
    ClarificationQuestion,
    Organisation,
    User,
)
from marketplace.services import audit
from marketplace.services import challenges as service
from marketplace.services.challenges import (
    ChallengeChanges,
    CriterionInput,
    OutcomeInput,
    StageInput,
)
from marketplace.services.uow import unit_of_work

S = ChallengeStatus

# People (see demo.ORGS).
PRIYA = "priya.shah@leeds.gov.uk"  # Leeds challenge owner
TOM = "tom.whitaker@leeds.gov.uk"  # Leeds procurement officer
GARETH = "gareth.price@kent.gov.uk"  # Kent owner and officer
CALUM = "calum.macleod@glasgow.gov.uk"  # Glasgow procurement officer
MORAG = "morag.campbell@glasgow.gov.uk"  # Glasgow challenge owner
RHYS = "rhys.evans@cardiff.gov.uk"  # Cardiff owner and officer
SIAN = "sian.llewellyn@valeofglamorgan.gov.uk"  # Vale of Glamorgan owner and officer
JUDITH = "judith.armstrong@northumberland.gov.uk"  # Northumberland, awaiting verification
SAM = "sam@roadsense.example.com"
NADIA = "nadia@roadsense.example.com"
OWEN = "owen@carelink.example.com"
GRACE = "grace@carelink.example.com"
FEMI = "femi@cleanstreets.example.coop"
ELEANOR = "eleanor@flowward.example.com"

LEEDS = "Leeds City Council"
KENT = "Kent County Council"
GLASGOW = "Glasgow City Council"
CARDIFF = "Cardiff Council"
VALE = "Vale of Glamorgan Council"


# Stages and criteria ---------------------------------------------------------------------------

def civtech_stages(accelerator: int, *, months: str = "3 to 4 months",
                   build: bool = True) -> tuple[StageInput, ...]:
    """CivTech-style stages: paid exploration by up to three suppliers, an accelerator for
    one, then a build contract if the accelerator succeeds."""
    stages = [
        StageInput("Exploration", "3 weeks", 5_000, 3),
        StageInput("Accelerator", months, accelerator, 1),
    ]
    if build:
        stages.append(StageInput("Build", "Up to 12 months, funding agreed after the "
                                 "Accelerator", None, 1))
    return tuple(stages)


STANDARD_CRITERIA = (
    CriterionInput("Understanding of the problem", 25,
                   "How well you understand the problem, the people affected and our "
                   "constraints", 500),
    CriterionInput("Proposed solution and approach", 35,
                   "What you would test or build, how it uses our data and how you will "
                   "work with our staff and residents", 1000),
    CriterionInput("Team and evidence", 15,
                   "The people who would do the work, relevant experience and evidence "
                   "that the approach works", 500),
    CriterionInput("Data protection, security and accessibility", 10,
                   "How you will protect personal data, keep the service secure and make "
                   "it accessible to everyone who needs it", 500),
    CriterionInput("Value for money", 15,
                   "Your price for the Exploration stage and an outline of later costs", 300),
)

SOCIAL_CARE_CRITERIA = (
    CriterionInput("Understanding of the problem and the people affected", 25,
                   "Including the experience of residents, carers and front-line staff", 750),
    CriterionInput("Proposed solution and approach", 30,
                   "What you would test, how you would involve residents and staff, and "
                   "how it works with our existing systems", 1000),
    CriterionInput("Safety, consent and information governance", 20,
                   "Clinical and care safety, informed consent, data protection and "
                   "security", 750),
    CriterionInput("Team and evidence", 10, None, 500),
    CriterionInput("Social value", 5,
                   "Local jobs, skills or volunteering you would support", 300),
    CriterionInput("Value for money", 10, None, 300),
)

BEHAVIOUR_CRITERIA = (
    CriterionInput("Understanding of residents and the problem", 30, None, 750),
    CriterionInput("Proposed approach and how you will test it", 35,
                   "Including how you will measure the effect against a comparison group",
                   1000),
    CriterionInput("Inclusion and accessibility", 15,
                   "How you will reach people who do not read English well, disabled "
                   "residents and people who move home often", 500),
    CriterionInput("Value for money", 20, None, 300),
)


# Specifications --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoQuestion:
    asker: str
    text: str
    published_as: str | None = None  # reworded to leave out who asked
    answer: str | None = None
    reject: str | None = None  # the reason; neither answer nor reject: still pending
    by: str | None = None  # who answers or rejects (defaults to the author)


@dataclass(frozen=True)
class DemoAmendment:
    summary: str
    essential: tuple[str, ...] | None = None
    background: str | None = None
    questions_in: float | None = None  # a new deadline for questions, in days from now


@dataclass(frozen=True)
class DemoChallenge:
    """A challenge and how far through its life it has got."""

    lead: str
    author: str
    state: ChallengeStatus
    title: str
    summary: str = ""
    problem: str = ""
    background: str = ""
    affected: str = ""
    success: str = ""
    outcomes: tuple[tuple[str, str | None], ...] = ()
    essential: tuple[str, ...] = ()
    nice: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    cpv: tuple[str, ...] = ()
    region: str | None = None
    budget: tuple[int, int] | None = None
    sme: bool = True
    shortlist: int | None = None
    stages: tuple[StageInput, ...] = ()
    criteria: tuple[CriterionInput, ...] = ()
    # Days from publication: questions close, submissions close, expected award.
    dates: tuple[int, int, int] | None = None
    # Days ago it was published (its whole timeline moves back by this much).
    age: float = 0
    approver: str | None = None  # None: the author is an officer and publishes their own
    co_sponsors: tuple[str, ...] = ()
    copy_of: str | None = None  # the title of a challenge loaded earlier
    questions: tuple[DemoQuestion, ...] = ()
    followers: tuple[str, ...] = ()
    amendment: DemoAmendment | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    # Days after the deadline that evaluation started and the outcome came.
    evaluation_after: float = 3
    outcome_after: float = 30
    key: str = field(default="", compare=False)


POTHOLES = DemoChallenge(
    lead=LEEDS, author=PRIYA, approver=TOM, state=S.OPEN,
    title="Predicting potholes before they form",
    summary=(
        "Leeds looks after about 3,000 km of roads. We want to predict where potholes are "
        "likely to form in the next three to six months, so that crews can patch roads "
        "before they fail instead of rushing to repair them afterwards."),
    problem=(
        "Almost all of our pothole repairs are reactive. A defect is reported by the public "
        "or found on a routine safety inspection once the surface has already broken up, "
        "and it must then be made safe within 24 hours. An emergency repair costs about "
        "four times as much as planned patching, and it rarely lasts as long.\n\n"
        "Safety inspections follow fixed frequencies set by road category, not by risk, so "
        "inspectors spend time on roads that are in good condition and can miss the early "
        "signs elsewhere. Claims for damage to vehicles and for trips cost us over "
        "£400,000 a year."),
    background=(
        "We hold ten years of defect and repair records in our highways asset management "
        "system, annual SCANNER condition surveys of the classified network, gully "
        "cleansing records and Met Office weather data. Our 120 refuse collection vehicles "
        "already carry forward-facing cameras and drive every residential street each "
        "fortnight.\n\n"
        "We are working with the West Yorkshire Combined Authority on shared highways data, "
        "so an approach that other authorities in the region could reuse is welcome."),
    affected=(
        "Everyone who uses our roads, and especially cyclists, motorcyclists and people "
        "using wheelchairs or mobility scooters, for whom a pothole is a serious hazard. "
        "Bus operators, whose vehicles and passengers take the jolts. Residents of outer "
        "estates, where roads deteriorate fastest. And our highways inspectors and repair "
        "crews, who spend much of their time on emergencies."),
    success=(
        "Inspectors and planners open a weekly risk map that shows which road sections are "
        "likely to develop defects within three months, and why. Planned patching is "
        "scheduled from it, and within a year emergency repairs and damage claims on the "
        "pilot routes have fallen."),
    outcomes=(
        ("Fewer emergency pothole repairs on the pilot routes",
         "24-hour repairs down 25% within 12 months, against the previous three-year "
         "average"),
        ("Fewer compensation claims for pothole damage",
         "Claims on the pilot routes down 20% within 12 months"),
        ("Inspection time targeted at risk",
         "At least 60% of inspectors' time on the pilot spent on sections rated high risk"),
        ("Predictions that crews trust",
         "At least 70% of predicted high-risk sections confirmed on inspection"),
    ),
    essential=(
        "Uses the data we already hold: defect and repair history, SCANNER surveys and "
        "weather data, supplied as exports",
        "Explains each prediction in plain terms an inspector can check on site",
        "Sends planned work to our asset management system without re-keying",
        "Hosted in the UK and meets the NCSC Cloud Security Principles; our data is deleted "
        "at the end of the contract",
        "Staff screens meet WCAG 2.2 level AA",
    ),
    nice=(
        "Uses images from the cameras on our refuse collection vehicles",
        "Can be extended to footways and cycle lanes",
        "Outputs published as open data that other West Yorkshire authorities could reuse",
    ),
    capabilities=("Machine learning", "Computer vision", "Geospatial analysis",
                  "Asset management integration"),
    cpv=("72316000", "71311210", "73100000"),
    region="Yorkshire and The Humber", budget=(15_000, 90_000), shortlist=3,
    stages=civtech_stages(60_000), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 60), age=4,
    questions=(
        DemoQuestion(
            SAM, "We are Roadsense Analytics and already process dashcam video for two other "
                 "councils. How many years of SCANNER data do you hold, and in what format?",
            published_as="How many years of SCANNER survey data do you hold, and in what "
                         "format?",
            answer="We hold SCANNER data for the classified network from 2014 onwards, as "
                   "annual CSV exports. Unclassified roads are covered by our own visual "
                   "inspections, which are recorded in the asset management system.",
            by=TOM),
        DemoQuestion(
            FEMI, "Will footage from the refuse lorry cameras be available during the "
                  "Exploration stage?",
            answer="Yes, a sample: four weeks of footage from ten vehicles covering the pilot "
                   "routes, shared through a secure data room once a data sharing agreement "
                   "is signed. The full archive would be available in the Accelerator."),
        DemoQuestion(
            OWEN, "Can you tell us which suppliers have already spoken to you about this "
                  "challenge?",
            reject="We cannot share who has contacted us: that is commercially confidential "
                   "for every supplier. Everyone gets the same information through the "
                   "published answers."),
        DemoQuestion(
            NADIA, "Is there a preferred format for the weekly risk map, for example a layer "
                   "for your existing GIS?"),
    ),
    followers=(SAM, FEMI, NADIA),
    amendment=DemoAmendment(
        summary="We have said how planned work must reach our asset management system and "
                "given suppliers three more days to ask questions.",
        essential=(
            "Uses the data we already hold: defect and repair history, SCANNER surveys and "
            "weather data, supplied as exports",
            "Explains each prediction in plain terms an inspector can check on site",
            "Sends planned work to our asset management system through its standard CSV "
            "import, without re-keying",
            "Hosted in the UK and meets the NCSC Cloud Security Principles; our data is "
            "deleted at the end of the contract",
            "Staff screens meet WCAG 2.2 level AA",
        ),
        questions_in=17),
)

FLY_TIPPING = DemoChallenge(
    lead=KENT, author=GARETH, state=S.OPEN,
    title="Preventing fly-tipping in rural lanes and lay-bys",
    summary=(
        "Fly-tipping in Kent's country lanes, field gateways and lay-bys is rising, and "
        "most of it happens at night where there are no cameras. With the twelve district "
        "councils, we want to predict where and when tipping will happen, deter it, and "
        "gather evidence that leads to fines and prosecutions."),
    problem=(
        "District councils cleared more than 25,000 fly-tips in Kent last year. Incidents "
        "in rural lanes are the hardest to deal with: they are remote, often on private "
        "land, and usually found days later. Deployable cameras are moved on hunches, many "
        "recordings are never reviewed, and fewer than one incident in twenty ends in a "
        "fixed penalty or prosecution.\n\n"
        "Much of the waste is from house clearances and building work carried out by "
        "unlicensed waste carriers, and some of it, such as asbestos, is hazardous."),
    background=(
        "Kent County Council is the waste disposal authority and runs the household waste "
        "recycling centres; the district councils collect fly-tips and take enforcement "
        "action. We hold five years of incident records with locations, waste types and "
        "clearance costs, reported to the national WasteDataFlow system. Kent Police and "
        "the Environment Agency share intelligence through the Kent Resource Partnership."),
    affected=(
        "Farmers and rural residents who suffer repeated dumping and often have to pay to "
        "clear their own land; district street scene and enforcement teams; wildlife and "
        "watercourses harmed by chemicals and asbestos; and council taxpayers, who meet "
        "the cost of clearance."),
    success=(
        "Enforcement teams know where and when tipping is most likely, deterrents go where "
        "they work, and far more incidents end with the person responsible paying."),
    outcomes=(
        ("Fewer fly-tips at the pilot hotspots",
         "Incidents at 20 pilot hotspots down 30% within 12 months"),
        ("More incidents lead to enforcement",
         "Fixed penalties or prosecutions up from 5% to 15% of incidents at pilot sites"),
        ("Less officer time spent reviewing footage",
         "Review time per camera per week halved"),
    ),
    essential=(
        "Works with incident data exported from WasteDataFlow and the districts' case "
        "management systems",
        "Complies with the Surveillance Camera Code of Practice and UK GDPR, with a data "
        "protection impact assessment before any camera is deployed",
        "Keeps number plate data for no more than 31 days unless it is evidence in a case",
        "Works where mobile coverage is poor",
    ),
    nice=(
        "Equipment that one officer can install, with solar or battery power",
        "Shares hotspot alerts with Kent Police and landowners",
    ),
    capabilities=("Computer vision", "Automatic number plate recognition",
                  "Predictive analytics", "Internet of things sensors"),
    cpv=("90600000", "32323500", "72316000"),
    region="South East", budget=(15_000, 120_000), shortlist=3,
    stages=civtech_stages(75_000), criteria=STANDARD_CRITERIA,
    dates=(12, 26, 55), age=2,
    questions=(
        DemoQuestion(
            FEMI, "Can the pilot include private land, such as farm gateways, if the "
                  "landowner agrees?",
            answer="Yes. About a third of the pilot hotspots are on private land next to the "
                   "highway. The district councils will arrange landowners' consent."),
    ),
    followers=(FEMI,),
)

TELECARE = DemoChallenge(
    lead=GLASGOW, author=MORAG, approver=CALUM, state=S.OPEN,
    title="Remote monitoring for vulnerable residents after the digital switchover",
    summary=(
        "About 8,000 people in Glasgow rely on a community alarm or telecare. As analogue "
        "phone lines are switched off, we want digital remote monitoring that notices early "
        "signs of a fall, illness or a cold home and alerts the right person, instead of "
        "waiting for someone to press a button."),
    problem=(
        "Today's telecare is reactive. It waits for someone to press a pendant or for a "
        "sensor to trigger, and people who fall and cannot reach their alarm are often "
        "found hours later. Analogue alarm units also become unreliable as the analogue "
        "telephone network is switched off by January 2027, so every unit must be replaced "
        "anyway.\n\n"
        "We want the replacement to do more than the old service: to notice changes in "
        "someone's routine, such as not getting up, not eating or a home that is too cold, "
        "and to prompt a call or a visit before there is a crisis."),
    background=(
        "Glasgow City Health and Social Care Partnership runs a 24-hour alarm receiving "
        "centre and a team of mobile responders. About 60% of people using the service "
        "live alone and most are over 75. We are part of the national Digital Telecare "
        "programme led by the Digital Office for Scottish Local Government."),
    affected=(
        "Older and disabled people living alone, people recently home from hospital, their "
        "unpaid carers and families, and the responders and home care staff who visit."),
    success=(
        "Responders are alerted to changes before a crisis, people live safely at home for "
        "longer, and families are reassured without their relative feeling watched."),
    outcomes=(
        ("Falls found sooner", "Median time from a fall to a response under 30 minutes "
                               "for pilot users"),
        ("Fewer unplanned hospital admissions",
         "Down 15% among 300 pilot users over 12 months, against a matched group"),
        ("People feel safe and in control",
         "At least 80% of pilot users and carers say they feel safer, in an independent "
         "survey"),
        ("Few false alarms", "No more than one false alert per person per month"),
    ),
    essential=(
        "Works over digital connections and meets the TEC Services Association digital "
        "telecare standards",
        "Sends alerts to our existing alarm receiving centre platform",
        "Residents give informed consent and can pause monitoring at any time",
        "Our responders can install it in under an hour, with no building work",
        "Data held in the UK, with a data protection impact assessment agreed before the "
        "pilot starts",
    ),
    nice=(
        "Notices a home that is too cold and links to energy advice",
        "A simple app for family members, with the resident's permission",
    ),
    capabilities=("Digital telecare", "Internet of things sensors", "Machine learning",
                  "Service design"),
    cpv=("33196100", "79711000", "85312400"),
    region="Scotland", budget=(15_000, 150_000), shortlist=3,
    stages=civtech_stages(80_000, months="4 months"), criteria=SOCIAL_CARE_CRITERIA,
    dates=(16, 30, 65), age=7,
    questions=(
        DemoQuestion(
            GRACE, "Is the pilot only for people who already use telecare, or can new "
                   "referrals join?",
            answer="Both. We expect about 200 existing users moving to digital equipment "
                   "and up to 100 new referrals from hospital discharge teams.",
            by=CALUM),
        DemoQuestion(
            OWEN, "Can suppliers visit the alarm receiving centre during the Exploration "
                  "stage?"),
    ),
    followers=(GRACE, OWEN),
    amendment=DemoAmendment(
        summary="Several suppliers asked for more time to prepare their questions, so the "
                "deadline for questions is now two days later.",
        questions_in=18),
)

DISCHARGE = DemoChallenge(
    lead=CARDIFF, author=RHYS, co_sponsors=(VALE,), state=S.OPEN,
    title="Getting people home from hospital when they are ready",
    summary=(
        "On any day, about 150 patients at the University Hospital of Wales and University "
        "Hospital Llandough are well enough to leave but are waiting for care at home or a "
        "care home place. With Cardiff and Vale University Health Board, we want to find "
        "and remove the delays that keep them there."),
    problem=(
        "Every discharge depends on ward staff, social workers, occupational therapists, "
        "reablement teams, home care agencies and care homes, each working in their own "
        "system. Nobody sees the whole picture. Information is passed on by a daily "
        "spreadsheet and three conference calls, so a patient can wait days for a decision "
        "that takes minutes once the right person knows about it.\n\n"
        "Waiting harms people: ten days in a hospital bed can age the muscles of someone "
        "over 80 by ten years, and many go on to need more care than they did before."),
    background=(
        "Cardiff Council, the Vale of Glamorgan Council and Cardiff and Vale University "
        "Health Board run a joint discharge hub under the Regional Partnership Board. The "
        "health board uses the Welsh Patient Administration System; both councils use the "
        "Welsh Community Care Information System for social care records."),
    affected=(
        "Older people waiting in hospital and their families; ward staff and discharge "
        "co-ordinators; social workers and occupational therapists; home care agencies and "
        "care homes; and people waiting in the emergency department for a bed."),
    success=(
        "Everyone involved sees the same up-to-date list of who is waiting, for what and "
        "why; hold-ups are spotted the same day; and people go home when they are ready."),
    outcomes=(
        ("Fewer days waiting after being ready to leave",
         "Average delay on pilot wards down from 9 days to 5 within 12 months"),
        ("Less time spent chasing information",
         "Discharge co-ordinators spend 30% less time on calls and spreadsheets"),
        ("More people go back to their own home",
         "Share of pilot patients discharged to their own home up 10 percentage points"),
    ),
    essential=(
        "Reads from the existing health and social care systems through agreed interfaces "
        "or secure exports, and does not replace them",
        "Role-based access, so staff see only what their job needs, with an audit trail",
        "Available in Welsh and English, meeting the Welsh Language Standards",
        "Hosted in the UK, with information governance approval from NHS Wales",
    ),
    nice=(
        "Predicts on admission which patients are likely to need support at home",
        "Shows the live capacity of home care agencies and care homes",
        "Keeps families updated by text message",
    ),
    capabilities=("Data integration", "Dashboards", "Service design",
                  "Health and social care"),
    cpv=("72322000", "72230000", "85000000"),
    region="Wales", budget=(15_000, 200_000), shortlist=3,
    stages=civtech_stages(100_000, months="4 months"), criteria=SOCIAL_CARE_CRITERIA,
    dates=(15, 35, 70), age=3,
    questions=(
        DemoQuestion(
            ELEANOR, "Will the health board be represented on the evaluation panel?",
            answer="Yes. The panel will include a discharge lead from Cardiff and Vale "
                   "University Health Board, alongside officers from both councils."),
    ),
    followers=(ELEANOR,),
    amendment=DemoAmendment(
        summary="The pilot wards are now confirmed, and we have said so in the background.",
        background=(
            "Cardiff Council, the Vale of Glamorgan Council and Cardiff and Vale University "
            "Health Board run a joint discharge hub under the Regional Partnership Board. The "
            "health board uses the Welsh Patient Administration System; both councils use the "
            "Welsh Community Care Information System for social care records.\n\n"
            "The Regional Partnership Board has agreed that the pilot will run on two medical "
            "wards for older people at University Hospital Llandough.")),
)

FLY_TIPPING_CARDIFF = DemoChallenge(
    lead=CARDIFF, author=RHYS, state=S.OPEN, copy_of=FLY_TIPPING.title,
    title="Preventing fly-tipping in Cardiff's back lanes",
    summary=(
        "Reusing Kent County Council's challenge for a city: Cardiff has about 1,000 back "
        "lanes behind terraced streets, and they are where most of our fly-tipping happens. "
        "We want to predict and deter dumping there and gather evidence for enforcement."),
    problem=(
        "We cleared more than 9,000 fly-tips last year, most of them in back lanes that "
        "are narrow, unlit and not overlooked. Bags and furniture block access for "
        "residents and attract rats. Fixed CCTV is too costly for so many lanes, and moving "
        "deployable cameras by guesswork rarely catches anyone."),
    background=(
        "Our street scene team records every fly-tip in our case management system, with "
        "location, waste type and photographs, and reports them to the Welsh Government's "
        "Fly-tipping Action Wales programme. Kent County Council has shared its challenge "
        "statement with us."),
    affected=(
        "Residents of terraced streets, especially in Cathays, Adamsdown, Splott and "
        "Grangetown; our street scene crews; and students, who move in and out each summer "
        "and are often targeted by unlicensed waste carriers."),
    region="Wales", budget=(15_000, 80_000),
    stages=civtech_stages(50_000, build=False),
    dates=(12, 24, 50), age=1,
    followers=(FEMI,),
)

FOOD_WASTE = DemoChallenge(
    lead=LEEDS, author=PRIYA, approver=TOM, state=S.OPEN,
    title="Getting residents of flats to use weekly food waste collections",
    summary=(
        "Every council in England must collect food waste weekly from 31 March 2026. In "
        "our trials, two thirds of households in houses used the new service but fewer "
        "than a third of households in flats did. We want ideas that get people in flats "
        "to separate their food waste, and keep doing it."),
    problem=(
        "Residents of flats have little space for a kitchen caddy, share bin stores that "
        "are often contaminated or overflowing, and many move in and out each year, so "
        "leaflets and caddies are soon lost. Food waste left in general waste costs us "
        "about £100 a tonne to dispose of and adds to our carbon emissions."),
    background=(
        "Our own crews collect food waste with split-body vehicles. We know the bin store "
        "locations of 2,400 blocks of flats, have collection data from in-cab devices, and "
        "weigh food waste by round. Housing Leeds manages about half of the blocks."),
    affected=(
        "Residents of flats, including many students and people who speak English as an "
        "additional language; housing officers and caretakers who deal with overflowing "
        "bin stores; and our collection crews."),
    success=(
        "Most households in the pilot blocks use the food waste service every week, bin "
        "stores stay clean, and the approach can be rolled out across the city."),
    outcomes=(
        ("More households in flats use food waste collections",
         "Participation in pilot blocks up from 30% to 50% within 9 months"),
        ("Cleaner food waste", "Rejected loads from flats halved"),
        ("Less food in general waste",
         "Food waste in sampled general waste bins from flats down 25%"),
    ),
    essential=(
        "Designed and tested with residents of flats, including people who do not read "
        "English well",
        "Works with our collection round and in-cab data",
        "Effect measured against a comparison group of similar blocks",
    ),
    nice=(
        "Picture-led materials in the most spoken languages in each block",
        "Works for privately managed blocks as well as Housing Leeds ones",
    ),
    capabilities=("Behavioural insights", "Service design", "Data analysis"),
    cpv=("90511200", "90514000", "79342000"),
    region="Yorkshire and The Humber", budget=(10_000, 60_000), shortlist=3,
    stages=civtech_stages(40_000, months="3 months", build=False),
    criteria=BEHAVIOUR_CRITERIA,
    dates=(10, 21, 45),
    followers=(FEMI,),
)

DAMP_AND_MOULD = DemoChallenge(
    lead=LEEDS, author=PRIYA, approver=TOM, state=S.AWAITING_APPROVAL,
    title="Finding damp and mould in council homes before tenants are harmed",
    summary=(
        "Housing Leeds manages about 53,000 council homes. Awaab's Law now sets strict "
        "timescales for investigating and fixing damp and mould. We want to find the homes "
        "at risk before a tenant has to report a problem, and target repairs and advice "
        "where they prevent harm."),
    problem=(
        "We receive about 6,000 reports of damp and mould a year, and many arrive late, "
        "after a child or an older tenant has become ill. The causes differ: leaks, poor "
        "ventilation, cold walls, overcrowding, or a home that is too expensive to heat. "
        "Surveys are booked in the order reports arrive, not by risk, and the same homes "
        "come back again and again."),
    background=(
        "We have stock condition surveys for 80% of our homes, repairs history since 2012, "
        "energy performance certificates and complaint records. Since last winter, 400 "
        "homes have had humidity and temperature sensors as a trial."),
    affected=(
        "Tenants, especially young children, older people and people with breathing "
        "conditions; repairs surveyors and contractors; and housing officers."),
    success=(
        "Surveyors visit the homes most at risk first, most serious cases are found before "
        "a tenant reports them, and fewer homes have the problem again."),
    outcomes=(
        ("Homes at risk found before a report",
         "60% of serious cases in the pilot area found proactively"),
        ("Faster repairs", "Every pilot case meets the Awaab's Law timescales"),
        ("Fewer repeat cases", "Repeat reports within 12 months down 40%"),
    ),
    essential=(
        "Uses our stock condition, repairs and sensor data, supplied as exports",
        "Advice for tenants is clear and does not blame them for condensation",
        "Meets WCAG 2.2 level AA, with translations into the five languages most spoken "
        "by our tenants",
        "Tenants are told how their data is used, in line with UK GDPR",
    ),
    nice=("Links tenants who cannot afford to heat their homes to energy advice and grants",),
    capabilities=("Predictive analytics", "Internet of things sensors", "Housing"),
    cpv=("72316000", "35125100", "71314300"),
    region="Yorkshire and The Humber", budget=(15_000, 100_000), shortlist=3,
    stages=civtech_stages(60_000), criteria=STANDARD_CRITERIA,
    dates=(14, 30, 60),
)

GRITTING = DemoChallenge(
    lead=GLASGOW, author=MORAG, approver=CALUM, state=S.APPROVED,
    title="Gritting where and when it is needed",
    summary=(
        "Glasgow treats about 1,200 km of priority roads and footways when ice or snow is "
        "forecast. We want to use road sensors and local forecasts to grit where and when "
        "it is needed, using less salt without putting anyone at risk."),
    problem=(
        "Gritting decisions are made each afternoon for the whole city from one regional "
        "forecast. Some routes are treated and stay above freezing all night, while hills, "
        "bridges and shaded streets ice over first. Salt is expensive, supplies run short "
        "in long cold spells, and it harms street trees and watercourses."),
    background=(
        "We have eight road weather stations and 30 gritters with GPS trackers, and we "
        "have kept a log of every gritting decision for six winters."),
    affected=(
        "Pedestrians, especially older people at risk of falls on icy footways; drivers, "
        "bus passengers and cyclists; and winter maintenance crews."),
    success=(
        "The duty officer sees which routes need treatment and when, on one screen, and "
        "the city uses less salt with no more weather-related accidents."),
    outcomes=(
        ("Less salt used", "Salt use down 15% over a winter"),
        ("No loss of safety", "No increase in weather-related collisions or fall injuries"),
    ),
    essential=(
        "Uses data from our road weather stations and gritter trackers",
        "The duty officer makes every decision, and the reasons are recorded",
        "Usable in a control room at 4am on one screen",
    ),
    capabilities=("Weather forecasting", "Route optimisation", "Internet of things sensors"),
    cpv=("71311210", "72316000", "35125100"),
    region="Scotland", budget=(15_000, 80_000), shortlist=2,
    stages=civtech_stages(50_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(20, 40, 75),
)

GULLIES = DemoChallenge(
    lead=LEEDS, author=PRIYA, state=S.DRAFT,
    title="Keeping gully drains clear before heavy rain",
    summary=(
        "Blocked gullies cause local flooding on roads and in homes during heavy rain. We "
        "want to know which of our 100,000 gullies are likely to be blocked before a storm "
        "arrives."),
    problem=(
        "Gullies are cleaned on a fixed cycle. Some silt up within weeks, others stay clear "
        "for years, and we only find out which when a street floods."),
    region="Yorkshire and The Humber",
)

NORTHUMBERLAND_POTHOLES = DemoChallenge(
    lead="Northumberland County Council", author=JUDITH, state=S.DRAFT,
    copy_of=POTHOLES.title,
    title="Predicting potholes on rural roads",
    region="North East",
)

SCHOOL_TRANSPORT = DemoChallenge(
    lead=LEEDS, author=PRIYA, approver=TOM, state=S.CLOSED,
    title="Better routes for home-to-school transport for children with SEND",
    summary=(
        "Leeds takes about 3,500 children with special educational needs and disabilities "
        "to school each day by taxi and minibus. We want to plan routes and shared "
        "journeys that are better for children and cost less."),
    problem=(
        "Routes are planned by hand each summer and patched during the year. Costs have "
        "risen by a fifth in each of the last two years, some children spend over an hour "
        "in a vehicle each way, and a change to one child's school can take weeks to "
        "re-plan."),
    background=(
        "We hold pupils' addresses, schools, eligibility and needs, including where a "
        "passenger assistant is needed, and contracts with 120 transport operators."),
    affected=(
        "Children and young people with SEND and their families; schools; passenger "
        "assistants, drivers and operators; and our transport planning team."),
    success=(
        "Planners build and change routes in hours rather than weeks, no child travels for "
        "too long, and the cost per pupil falls."),
    outcomes=(
        ("Shorter journeys for children", "No journey over 45 minutes on pilot routes"),
        ("Lower cost per pupil", "Cost per pupil on pilot routes down 10%"),
        ("Families told about changes in good time",
         "Parents told of any change at least five school days before"),
    ),
    essential=(
        "Takes each child's needs into account: seating, passenger assistants, medical "
        "needs and the longest journey they can manage",
        "Planners can review and change every route before it is used",
        "Handles children's personal data lawfully, with a data protection impact "
        "assessment",
    ),
    capabilities=("Route optimisation", "Operational research"),
    cpv=("60130000", "71311200", "72316000"),
    region="Yorkshire and The Humber", budget=(15_000, 100_000), shortlist=3,
    stages=civtech_stages(60_000), criteria=STANDARD_CRITERIA,
    dates=(15, 29, 60), age=32,
    questions=(
        DemoQuestion(
            NADIA, "Will operators' vehicle availability and accessibility features be "
                   "shared with suppliers?",
            answer="Yes. A list of the vehicles on each contract, with their accessibility "
                   "features, will be shared in the Exploration stage."),
    ),
    followers=(SAM,),
)

RECYCLING_CENTRE_QUEUES = DemoChallenge(
    lead=KENT, author=GARETH, state=S.EVALUATION,
    title="Cutting queues at household waste recycling centres",
    summary=(
        "Kent's 18 household waste recycling centres have about three million visits a "
        "year. At peak times, queues at several sites spill onto main roads. We want to "
        "spread visits out and tell residents when to come, without bringing back "
        "compulsory booking."),
    problem=(
        "Visits peak on weekend mornings and bank holidays. Queues back onto busy roads, "
        "causing danger and complaints, and some residents give up and fly-tip instead."),
    background=(
        "We count vehicles at every site's entrance and have three years of hourly visit "
        "data, weather records and the results of a booking trial run in 2020 and 2021."),
    affected=(
        "Residents, especially those without a weekday to spare; neighbours and road users "
        "near the busiest sites; and site staff."),
    success=("Residents can see how busy a site is before they set off, and queues no "
             "longer reach the road."),
    outcomes=(
        ("Shorter queues", "Peak queue times down 40% at the five busiest sites"),
        ("No queues on the highway", "No queues onto the highway at pilot sites"),
    ),
    essential=(
        "Uses our entrance counts and shows live waiting times on kent.gov.uk",
        "Meets WCAG 2.2 level AA",
    ),
    capabilities=("Demand forecasting", "Digital services"),
    cpv=("90514000", "34970000", "72316000"),
    region="South East", budget=(10_000, 60_000), shortlist=2,
    stages=civtech_stages(40_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 70), age=45, evaluation_after=2,
    followers=(SAM,),
)

MISSED_BINS = DemoChallenge(
    lead=CARDIFF, author=RHYS, state=S.AWARDED,
    title="Reducing missed bin collections",
    summary=(
        "Cardiff collects from 160,000 homes every week. We want to cut the number of "
        "missed collections, and the calls about them, by spotting problems on the round "
        "as they happen."),
    problem=(
        "About 1,500 collections are reported missed each week. Crews often could not get "
        "to the bins because of parked cars or locked gates, but the reason rarely reaches "
        "the contact centre, so residents are not told and crews go back at extra cost."),
    background=(
        "Our collection vehicles have in-cab tablets, and residents report missed bins "
        "online or by phone."),
    affected="Residents, our contact centre staff and collection crews.",
    success="Residents know why a bin was not collected and when it will be.",
    outcomes=(
        ("Fewer missed collections", "Reports of missed bins down 30%"),
        ("Fewer calls", "Calls about missed bins down 40%"),
    ),
    essential=("Works with our in-cab tablets", "Available in Welsh and English"),
    capabilities=("Digital services", "Data integration"),
    cpv=("90511200", "72230000"),
    region="Wales", budget=(10_000, 50_000), shortlist=2,
    stages=civtech_stages(35_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 60), age=120, evaluation_after=3, outcome_after=40,
)

EMPTY_HOMES = DemoChallenge(
    lead=GLASGOW, author=MORAG, approver=CALUM, state=S.STANDSTILL,
    title="Finding empty homes and bringing them back into use",
    summary=(
        "Glasgow has about 4,000 homes that have stood empty for more than six months. We "
        "want to find them sooner and match owners with the help that gets them lived in "
        "again."),
    problem=(
        "We learn that a home is empty mostly from council tax exemptions and complaints "
        "from neighbours, often a year or more after it became empty. By then the property "
        "has usually deteriorated and the owner is harder to reach. Our small empty homes "
        "team spends most of its time tracing owners rather than helping them."),
    background=(
        "We hold council tax, housing benefit and repairs data, and we offer loans and "
        "advice to owners who bring a home back into use."),
    affected="People waiting for a home, neighbours of empty properties and owners.",
    success="Empty homes are found within three months and more of them are lived in again.",
    outcomes=(
        ("Empty homes found sooner", "Median time to identify under 3 months"),
        ("More homes back in use", "150 more homes a year occupied again"),
    ),
    essential=("Uses only data we are allowed to share under our privacy notice",),
    capabilities=("Data analytics", "Data matching"),
    cpv=("72300000", "70000000"),
    region="Scotland", budget=(10_000, 45_000), shortlist=2,
    stages=civtech_stages(30_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 60), age=50, evaluation_after=2, outcome_after=18,
)

TRANSLATION = DemoChallenge(
    lead=LEEDS, author=PRIYA, approver=TOM, state=S.NO_SUITABLE_SUPPLIER,
    title="Translating council letters quickly and accurately",
    summary=(
        "We send letters about council tax, benefits and housing to residents who speak "
        "over 100 languages. We wanted a faster, affordable way to translate them "
        "accurately."),
    problem=(
        "Translation by agencies takes up to two weeks, so residents often get important "
        "letters in a language they cannot read."),
    background="We spend about £300,000 a year on written translation.",
    affected="Residents who do not read English well, and our customer services staff.",
    success="Residents receive letters they can understand within two working days.",
    outcomes=(("Faster translated letters", "90% within two working days"),),
    essential=("A qualified translator checks every legal notice before it is sent",),
    capabilities=("Machine translation",),
    cpv=("79000000", "72260000"),
    region="Yorkshire and The Humber", budget=(10_000, 40_000), shortlist=2,
    stages=civtech_stages(30_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 60), age=90, outcome_after=25,
    end_reason=("None of the four proposals met the essential requirement for a qualified "
                "translator to check legal notices within our budget. We will work with "
                "the West Yorkshire authorities on a joint approach."),
)

PARKING_PERMITS = DemoChallenge(
    lead=CARDIFF, author=RHYS, state=S.WITHDRAWN,
    title="Digital parking permits for residents",
    summary=("We want residents to apply for, renew and show parking permits online, with "
             "no paper permits in windscreens."),
    problem=("Paper permits are posted out, lost, copied and forged, and 30,000 renewals a "
             "year are handled by hand."),
    background="We issue about 30,000 residents' and visitors' permits a year.",
    affected="Residents of permit zones, their visitors and our civil enforcement officers.",
    success="Permits are issued online in minutes and checked by number plate.",
    outcomes=(("Permits issued online", "95% of permits issued without staff help"),),
    essential=("Available in Welsh and English",
               "Enforcement officers check permits by number plate on their handhelds"),
    capabilities=("Digital services",),
    cpv=("63712400", "48000000"),
    region="Wales", budget=(10_000, 60_000), shortlist=2,
    stages=civtech_stages(40_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 60), age=10,
    followers=(SAM,),
    ended_by=RHYS,
    end_reason=("The Welsh Government has since announced a national digital parking permit "
                "service that councils can join. We are withdrawing this challenge so that "
                "public money is not spent on the same thing twice."),
)

COUNCIL_TAX_CHATBOT = DemoChallenge(
    lead=GLASGOW, author=MORAG, approver=CALUM, state=S.CANCELLED,
    title="Answering council tax questions out of hours",
    summary=("Half of the calls to our council tax team are simple questions. We want "
             "residents to get accurate answers at any time."),
    problem=("Our phone lines are busy every morning and closed at night and weekends, "
             "when many residents have time to deal with their bills."),
    background="The council tax team handles about 400,000 calls a year.",
    affected="Council tax payers and the council tax team.",
    success="Residents get accurate answers at any time, and staff handle complex cases.",
    outcomes=(("Fewer simple calls", "Calls about simple questions down 30%"),),
    essential=("Answers are accurate and checked by the council tax team",
               "Meets WCAG 2.2 level AA"),
    capabilities=("Conversational AI",),
    cpv=("72260000", "48445000"),
    region="Scotland", budget=(10_000, 50_000), shortlist=2,
    stages=civtech_stages(35_000, build=False), criteria=STANDARD_CRITERIA,
    dates=(14, 28, 60), age=5,
    ended_by=CALUM,
    end_reason=("Cancelled after the council's budget review: council tax is moving to the "
                "council's new customer platform, which already includes this."),
)

# In the order they are loaded (a copy after its original).
CHALLENGES: tuple[DemoChallenge, ...] = (
    POTHOLES, FLY_TIPPING, TELECARE, DISCHARGE, FLY_TIPPING_CARDIFF, FOOD_WASTE,
    DAMP_AND_MOULD, GRITTING, GULLIES, NORTHUMBERLAND_POTHOLES, SCHOOL_TRANSPORT,
    RECYCLING_CENTRE_QUEUES, MISSED_BINS, EMPTY_HOMES, TRANSLATION, PARKING_PERMITS,
    COUNCIL_TAX_CHATBOT,
)


# Loading ---------------------------------------------------------------------------------------

def _at(now: datetime, days: float, hour: int) -> datetime:
    """A whole hour ``days`` from ``now`` (deadlines are at round times, like 12:00)."""
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _changes(spec: DemoChallenge, now: datetime) -> ChallengeChanges:
    """Everything the specification fills in (empty parts are left alone)."""
    changes = ChallengeChanges(
        title=spec.title,
        summary=spec.summary or None, problem=spec.problem or None,
        background=spec.background or None, affected=spec.affected or None,
        success=spec.success or None, region=spec.region,
        sme_suitable=spec.sme, shortlist_size=spec.shortlist,
        capabilities=list(spec.capabilities) or None, cpv_codes=list(spec.cpv) or None,
        outcomes=[OutcomeInput(d, m) for d, m in spec.outcomes] or None,
        essential_requirements=list(spec.essential) or None,
        nice_to_haves=list(spec.nice) or None,
        stages=list(spec.stages) or None, criteria=list(spec.criteria) or None,
    )
    if spec.budget:
        changes.budget_min, changes.budget_max = spec.budget
        changes.set_budget = True
    if spec.dates:
        questions, deadline, award = spec.dates
        changes.clarification_deadline = _at(now, questions, 17)
        changes.submission_deadline = _at(now, deadline, 12)
        changes.expected_award_date = (now + timedelta(days=award)).date()
        changes.set_dates = True
    return changes


def _shift_dates(values: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """Recorded challenge values with their dates and times moved ``delta`` earlier."""
    shifted = dict(values)
    for name in ("clarification_deadline", "submission_deadline"):
        if shifted.get(name):
            shifted[name] = (datetime.fromisoformat(shifted[name]) - delta).isoformat()
    if shifted.get("expected_award_date"):
        shifted["expected_award_date"] = (
            date.fromisoformat(shifted["expected_award_date"]) - delta).isoformat()
    return shifted


def _backdate(challenge: Challenge, days: float) -> None:
    """Move a challenge's whole timeline (and its questions, amendments and follows) ``days``
    into the past, recording it in the audit trail as demo data."""
    delta = timedelta(days=days)
    before = {"published_at": challenge.published_at.isoformat() if challenge.published_at
              else None,
              "submission_deadline": challenge.submission_deadline.isoformat()
              if challenge.submission_deadline else None}
    for name in ("created_at", "submitted_at", "approved_at", "published_at",
                 "clarification_deadline", "submission_deadline"):
        value = getattr(challenge, name)
        if value is not None:
            setattr(challenge, name, value - delta)
    if challenge.expected_award_date is not None:
        challenge.expected_award_date -= delta
    for question in db.session.scalars(select(ClarificationQuestion).where(
            ClarificationQuestion.challenge_id == challenge.id)):
        question.asked_at -= delta
        if question.answered_at is not None:
            question.answered_at -= delta
    for amendment in db.session.scalars(select(ChallengeAmendment).where(
            ChallengeAmendment.challenge_id == challenge.id)):
        amendment.created_at -= delta
        # The dates an amendment recorded (before and after) move with the timeline too.
        amendment.changes = {side: _shift_dates(values, delta)
                             for side, values in (amendment.changes or {}).items()}
    for follow in db.session.scalars(select(ChallengeFollow).where(
            ChallengeFollow.challenge_id == challenge.id)):
        follow.created_at -= delta
    backdate_bids(challenge, delta)
    db.session.flush()
    audit.record("challenge.demo_backdated", challenge, actor=None, actor_label="demo data",
                 organisation=challenge.lead_council_id, before=before,
                 after={"published_at": challenge.published_at.isoformat()
                        if challenge.published_at else None,
                        "submission_deadline": challenge.submission_deadline.isoformat()
                        if challenge.submission_deadline else None,
                        "status": challenge.status.value,
                        "note": f"Demo data: timeline moved {days:g} days into the past"})


def load_challenges(users: dict[str, User], orgs: dict[str, Organisation],
                    now: datetime) -> dict[str, Challenge]:
    """Create the demo challenges; returns them by title."""
    made: dict[str, Challenge] = {}
    for spec in CHALLENGES:
        made[spec.title] = _load(spec, users, orgs, now, made)
    return made


def _load(spec: DemoChallenge, users: dict[str, User], orgs: dict[str, Organisation],
          now: datetime, made: dict[str, Challenge]) -> Challenge:
    author = users[spec.author]
    changes = _changes(spec, now)
    if spec.co_sponsors:
        changes.co_sponsor_ids = [orgs[name].id for name in spec.co_sponsors]
    if spec.copy_of:
        draft = service.copy_challenge(author, made[spec.copy_of].id)
    else:
        draft = service.create_draft(author, spec.title)
    cid = draft.id
    challenge = service.update_draft(author, cid, changes)
    if spec.state == S.DRAFT:
        return challenge

    if spec.approver:
        service.submit_for_approval(author, cid)
        if spec.state == S.AWAITING_APPROVAL:
            return challenge
        service.approve(users[spec.approver], cid)
        if spec.state == S.APPROVED:
            return challenge
    publisher = users[spec.approver or spec.author]
    challenge = service.publish(publisher, cid)

    for email in spec.followers:
        service.follow(users[email], cid)
    for question in spec.questions:
        asked = service.ask_question(users[question.asker], cid, question.text)
        answerer = users[question.by or spec.author]
        if question.answer:
            service.answer_question(answerer, asked.id, question.answer,
                                    question.published_as)
        elif question.reject:
            service.reject_question(answerer, asked.id, question.reject)
    if spec.amendment:
        change = spec.amendment
        amendment = ChallengeChanges(
            essential_requirements=list(change.essential) if change.essential else None,
            background=change.background)
        if change.questions_in is not None:
            current = db.session.get(Challenge, cid)
            assert current is not None and spec.dates is not None
            amendment.clarification_deadline = _at(now, change.questions_in, 17)
            amendment.submission_deadline = current.submission_deadline
            amendment.expected_award_date = current.expected_award_date
            amendment.set_dates = True
        service.amend(author, cid, amendment, change.summary)

    challenge = db.session.get(Challenge, cid)  # type: ignore[assignment]
    assert challenge is not None
    load_bids_for(challenge, users)
    if spec.age:
        with unit_of_work():
            _backdate(challenge, spec.age)
    if spec.state in {S.EVALUATION, S.STANDSTILL, S.AWARDED, S.NO_SUITABLE_SUPPLIER}:
        run_evaluation(challenge, users[spec.approver or spec.author], users, spec.end_reason,
                       outcome=spec.state.value)
        backdate_evaluation(challenge, spec.evaluation_after, spec.outcome_after)
    elif spec.state == S.WITHDRAWN:
        challenge = service.withdraw(users[spec.ended_by or spec.author], cid,
                                     spec.end_reason or "")
    elif spec.state == S.CANCELLED:
        challenge = service.cancel(users[spec.ended_by or spec.author], cid,
                                   spec.end_reason or "")
    db.session.refresh(challenge)
    assert challenge.status == spec.state, (spec.title, challenge.status, spec.state)
    return challenge
