"""Mixed workload for ``make loadtest`` against ``make prod-local`` (the scale data set).

Three kinds of visitor, weighted 70/20/10:

* public: the challenge list with and without search terms and filters, challenge pages, the
  home page and the supplier directory;
* suppliers (signed in once each): their bids dashboard, a bid's task list and one section,
  and saving a draft section (POST with the CSRF token of the form);
* councils (signed in once each): their challenges dashboard, an open challenge they lead and
  its suggested suppliers.

Requests are named by endpoint pattern so the statistics group by page type. Every response
is checked for its status and a marker of the page, so a wrong page counts as an error.
The sign-ins come from ``flask load-scale`` (``LOADTEST_SIGNINS``, default
``instance/load-scale.json``). ``LOADTEST_WAIT`` ("min,max" seconds, default "0.2,0.8") is the
think time between a visitor's requests.
"""

from __future__ import annotations

import json
import os
import random
import re
from itertools import count
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, task

ROOT = Path(__file__).resolve().parent.parent
SIGNINS: dict[str, Any] = json.loads(
    Path(os.environ.get("LOADTEST_SIGNINS", ROOT / "instance" / "load-scale.json")).read_text())
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINKED = re.compile(r'href="/challenges/(\d+)"')
_low, _high = (float(x) for x in os.environ.get("LOADTEST_WAIT", "0.2,0.8").split(","))
WAIT = between(_low, _high)

SEARCHES = ("pothole", "social care scheduling", "sensors", "fly-tipping", "school transport",
            "damp and mould", "potholle", "air quality", "library", "flood warnings",
            "parking", "council tax")
REGIONS = ("London", "North West", "South East", "Scotland", "Wales", "Yorkshire and The Humber")
FILTERS = (
    "status=open", "status=open&sme=1", "status=closed&region={region}",
    "region={region}&budget=100k-500k", "status=open&division=90", "status=awarded",
    "status=open&sort=budget",
)
_suppliers = count()
_councils = count()


def _check(response: Any, marker: str, statuses: tuple[int, ...] = (200,)) -> None:
    """Mark the response failed unless its status is expected and a 200 carries the marker."""
    if response.status_code not in statuses:
        response.failure(f"status {response.status_code}")
    elif response.status_code == 200 and marker not in (response.text or ""):
        response.failure(f"no marker {marker!r}")
    else:
        response.success()


def _csrf(response: Any) -> str:
    found = CSRF.search(response.text or "")
    return found.group(1) if found else ""


class _SignedIn(FastHttpUser):
    """A visitor who signs in once (and again before the next task if that failed)."""

    abstract = True
    wait_time = WAIT
    email = ""
    signed_in = False

    def sign_in(self) -> None:
        with self.client.get("/sign-in", name="/sign-in", catch_response=True) as page:
            _check(page, "csrf_token")
            token = _csrf(page)
        with self.client.post("/sign-in", name="/sign-in [POST]", allow_redirects=False,
                              data={"csrf_token": token, "email": self.email,
                                    "password": SIGNINS["password"]},
                              catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"sign-in as {self.email} answered {response.status_code}")
            else:
                response.success()
                self.signed_in = True

    def ensure_signed_in(self) -> bool:
        if not self.signed_in:
            self.sign_in()
        return self.signed_in

    def page(self, url: str, name: str, marker: str) -> None:
        """GET a signed-in page (signing in first if needed) and check its marker."""
        if not self.ensure_signed_in():
            return
        with self.client.get(url, name=name, catch_response=True) as response:
            _check(response, marker)


class PublicVisitor(FastHttpUser):
    """Anonymous browsing: 70% of visitors."""

    weight = 70
    wait_time = WAIT

    # Challenges linked from the last list or search page this visitor saw: browsing opens
    # those. A quarter of challenge pages are opened directly instead (a link in an email,
    # an alert or a search engine), uniformly from every published challenge.
    seen: list[int]

    def on_start(self) -> None:
        self.seen = []

    def _remember(self, response: Any) -> None:
        found = [int(i) for i in LINKED.findall(response.text or "")]
        if found:
            self.seen = found

    def _challenge_id(self) -> int:
        if self.seen and random.random() < 0.75:
            return random.choice(self.seen)
        return random.choice(SIGNINS["challenge_ids"])

    @task(4)
    def challenge_list(self) -> None:
        page = random.choice(("", "", "?page=2", "?page=5"))
        with self.client.get(f"/challenges{page}", name="/challenges",
                             catch_response=True) as response:
            _check(response, "govuk-pagination")
            self._remember(response)

    @task(4)
    def search(self) -> None:
        with self.client.get("/challenges", params={"q": random.choice(SEARCHES)},
                             name="/challenges?q=", catch_response=True) as response:
            _check(response, "</main>")
            self._remember(response)

    @task(2)
    def filtered(self) -> None:
        query = random.choice(FILTERS).format(region=random.choice(REGIONS))
        with self.client.get(f"/challenges?{query}", name="/challenges?filters",
                             catch_response=True) as response:
            _check(response, "</main>")
            self._remember(response)

    @task(6)
    def challenge(self) -> None:
        with self.client.get(f"/challenges/{self._challenge_id()}", name="/challenges/[id]",
                             catch_response=True) as response:
            _check(response, "</main>")

    @task(1)
    def home(self) -> None:
        with self.client.get("/", name="/", catch_response=True) as response:
            _check(response, "</main>")

    @task(1)
    def directory(self) -> None:
        with self.client.get("/suppliers", params={"q": random.choice(SEARCHES)},
                             name="/suppliers?q=", catch_response=True) as response:
            _check(response, "</main>")


class SupplierVisitor(_SignedIn):
    """A bidder with a draft bid on an open challenge: 20% of visitors."""

    weight = 20

    def on_start(self) -> None:
        people = SIGNINS["suppliers"]
        me = people[next(_suppliers) % len(people)]
        self.bid_id = me["bid_id"]
        self.email = me["email"]
        self.sign_in()

    @task(3)
    def dashboard(self) -> None:
        self.page("/supplier/bids", "/supplier/bids", f"/bids/{self.bid_id}")

    @task(2)
    def task_list(self) -> None:
        self.page(f"/bids/{self.bid_id}", "/bids/[id]", "</main>")

    @task(2)
    def save_draft(self) -> None:
        if not self.ensure_signed_in():
            return
        url = f"/bids/{self.bid_id}/team"
        with self.client.get(url, name="/bids/[id]/team", catch_response=True) as page:
            _check(page, 'name="team"')
            token = _csrf(page)
        with self.client.post(url, name="/bids/[id]/team [POST]", allow_redirects=False,
                              data={"csrf_token": token, "save_continue": "Save and continue",
                                    "team": f"Three consultants ({random.randint(1, 999)}).",
                                    "availability": "We could start within two weeks."},
                              catch_response=True) as response:
            _check(response, "", (302,))
            if f"/bids/{self.bid_id}/" not in response.headers.get("Location", ""):
                response.failure(f"saved, then sent to {response.headers.get('Location')}")


class CouncilVisitor(_SignedIn):
    """A procurement officer with an open challenge: 10% of visitors."""

    weight = 10

    def on_start(self) -> None:
        people = SIGNINS["councils"]
        me = people[next(_councils) % len(people)]
        self.challenge_id = me["challenge_id"]
        self.email = me["email"]
        self.sign_in()

    @task(3)
    def dashboard(self) -> None:
        self.page("/council/challenges", "/council/challenges",
                  f"/council/challenges/{self.challenge_id}")

    @task(1)
    def challenge(self) -> None:
        self.page(f"/council/challenges/{self.challenge_id}", "/council/challenges/[id]",
                  "</main>")

    @task(2)
    def suggested_suppliers(self) -> None:
        self.page(f"/council/challenges/{self.challenge_id}/suggested-suppliers",
                  "/council/challenges/[id]/suggested-suppliers", "/suppliers/")
