"""The whole-page cache of public challenge pages for visitors who are not signed in.

Served from the cache only to requests without a session cookie or token, with the response's
own CSP nonce; never a page with a CSRF token or for a signed-in person; a change, or a
deadline passing, is seen at once; a cache that is down is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from werkzeug.test import TestResponse

from marketplace.extensions import db
from marketplace.services import challenges as challenge_service
from tests.bid_support import open_challenge
from tests.challenge_support import closing_soon, wait_until_past
from tests.conftest import sign_in
from tests.factories import council_user
from tests.redis_support import free_port, redis_server

NONCE = re.compile(r'nonce="([^"]+)"')


def _get(app: Flask, url: str) -> TestResponse:
    response = app.test_client().get(url)
    assert response.status_code == 200, url
    return response


def _nonces(response: TestResponse) -> tuple[set[str], str]:
    header = response.headers["Content-Security-Policy"]
    found = re.search(r"'nonce-([^']+)'", header)
    assert found, header
    return set(NONCE.findall(response.get_data(as_text=True))), found.group(1)


def test_anonymous_pages_are_served_from_redis_with_their_own_nonce(app_factory, tmp_path: Path
                                                                   ) -> None:
    with redis_server(tmp_path / "redis") as server:
        app = app_factory(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=server.url)
        with app.app_context():
            officer = council_user("procurement_officer")
            challenge = open_challenge(officer, "Gritting routes in snow")
            for url in ("/", "/challenges", "/challenges?q=gritting",
                        f"/challenges/{challenge.id}"):
                first = _get(app, url)
                assert first.headers.get("X-Page-Cache") == "miss", url
                second = _get(app, url)
                assert second.headers.get("X-Page-Cache") == "hit", url
                # Each response carries its own nonce, the one its CSP header allows.
                in_first, header_first = _nonces(first)
                in_second, header_second = _nonces(second)
                assert header_first != header_second
                assert in_first == {header_first} and in_second == {header_second}, url
                same = second.get_data(as_text=True).replace(header_second, header_first)
                assert same == first.get_data(as_text=True)
                assert "Set-Cookie" not in second.headers
            db.engine.dispose()


def test_signed_in_people_never_get_a_cached_page(app_factory) -> None:
    app = app_factory(CACHE_TYPE="SimpleCache")
    with app.app_context():
        officer = council_user("procurement_officer")
        challenge = open_challenge(officer, "Gritting routes in snow")
        url = f"/challenges/{challenge.id}"
        _get(app, url)
        assert _get(app, url).headers.get("X-Page-Cache") == "hit"
        client = app.test_client()
        assert sign_in(client, officer.email).status_code == 302
        for _ in range(2):
            page = client.get(url)
            assert page.status_code == 200
            assert "X-Page-Cache" not in page.headers
            assert "Sign out" in page.get_data(as_text=True)
        # A page with a form token (a signed-in page) is never stored either.
        assert 'name="csrf_token"' in client.get("/").get_data(as_text=True)


def test_a_change_or_a_deadline_is_seen_at_once(app_factory) -> None:
    app = app_factory(CACHE_TYPE="SimpleCache")
    with app.app_context():
        officer = council_user("procurement_officer")
        challenge = open_challenge(officer, "Gritting routes in snow")
        url = f"/challenges/{challenge.id}"
        assert "Gritting routes in snow" in _get(app, "/challenges").get_data(as_text=True)
        _get(app, url)
        assert _get(app, url).headers.get("X-Page-Cache") == "hit"

        challenge_service.withdraw(officer, challenge.id, "The budget was cut")
        page = _get(app, url)
        assert page.headers.get("X-Page-Cache") == "miss"
        assert "withdrawn" in page.get_data(as_text=True).lower()

        other = open_challenge(officer, "Gritting lorry telemetry")
        deadline = closing_soon(other.id)
        listing = "/challenges?status=open"
        assert "Gritting lorry telemetry" in _get(app, listing).get_data(as_text=True)
        assert _get(app, listing).headers.get("X-Page-Cache") == "hit"
        wait_until_past(deadline)
        # Nothing was written: the key's time window ended at the deadline.
        assert "Gritting lorry telemetry" not in _get(app, listing).get_data(as_text=True)


def test_a_cache_that_is_down_is_skipped(app_factory) -> None:
    app = app_factory(CACHE_TYPE="RedisCache",
                      CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        officer = council_user("procurement_officer")
        challenge = open_challenge(officer, "Gritting routes in snow")
        for _ in range(2):
            page = _get(app, f"/challenges/{challenge.id}")
            assert "X-Page-Cache" not in page.headers or page.headers["X-Page-Cache"] == "miss"
            assert "Gritting routes in snow" in page.get_data(as_text=True)


def test_long_or_api_requests_are_not_cached(app_factory) -> None:
    app = app_factory(CACHE_TYPE="SimpleCache")
    with app.app_context():
        council_user("procurement_officer")
        long_query = "/challenges?q=" + "x" * 500
        for _ in range(2):
            assert "X-Page-Cache" not in _get(app, long_query).headers
        client = app.test_client()
        for _ in range(2):
            response = client.get("/challenges", headers={"Authorization": "Bearer nope"})
            assert "X-Page-Cache" not in response.headers


def test_the_supplier_directory_is_cached_until_a_supplier_changes(app_factory) -> None:
    from marketplace.models import Organisation
    from tests.test_matching_app import roads_supplier

    app = app_factory(CACHE_TYPE="SimpleCache")
    with app.app_context():
        user = roads_supplier()
        url = "/suppliers?q=pothole"
        assert "Roadsense Analytics Ltd" in _get(app, url).get_data(as_text=True)
        assert _get(app, url).headers.get("X-Page-Cache") == "hit"
        org = db.session.get(Organisation, user.organisation_id)
        assert org is not None
        org.name = "Roadsense Vision Ltd"
        db.session.commit()
        page = _get(app, url)
        assert page.headers.get("X-Page-Cache") == "miss"
        assert "Roadsense Vision Ltd" in page.get_data(as_text=True)
