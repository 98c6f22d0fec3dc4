"""Feeds and downloads (marketplace/views/challenges.py): the Atom feeds of new challenges and
of awards, and the CSV download of the public challenge list with the page's filters. Data is
built through the service layer on a real database."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal
from html import unescape
from typing import Any

from flask import Flask

from marketplace.extensions import db
from marketplace.models import Challenge, User, utcnow
from marketplace.services import award as award_service
from marketplace.services import challenges as challenge_service
from marketplace.services import search
from marketplace.services import suppliers as supplier_service
from marketplace.services.award import WinnerInput
from marketplace.templating import UK
from tests.bid_support import open_challenge
from tests.challenge_support import publishable
from tests.factories import CouncilFactory, council_user
from tests.team_admin_support import fresh
from tests.test_award_service import WINNER_SECRET, ready, shortlisted, time_passes

ATOM = "{http://www.w3.org/2005/Atom}"
AWARDS = "/challenges/awards.atom"
DOWNLOAD = "/challenges/download.csv"
EVIL_TITLE = "<script>alert('feed')</script> & Potholes"


def feed_of(client, url: str) -> ET.Element:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.data)  # noqa: S314 (our own feed, not untrusted input)
    assert root.tag == f"{ATOM}feed"
    return root


def entries_of(root: ET.Element) -> dict[str, ET.Element]:
    return {e.findtext(f"{ATOM}title"): e for e in root.findall(f"{ATOM}entry")}


def award_to_first(setup: Any, value: str = "48500.50",
                   summary: str = "Bidder 1 offered the strongest approach.") -> None:
    """Bids 0 and 1 shortlisted, bid 0 (a small company) awarded ``value``."""
    supplier_service.update_profile(setup.bidders[0], setup.bids[0].supplier_id,
                                    supplier_service.ProfileChanges(size="small"))
    shortlisted(setup, 0, 1)
    award_service.award(setup.lead, setup.challenge.id,
                        [WinnerInput(setup.bids[0].id, Decimal(value))], summary)
    setup.refresh()


def retitle(challenge_id: int, title: str) -> None:
    challenge = fresh(Challenge, challenge_id)
    challenge.title = title
    db.session.commit()


# --------------------------------------------------------------------------- awards feed


def test_awards_feed_shows_final_awards_and_no_suitable_supplier_only(client) -> None:
    final = ready()
    award_to_first(final)
    time_passes(final)
    retitle(final.challenge.id, EVIL_TITLE)

    in_standstill = ready()
    award_to_first(in_standstill, value="777", summary="A decision still in standstill.")
    retitle(in_standstill.challenge.id, "Still in standstill")

    nothing = ready()
    award_service.declare_no_suitable_supplier(nothing.lead, nothing.challenge.id,
                                               "No bid met the <essential> requirement.")
    retitle(nothing.challenge.id, "Nobody suitable")

    response = client.get(AWARDS)
    raw = response.get_data(as_text=True)
    root = feed_of(client, AWARDS)
    entries = entries_of(root)
    assert set(entries) == {f"Awarded: {EVIL_TITLE}", "No suitable supplier: Nobody suitable"}
    # Newest first: the award became final a day ago, 'no suitable supplier' was just now.
    assert [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")][0] == (
        "No suitable supplier: Nobody suitable")

    # The title came back literally: escaped in the XML, never raw markup.
    assert "<script>" not in raw and "&lt;script&gt;" in raw

    awarded = entries[f"Awarded: {EVIL_TITLE}"]
    url = f"http://marketplace.test/challenges/{final.challenge.id}"
    assert awarded.findtext(f"{ATOM}id") == url + "#award"
    assert awarded.find(f"{ATOM}link").get("href") == url + "#award-notice"
    assert awarded.findtext(f"{ATOM}author/{ATOM}name") == final.council.name
    final_at = fresh(Challenge, final.challenge.id).awarded_at
    assert awarded.findtext(f"{ATOM}updated").startswith(final_at.strftime("%Y-%m-%dT%H:%M"))
    summary = awarded.findtext(f"{ATOM}summary")
    winner = final.bids[0].supplier.name
    assert f"{winner}, SME: yes (Small), contract value £48,500.50" in summary
    assert "Bidder 1 offered the strongest approach." in summary

    nss = entries["No suitable supplier: Nobody suitable"]
    assert nss.findtext(f"{ATOM}id") == (
        f"http://marketplace.test/challenges/{nothing.challenge.id}#award")
    assert "No bid met the <essential> requirement." in nss.findtext(f"{ATOM}summary")

    # Nothing of the standstill decision, and nothing beyond the public notice: no losing
    # bidders, scores, moderation rationales or evaluator comments.
    assert "Still in standstill" not in raw and "£777" not in raw
    assert in_standstill.bids[0].supplier.name not in raw
    for setup in (final, nothing):
        for bid in setup.bids[1:]:
            assert bid.supplier.name not in raw
    assert nothing.bids[0].supplier.name not in raw
    assert WINNER_SECRET not in raw
    assert "Comment on" not in raw and "Agreed score" not in raw
    assert "out of 100" not in raw and "scored" not in raw


def test_awards_feed_is_valid_when_empty_and_has_its_own_links(client) -> None:
    root = feed_of(client, AWARDS)
    assert root.findall(f"{ATOM}entry") == []
    assert root.findtext(f"{ATOM}id") == "http://marketplace.test/challenges/awards.atom"
    assert root.findtext(f"{ATOM}updated")
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["self"] == "http://marketplace.test/challenges/awards.atom"
    assert links["alternate"] == "http://marketplace.test/challenges?status=awarded"


def test_awards_feed_keeps_the_newest_fifty(app: Flask, client) -> None:
    """Outcomes made with the ORM (the services take minutes for 55 evaluations)."""
    council = CouncilFactory()
    officer = council_user("procurement_officer", organisation=council)
    now = utcnow()
    for n in range(55):
        challenge = open_challenge(officer, f"Decided {n:02d}")
        challenge.evaluation_started_at = now - timedelta(days=90)
        challenge.no_suitable_supplier_at = now - timedelta(hours=100 - n)
        challenge.end_reason = "No bid met the essential requirements."
    db.session.commit()
    entries = feed_of(client, AWARDS).findall(f"{ATOM}entry")
    assert len(entries) == 50
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert titles[0] == "No suitable supplier: Decided 54"
    assert titles[-1] == "No suitable supplier: Decided 05"
    assert search.recent_decisions(3)[0].title == "Decided 54"


def test_list_page_links_to_both_feeds(client) -> None:
    body = client.get("/challenges").get_data(as_text=True)
    assert ('<link rel="alternate" type="application/atom+xml" title="Awards (' in body
            and 'href="/challenges/awards.atom"' in body)
    assert 'href="/challenges/feed.atom"' in body
    assert "new challenges (Atom feed)" in body and "awards (Atom feed)" in body


# --------------------------------------------------------------------------- new challenges


def test_new_challenges_feed_leaves_out_drafts_withdrawn_and_cancelled(client) -> None:
    officer = council_user("procurement_officer")
    open_challenge(officer, "Still open")
    publishable(officer, "Only a draft")
    withdrawn = open_challenge(officer, "Withdrawn one")
    challenge_service.withdraw(officer, withdrawn.id, "We found a supplier elsewhere.")
    cancelled = open_challenge(officer, "Cancelled one")
    challenge_service.cancel(officer, cancelled.id, "Funding ended.")
    root = feed_of(client, "/challenges/feed.atom")
    assert set(entries_of(root)) == {"Still open"}


def test_a_control_character_in_a_title_does_not_break_the_feeds(client) -> None:
    officer = council_user("procurement_officer")
    challenge = open_challenge(officer, "Potholes")
    retitle(challenge.id, "Pot\x01holes \x0b<b>now</b>")
    root = feed_of(client, "/challenges/feed.atom")
    assert set(entries_of(root)) == {"Potholes <b>now</b>"}
    feed_of(client, AWARDS)


# --------------------------------------------------------------------------- CSV download


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def page_titles(client, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    body = client.get(f"/challenges{query}").get_data(as_text=True)
    return [unescape(t) for t in re.findall(
        r'<h3 class="govuk-heading-s app-result__title"><a [^>]*>(.*?)</a>', body)]


def publish(officer: User, title: str, **changes: Any) -> Challenge:
    return challenge_service.publish(officer, publishable(officer, title, **changes).id)


def test_csv_download_has_the_columns_a_bom_and_an_attachment_name(client) -> None:
    council = CouncilFactory(name="Lowdale Borough Council")
    partner = CouncilFactory(name="Highfield Council")
    officer = council_user("procurement_officer", organisation=council)
    challenge = publish(officer, "Predicting potholes", region="London",
                        budget_min=5_000, budget_max=25_000, sme_suitable=False,
                        cpv_codes=["72000000", "90511000"],
                        co_sponsor_ids=[partner.id])
    publishable(officer, "A secret draft")

    response = client.get(DOWNLOAD)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = utcnow().astimezone(UK).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="challenges-{today}.csv"')
    header, *rows = rows_of(response)
    assert header == ["ID", "Title", "Councils", "Status", "Place of delivery",
                      "Budget minimum (£)", "Budget maximum (£)", "Suitable for SMEs",
                      "CPV codes", "Published (UK time)", "Questions close (UK time)",
                      "Submission deadline (UK time)", "URL"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    challenge = fresh(Challenge, challenge.id)
    assert row["ID"] == str(challenge.id)
    assert row["Title"] == "Predicting potholes"
    assert row["Councils"] == "Lowdale Borough Council; Highfield Council"
    assert row["Status"] == "Open"
    assert row["Place of delivery"] == "London"
    assert (row["Budget minimum (£)"], row["Budget maximum (£)"]) == ("5000", "25000")
    assert row["Suitable for SMEs"] == "No"
    assert row["CPV codes"] == "72000000; 90511000"
    assert row["Published (UK time)"] == challenge.published_at.astimezone(UK).isoformat(
        timespec="seconds")
    assert row["Submission deadline (UK time)"] == (
        challenge.submission_deadline.astimezone(UK).isoformat(timespec="seconds"))
    assert row["Questions close (UK time)"].startswith(
        challenge.clarification_deadline.astimezone(UK).date().isoformat())
    assert row["URL"] == f"http://marketplace.test/challenges/{challenge.id}"


def test_csv_download_applies_the_pages_filters_and_sort_across_pages(client) -> None:
    officer = council_user("procurement_officer")
    for n in range(search.PAGE_SIZE + 3):
        publish(officer, f"London pothole survey {n:02d}", region="London",
                budget_max=10_000 + n, budget_min=0)
    publish(officer, "Glasgow bins", region="Scotland")
    publish(officer, "Nationwide potholes", region="UK-wide")

    header, *rows = rows_of(client.get(f"{DOWNLOAD}?region=London&sort=budget&page=2"))
    titles = [r[1] for r in rows]
    # Every page, not just the second; the page's order (highest budget first).
    assert len(titles) == search.PAGE_SIZE + 4
    assert titles == (page_titles(client, "?region=London&sort=budget")
                      + page_titles(client, "?region=London&sort=budget&page=2"))
    assert "Glasgow bins" not in titles and "Nationwide potholes" in titles

    # A keyword search gives the page's results too (with its typo tolerance).
    header, *rows = rows_of(client.get(f"{DOWNLOAD}?q=glasgw"))
    assert [r[1] for r in rows] == page_titles(client, "?q=glasgw") == ["Glasgow bins"]
    # Malformed parameters are ignored, as on the page.
    assert len(rows_of(client.get(f"{DOWNLOAD}?region=Atlantis&budget=lots&page=x"))) == (
        search.PAGE_SIZE + 6)


def test_csv_download_is_capped(app: Flask, client, monkeypatch) -> None:
    from marketplace.views import challenges as views

    officer = council_user("procurement_officer")
    for n in range(3):
        publish(officer, f"Challenge {n}")
    monkeypatch.setattr(views, "DOWNLOAD_LIMIT", 2)
    assert len(rows_of(client.get(DOWNLOAD))) == 3  # the header and two rows


def test_csv_download_guards_against_formula_injection(client) -> None:
    officer = council_user("procurement_officer", organisation=CouncilFactory(
        name="+Evil Council"))
    challenge = open_challenge(officer, "Safe title")
    retitle(challenge.id, '=HYPERLINK("http://evil.example","Click")')
    header, row = rows_of(client.get(DOWNLOAD))
    assert row[1] == "'=HYPERLINK(\"http://evil.example\",\"Click\")"
    assert row[2] == "'+Evil Council"


def test_csv_download_never_has_drafts_or_unpublished_work(client) -> None:
    officer = council_user("procurement_officer")
    publishable(officer, "Draft one")
    owner = council_user("challenge_owner", organisation=officer.organisation)
    challenge_service.submit_for_approval(owner, publishable(owner, "Awaiting one").id)
    header, *rows = rows_of(client.get(DOWNLOAD))
    assert rows == []
    # Even for the council that owns them.
    header, *rows = rows_of(client.get(f"{DOWNLOAD}?council={officer.organisation_id}"))
    assert rows == []


def test_list_page_links_to_the_download_with_its_filters(client) -> None:
    officer = council_user("procurement_officer")
    publish(officer, "London potholes", region="London")
    body = client.get("/challenges?region=London&sort=newest&page=1&q=pothole").get_data(
        as_text=True)
    match = re.search(r'<a class="govuk-link" href="([^"]+)">Download these results \(CSV\)',
                      body)
    assert match
    href = unescape(match.group(1))
    assert href.startswith("/challenges/download.csv?")
    assert "region=London" in href and "sort=newest" in href and "q=pothole" in href
    assert "page=" not in href
    # No download link when nothing matches.
    empty = client.get("/challenges?q=zzzzqqq").get_data(as_text=True)
    assert "Download these results" not in empty
