"""Open data: OCDS 1.1 release packages of every published challenge.

- ``/challenges/<id>/ocds.json``: every release of one published challenge;
- ``/ocds/releases.json?page=N&per_page=M&since=ISO``: the releases of all published
  challenges, newest first, 100 a page (``links`` in the package and a ``Link`` header).

Both are public, cacheable for 5 minutes and answer conditional GETs (``ETag``); errors are
problem+json.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, request

from marketplace import access
from marketplace.errors import problem
from marketplace.extensions import db
from marketplace.models import Challenge, utcnow
from marketplace.services import ocds
from marketplace.services.email import absolute_url

bp = Blueprint("opendata", __name__)
log = logging.getLogger(__name__)

CACHE_CONTROL = "public, max-age=300"
MAX_PAGE = 100_000


def _json(package: dict[str, Any], link: str | None = None) -> Response:
    body = json.dumps(package, ensure_ascii=False, separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = CACHE_CONTROL
    if link:
        response.headers["Link"] = link
    response.add_etag()
    return response.make_conditional(request)


def _misconfigured(err: ocds.OcdsConfigError) -> Response:
    log.error("OCDS open data misconfigured: %s", err)
    return problem(500, "Open data is not configured correctly on this service. The team "
                        "has been told.")


@bp.get("/challenges/<int:challenge_id>/ocds.json")
@access.public
def challenge_package(challenge_id: int) -> Response:
    now = utcnow()
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or challenge.published_at is None or challenge.published_at > now:
        return problem(404, f"There is no published challenge {challenge_id}.")
    try:
        return _json(ocds.challenge_package(challenge, now))
    except ocds.OcdsConfigError as err:
        return _misconfigured(err)


def _whole(name: str, default: int, lowest: int, highest: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number from {lowest} to {highest}, "
                         f"not {raw[:40]!r}") from None
    if not lowest <= value <= highest:
        raise ValueError(f"{name} must be a whole number from {lowest} to {highest}")
    return value


@bp.get("/ocds/releases.json")
@access.public
def releases() -> Response:
    raw_since = request.args.get("since")
    try:
        page = _whole("page", 1, 1, MAX_PAGE)
        per_page = _whole("per_page", ocds.PAGE_SIZE, 1, ocds.PAGE_SIZE)
        since = ocds.parse_since(raw_since) if raw_since is not None else None
    except ValueError as err:
        return problem(400, str(err), title="Invalid query parameters")
    try:
        found = ocds.release_page(utcnow(), page=page, per_page=per_page, since=since)
        if page > 1 and not found.releases:
            return problem(404, f"There is no page {page}: the releases end before it.")
        if not found.releases:
            # A release package must hold at least one release: "nothing (new)" is an empty
            # response rather than an invalid document.
            return Response(status=204)

        def url(number: int) -> str:
            args: dict[str, Any] = {"page": number}
            if per_page != ocds.PAGE_SIZE:
                args["per_page"] = per_page
            if raw_since is not None:
                args["since"] = raw_since
            return absolute_url("opendata.releases", **args)

        links: dict[str, str] = {}
        if found.has_next:
            links["next"] = url(page + 1)
        if page > 1:
            links["prev"] = url(page - 1)
        package = ocds.release_package(found.releases, url(page), links=links or None)
    except ocds.OcdsConfigError as err:
        return _misconfigured(err)
    header = ", ".join(f'<{target}>; rel="{rel}"' for rel, target in links.items())
    return _json(package, header or None)
