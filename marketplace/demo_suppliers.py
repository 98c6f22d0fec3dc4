"""Realistic demo supplier profiles, written through the profile use case."""

from __future__ import annotations

from datetime import date, timedelta

from marketplace.models import User
from marketplace.services import suppliers as service
from marketplace.services.suppliers import CaseStudyInput, CertificationInput, ProfileChanges


def _in_days(days: int) -> date:
    return date.today() + timedelta(days=days)


PROFILES: dict[str, ProfileChanges] = {
    "nadia@roadsense.example.com": ProfileChanges(
        companies_house_number="11234567", size="small",
        website="https://roadsense.example.com",
        description="Roadsense turns the cameras and sensors councils already run into a live "
                    "picture of road condition, so highways teams repair roads before they "
                    "fail.",
        regions=["Yorkshire and The Humber", "North East", "North West"],
        capabilities=["Computer vision on dashcam and refuse-lorry footage",
                      "Predictive maintenance models for carriageways",
                      "Integration with highways asset management systems",
                      "Route optimisation for inspection and repair crews"],
        cpv_codes=["72316000", "72000000", "45233141"],
        case_studies=[
            CaseStudyInput("Pothole prediction pilot", "Emergency repairs fell by 22% in a year",
                           client="A metropolitan borough council",
                           measure="Category 1 defects per 100 miles", year=2025),
            CaseStudyInput("Gully inspection routing", "Inspection mileage cut by a third",
                           client="A county council", measure="Miles driven per round",
                           year=2024)],
        certifications=[CertificationInput("cyber_essentials_plus", _in_days(200)),
                        CertificationInput("iso_27001", _in_days(400))],
        contact_name="Nadia Hussain", contact_email="nadia@roadsense.example.com",
        contact_phone="0113 496 0000"),
    "owen@carelink.example.com": ProfileChanges(
        companies_house_number="SC612345", size="medium",
        website="https://carelink.example.com",
        description="CareLink provides technology-enabled care: digital alarms, sensors and a "
                    "monitoring centre that helps people live safely at home.",
        regions=["Scotland", "Wales", "North West"],
        capabilities=["Digital telecare alarms and hubs",
                      "24-hour monitoring and response centre",
                      "Activity sensors that flag changes in daily routines",
                      "Analogue-to-digital switchover for community alarms"],
        cpv_codes=["85300000", "33196200", "32500000"],
        case_studies=[
            CaseStudyInput("Digital switchover for 8,000 alarm users",
                           "Every alarm moved to digital with no missed calls",
                           client="A Scottish health and social care partnership",
                           measure="Failed alarm calls", year=2025)],
        certifications=[CertificationInput("iso_9001", _in_days(300)),
                        CertificationInput("cyber_essentials", _in_days(-20))],
        contact_name="Owen Jones", contact_email="owen@carelink.example.com"),
    "femi@cleanstreets.example.coop": ProfileChanges(
        companies_house_number="IP031234", size="micro",
        website="https://cleanstreets.example.coop",
        description="A community co-operative that uses open data and residents' reports to "
                    "keep streets clean and stop fly-tipping coming back.",
        regions=["South East", "London", "Wales"],
        capabilities=["Fly-tipping hotspot prediction",
                      "Community reporting apps and rapid clearance",
                      "Waste collection route analysis",
                      "Behaviour change campaigns for recycling"],
        cpv_codes=["90500000", "90610000", "79342000"],
        case_studies=[
            CaseStudyInput("Rural lay-by fly-tipping", "Repeat tipping at target sites fell 40%",
                           client="A district council", measure="Incidents per month",
                           year=2024)],
        certifications=[CertificationInput("cyber_essentials", _in_days(150))],
        contact_name="Femi Adeyemi", contact_email="femi@cleanstreets.example.coop"),
    "eleanor@flowward.example.com": ProfileChanges(
        companies_house_number="09876543", size="small",
        website="https://flowward.example.com",
        description="FlowWard helps hospitals and councils plan discharge together, so people "
                    "go home when they are medically ready.",
        regions=["Wales", "South West", "West Midlands"],
        capabilities=["Shared discharge planning boards",
                      "Predicting discharge dates from ward data",
                      "Care market capacity dashboards",
                      "Patient transport scheduling"],
        cpv_codes=["48000000", "85100000", "72230000"],
        case_studies=[
            CaseStudyInput("Discharge to assess", "Delayed transfers of care down 18%",
                           client="A health board and two councils",
                           measure="Bed days lost to delayed discharge", year=2025)],
        certifications=[CertificationInput("cyber_essentials_plus", _in_days(250)),
                        CertificationInput("other", _in_days(365),
                                           name="NHS Data Security and Protection Toolkit")],
        contact_name="Eleanor Grant", contact_email="eleanor@flowward.example.com"),
    "ben@civicdesign.example.com": ProfileChanges(
        size="micro", website="https://civicdesign.example.com",
        description="User research and service design for public services.",
        regions=["North East"],
        capabilities=["User research with residents", "Service design"],
        cpv_codes=["79400000"]),
}


def load_profiles(users: dict[str, User]) -> None:
    """Write the demo supplier profiles (as each company's organisation admin)."""
    for email, changes in PROFILES.items():
        admin = users[email]
        service.get_or_create_profile(admin)
        assert admin.organisation_id is not None
        service.update_profile(admin, admin.organisation_id, changes)
