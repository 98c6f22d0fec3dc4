"""The shared cache of public data: search results, the council filter and supplier rankings.

Against a real private Redis (and SimpleCache): results come from the cache, a publication or
withdrawal is seen at once, a deadline passing changes the open list without any write, no
page or per-person data is stored, and a Redis that is down (or goes down) means no cache,
never an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_client
from flask import Flask

from marketplace.config import load_config
from marketplace.extensions import db
from marketplace.services import challenges as challenge_service
from marketplace.services import suggestions as suggestion_service
from tests.bid_support import open_challenge
from tests.challenge_support import closing_soon, wait_until_past
from tests.factories import CouncilFactory, council_user
from tests.redis_support import free_port, redis_server
from tests.test_matching_app import care_supplier, roads_supplier
from tests.test_query_counts import counting

SEARCH = "/challenges?q=gritting"


def _titles(app: Flask, url: str) -> str:
    response = app.test_client().get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _window_counts(statements: list[str]) -> int:
    """How many of the statements were the search itself (ids with the window count)."""
    return sum("OVER ()" in s for s in statements)


def test_the_profiles_choose_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("CACHE_TYPE", raising=False)
    assert load_config(tmp_path, {"ENV_NAME": "testing"})["CACHE_TYPE"] == "SimpleCache"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/2")
    config = load_config(tmp_path, {"ENV_NAME": "testing"})
    assert config["CACHE_TYPE"] == "RedisCache"
    assert config["CACHE_REDIS_URL"] == "redis://127.0.0.1:6379/2"


def test_search_results_come_from_redis_and_follow_every_change(app_factory, tmp_path: Path
                                                                ) -> None:
    with redis_server(tmp_path / "redis") as server:
        app = app_factory(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=server.url)
        with app.app_context():
            officer = council_user("procurement_officer")
            first = open_challenge(officer, "Gritting routes in snow")
            assert "Gritting routes in snow" in _titles(app, SEARCH)
            with counting(app) as statements:
                assert "Gritting routes in snow" in _titles(app, SEARCH)
            assert _window_counts(statements) == 0, "the second search was not cached"

            # A publication is seen at once (the version changes on commit).
            second = open_challenge(officer, "Gritting lorry telemetry")
            assert "Gritting lorry telemetry" in _titles(app, SEARCH)
            # So is a withdrawal, in the open filter.
            assert "Gritting routes in snow" in _titles(app, SEARCH + "&status=open")
            challenge_service.withdraw(officer, first.id, "The budget was cut")
            page = _titles(app, SEARCH + "&status=open")
            assert "Gritting routes in snow" not in page
            assert "Gritting lorry telemetry" in page
            # And an amendment of the searched text (the list rows are always fresh).
            assert second.id

            # Only public search data is stored: no page, no token, no person.
            client = redis_client.Redis.from_url(server.url)
            keys = list(client.scan_iter("*"))
            assert keys
            for key in keys:
                assert key.startswith(b"marketplace:cache:"), key
                value = client.get(key) or b""
                if key.startswith(b"marketplace:cache:page:"):
                    # Whole public pages (marketplace/page_cache.py): never a token or a nonce.
                    for forbidden in (b'name="csrf_token"', officer.email.encode()):
                        assert forbidden not in value, (key, forbidden)
                    continue
                for forbidden in (b"<html", b"csrf", b"nonce", officer.email.encode()):
                    assert forbidden not in value, (key, forbidden)
            db.engine.dispose()


def test_a_deadline_passing_closes_a_challenge_in_the_cached_lists(app_factory) -> None:
    app = app_factory(CACHE_TYPE="SimpleCache")
    with app.app_context():
        officer = council_user("procurement_officer")
        challenge = open_challenge(officer, "Gritting routes in snow")
        deadline = closing_soon(challenge.id)
        assert "Gritting routes in snow" in _titles(app, SEARCH + "&status=open")
        assert "Gritting routes in snow" in _titles(app, SEARCH + "&status=open")  # cached
        wait_until_past(deadline)
        # Nothing was written: the time window in the key moved on at the deadline.
        assert "Gritting routes in snow" not in _titles(app, SEARCH + "&status=open")
        assert "Gritting routes in snow" in _titles(app, SEARCH + "&status=closed")


def test_a_redis_that_is_down_means_no_cache_not_an_error(app_factory) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = app_factory(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=closed)
    with app.app_context():
        officer = council_user("procurement_officer", organisation=CouncilFactory())
        open_challenge(officer, "Gritting routes in snow")
        assert "Gritting routes in snow" in _titles(app, SEARCH)
        open_challenge(officer, "Gritting lorry telemetry")
        assert "Gritting lorry telemetry" in _titles(app, SEARCH)
        assert app.test_client().get("/challenges").status_code == 200


def test_redis_going_down_mid_way_is_survived(app_factory, tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as server:
        app = app_factory(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=server.url)
        with app.app_context():
            officer = council_user("procurement_officer")
            open_challenge(officer, "Gritting routes in snow")
            assert "Gritting routes in snow" in _titles(app, SEARCH)
            server.stop()
            open_challenge(officer, "Gritting lorry telemetry")
            page = _titles(app, SEARCH)
            assert "Gritting routes in snow" in page and "Gritting lorry telemetry" in page
            db.engine.dispose()


def test_suggested_supplier_rankings_are_cached_until_a_profile_changes(
        app_factory, tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as server:
        app = app_factory(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=server.url)
        with app.app_context():
            officer = council_user("procurement_officer")
            challenge = open_challenge(officer)
            roads_supplier()

            def names() -> list[str]:
                page = suggestion_service.suggest_suppliers(officer, challenge.id)
                return [item.name for item in page.items]

            assert names() == ["Roadsense Analytics Ltd"]
            client = redis_client.Redis.from_url(server.url)
            assert any(b"suggestions:" in key for key in client.scan_iter("*"))
            assert names() == ["Roadsense Analytics Ltd"]
            # A new profile bumps the match revision: the next ranking includes it.
            care_supplier(description="Pothole repair scheduling with computer vision.")
            assert set(names()) == {"Roadsense Analytics Ltd", "CareLink Technologies"}
            db.engine.dispose()


def test_directory_searches_are_cached_until_a_profile_changes(app_factory, tmp_path: Path
                                                               ) -> None:
    with redis_server(tmp_path / "redis") as server:
        app = app_factory(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=server.url)
        with app.app_context():
            roads_supplier()
            page = _titles(app, "/suppliers?q=pothole")
            assert "Roadsense Analytics Ltd" in page and "CareLink Technologies" not in page
            with counting(app) as statements:
                _titles(app, "/suppliers?q=pothole")
            assert not any("count(*)" in s for s in statements), "not served from the cache"
            # A new listed profile bumps the match revision: the next search finds it.
            care_supplier(description="Pothole repair scheduling with computer vision.")
            assert "CareLink Technologies" in _titles(app, "/suppliers?q=pothole")
            db.engine.dispose()
