"""The JSON API, ``/api/v1``: the same use cases and access rules as the pages, for machines.

Endpoint modules register their routes on ``bp`` and describe them in ``PATHS`` for the
OpenAPI document (see ``marketplace.api.openapi``).
"""

from __future__ import annotations

from flask import Blueprint, Response

from marketplace.api.core import ApiError, finish, rate_limit, rate_limit_key
from marketplace.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Tokens, not cookies, authenticate API calls (cookies are ignored under /api/), so a forged
# cross-site request carries no credentials: CSRF tokens are not needed here.
csrf.exempt(bp)
limiter.limit(rate_limit, key_func=rate_limit_key)(bp)


@bp.errorhandler(ApiError)
def _api_error(err: ApiError) -> Response:
    return err.response()


@bp.after_request
def _after(response: Response) -> Response:
    return finish(response)


from marketplace.api import bids, challenges, matches, meta, suppliers  # noqa: E402,F401
