"""Whole-page cache of the public pages for visitors who are not signed in.

Most traffic is anonymous browsing of the same few pages (the home page, the challenge list
and its popular searches, open challenges, the supplier directory's searches). Rendering them
costs far more than serving a stored copy, so for a visitor without a session cookie or an API
token these pages are kept in the shared cache (Redis with ``REDIS_URL``; see
:mod:`marketplace.caching`) and served from it.

What makes this safe:

- Only requests with no session cookie and no ``Authorization`` header are served or
  stored, so a page never carries anyone's details. A page is stored only when it is a plain
  200 HTML page that set no cookie and holds no CSRF token.
- The per-response CSP nonce is swapped for a placeholder when a page is stored and for the
  new response's own nonce when it is served, so the Content-Security-Policy stays strict.
- Challenge pages are keyed by :func:`marketplace.services.search.time_window`: the public
  challenge data's version (new after any commit that changes what these pages show) and the
  next moment a challenge's time-derived state changes (a deadline passing, a standstill
  ending). A page is never served past either, so "open" and "closed" stay exact. The
  directory is keyed by the suppliers' version (new after any commit that changes a profile,
  case study, certification or supplier organisation) and the UK date (certifications
  lapse). Entries also expire after ``PAGE_CACHE_SECONDS``.
- A cache that fails is skipped (the page is rendered as usual), never an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request, session

from marketplace import caching
from marketplace.models import utcnow

# The public pages kept (the same for every anonymous visitor, and read far more than written),
# and the data each shows: challenges or the supplier directory.
ENDPOINTS = {"main.index": caching.CHALLENGES, "challenges.index": caching.CHALLENGES,
             "challenges.detail": caching.CHALLENGES, "suppliers.index": caching.SUPPLIERS}
# Never a character in rendered HTML (the templates escape text, and this is a control code).
PLACEHOLDER = "\x00nonce\x00"
# Longer query strings (crafted to fill the cache) are rendered, not stored.
MAX_QUERY = 400


@dataclass(frozen=True)
class _Page:
    body: str
    mimetype: str


def _eligible() -> bool:
    if request.method != "GET" or request.endpoint not in ENDPOINTS:
        return False
    if current_app.config.get("PAGE_CACHE_SECONDS", 0) <= 0 or not caching.enabled():
        return False
    if request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):
        return False
    if "Authorization" in request.headers or len(request.query_string) > MAX_QUERY:
        return False
    from marketplace.errors import wants_json

    return not wants_json()


def _window() -> str:
    """The key part naming the data the page shows, as it is now (see the module notes)."""
    if ENDPOINTS[str(request.endpoint)] == caching.SUPPLIERS:
        from marketplace.services.suppliers import uk_today

        # Any change to a profile, case study, certification or supplier organisation starts
        # a new version; certifications lapse by the UK date.
        return f"s:{caching.version(caching.SUPPLIERS)}:{uk_today().isoformat()}"
    from marketplace.services.search import time_window

    return f"c:{time_window(utcnow())}"


def _key() -> str:
    args = sorted(request.args.items(multi=True))
    return f"page:{_window()}:{caching.digest(request.path, args)}"


def _nonce() -> str:
    return str(getattr(request, "csp_nonce", "") or "")


def _serve() -> Response | None:
    if not _eligible():
        return None
    key = _key()
    g.page_cache_key = key
    page = caching.get(key)
    if caching.missing(page) or not isinstance(page, _Page):
        return None
    g.page_cache_hit = True
    response = Response(page.body.replace(PLACEHOLDER, _nonce()), mimetype=page.mimetype)
    response.headers["X-Page-Cache"] = "hit"
    return response


def _store(response: Response) -> Response:
    key = g.pop("page_cache_key", None)
    if key is None or g.get("page_cache_hit"):
        return response
    if (response.status_code != 200 or response.mimetype != "text/html"
            or response.direct_passthrough or "Set-Cookie" in response.headers
            or session.modified):
        return response
    body = response.get_data(as_text=True)
    if 'name="csrf_token"' in body or PLACEHOLDER in body:
        return response
    nonce = _nonce()
    if nonce:
        body = body.replace(nonce, PLACEHOLDER)
    caching.put(key, _Page(body, response.mimetype),
                int(current_app.config["PAGE_CACHE_SECONDS"]))
    response.headers["X-Page-Cache"] = "miss"
    return response


def init_app(app: Flask) -> None:
    """Serve and store cached pages. Call after Talisman is set up (it makes the nonce in
    its own before-request hook, which must run first)."""
    app.before_request(_serve)
    app.after_request(_store)
