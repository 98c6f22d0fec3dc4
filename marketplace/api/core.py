"""What every API endpoint shares: token authentication, access rules, JSON input, problem
responses, pagination links and conditional GETs.

The API authenticates with personal access tokens only (``Authorization: Bearer mkt_...``).
Session cookies are ignored under ``/api/``, so a page's session cannot be used by another
site to call the API, and CSRF tokens are not needed there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, current_app, g, jsonify, request, url_for
from flask_login import current_user

from marketplace.access import ACCESS_ATTR
from marketplace.errors import problem
from marketplace.extensions import client_ip
from marketplace.models import ApiToken, User
from marketplace.services.errors import NotFound

F = TypeVar("F", bound=Callable[..., Any])

API_PREFIX = "/api/"
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100
MAX_ID = 2_147_483_647  # PostgreSQL INTEGER
# What each id in a path names, for its 404. Path converters are plain ints (a bounded
# converter would make Werkzeug answer 405 for an out-of-range id on a path with several
# methods), so the access rules below check the range.
PATH_IDS = {"challenge_id": "Challenge", "question_id": "Question", "bid_id": "Bid",
            "supplier_id": "Supplier"}


class ApiError(Exception):
    """A refusal with its HTTP status, detail and (for validation) the fields at fault."""

    def __init__(self, status: int, detail: str, *,
                 errors: Sequence[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}

    def response(self) -> Response:
        extra: dict[str, Any] = {"errors": self.errors} if self.errors else {}
        resp = problem(self.status, self.detail, **extra)
        resp.headers.update(self.headers)
        return resp


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


# Authentication -------------------------------------------------------------------------------

def bearer_secret() -> str | None:
    """The token sent in the Authorization header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def load_user_from_request(_request: Any) -> User | None:
    """Flask-Login's request loader: the token's user for API calls, nobody otherwise."""
    if not is_api_request():
        return None
    secret = bearer_secret()
    if secret is None:
        if request.headers.get("Authorization"):
            g.api_token_problem = "Send the token as 'Authorization: Bearer <token>'"  # noqa: S105
        return None
    from marketplace.services.tokens import TokenRefused, authenticate

    try:
        token = authenticate(secret)
    except TokenRefused as refused:
        g.api_token_problem = refused.detail
        return None
    g.api_token = token
    return token.user


def current_token() -> ApiToken | None:
    return g.get("api_token")


def actor() -> User | None:
    """The calling person, or None for an anonymous call."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def require_actor() -> User:
    """The calling person; a 401 problem for an anonymous call."""
    user = actor()
    if user is None:
        raise unauthorised()
    return user


def unauthorised() -> ApiError:
    detail = g.get("api_token_problem") or (
        "This needs a personal access token. Make one in your account settings and send it "
        "as 'Authorization: Bearer <token>'")
    return ApiError(401, detail, headers={
        "WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'
        if g.get("api_token_problem") else 'Bearer realm="api"'})


def _check_scope() -> None:
    token = current_token()
    if request.method not in READ_METHODS and token is not None and not token.can_write:
        raise ApiError(403, "This token can only read. Make a token with write access to "
                            "change anything", headers={
                                "WWW-Authenticate": 'Bearer realm="api", '
                                                    'error="insufficient_scope"'})


def _check_path_ids(values: dict[str, Any]) -> None:
    """A 404 for an id in the path that cannot exist (0, or too big for the database), before
    any query sees it."""
    for name, value in values.items():
        if name.endswith("_id") and isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound(f"{PATH_IDS.get(name, 'Object')} not found")


# Access rules (the same vocabulary as marketplace.access; a test walks every route) -----------

def _mark(view: Callable[..., Any], rule: str) -> None:
    setattr(view, ACCESS_ATTR, rule)


def public(view: F) -> F:
    """Anyone. A token, when sent, is still checked (and a bad one refused)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        actor()  # loads the token's user, if a token was sent
        if g.get("api_token_problem"):
            raise unauthorised()
        _check_scope()
        _check_path_ids(kwargs)
        return view(*args, **kwargs)

    _mark(wrapper, "api:public")
    return wrapper  # type: ignore[return-value]


def roles(*allowed: str, kind: str | None = None) -> Callable[[F], F]:
    """Token holders in an organisation (of ``kind`` if given) holding any of ``allowed``;
    no roles means any token holder at all."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = require_actor()
            _check_scope()
            if kind is not None or allowed:
                org = user.organisation
                if org is None or (kind and org.kind != kind):
                    raise ApiError(403, "Your organisation cannot do this" if org else
                                   "You are not a member of an organisation")
                if allowed and not user.has_role(*allowed):
                    raise ApiError(403, "Your roles do not allow this")
            _check_path_ids(kwargs)
            return view(*args, **kwargs)

        if not allowed and kind is None:
            _mark(wrapper, "api:signed_in")
        else:
            label = ",".join(str(a) for a in allowed) or "member"
            _mark(wrapper, f"api:roles:{kind or 'any'}:{label}")
        return wrapper  # type: ignore[return-value]

    return decorate


def signed_in(view: F) -> F:
    """Any token holder."""
    return roles()(view)


# Rate limits ----------------------------------------------------------------------------------

def rate_limit_key() -> str:
    """Calls are counted per token (per address for anonymous calls)."""
    actor()  # the limiter runs before the view: authenticate the token now
    token = current_token()
    return f"api-token:{token.token_hash[:32]}" if token is not None else (
        f"api-ip:{client_ip()}")


def rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


# Input ------------------------------------------------------------------------------------------

def json_body() -> dict[str, Any]:
    """The request's JSON object; a 415 or 400 problem otherwise."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object")
    return data


class Fields:
    """Reads typed fields from a JSON object, collecting every problem before raising one
    422 problem that names each field at fault."""

    def __init__(self, data: dict[str, Any], allowed: Iterable[str]) -> None:
        self.data = data
        self.errors: list[dict[str, str]] = []
        allowed_set = set(allowed)
        for key in data:
            if key not in allowed_set:
                self.error(key, f"'{key}' is not a field of this request")

    def error(self, field: str, detail: str) -> None:
        self.errors.append({"field": field, "detail": detail})

    def has(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str, *, required: bool = False, max_length: int | None = None,
             nullable: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required or (name in self.data and not nullable):
                self.error(name, f"Enter {name.replace('_', ' ')}")
            return None
        if not isinstance(value, str):
            self.error(name, f"{name} must be a string")
            return None
        if required and not value.strip():
            self.error(name, f"Enter {name.replace('_', ' ')}")
        if max_length is not None and len(value) > max_length:
            self.error(name, f"{name} must be {max_length:,} characters or fewer")
        return value

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None
                ) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(name, f"{name} must be a whole number")
            return None
        if minimum is not None and value < minimum:
            self.error(name, f"{name} must be {minimum:,} or more")
            return None
        if maximum is not None and value > maximum:
            self.error(name, f"{name} must be {maximum:,} or less")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.error(name, f"{name} must be true or false")
            return None
        return value

    def strings(self, name: str, *, max_items: int = 200, max_length: int = 2000
                ) -> list[str] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(name, f"{name} must be a list of strings")
            return None
        if len(value) > max_items:
            self.error(name, f"{name} can have at most {max_items} items")
            return None
        if any(len(v) > max_length for v in value):
            self.error(name, f"Each item of {name} must be {max_length:,} characters or fewer")
            return None
        return value

    def objects(self, name: str, *, max_items: int = 50) -> list[dict[str, Any]] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(name, f"{name} must be a list of objects")
            return None
        if len(value) > max_items:
            self.error(name, f"{name} can have at most {max_items} items")
            return None
        return value

    def datetime(self, name: str) -> datetime | None:
        """An ISO 8601 date-time; one without an offset is taken as UTC."""
        value = self.data.get(name)
        if value is None:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            self.error(name, f"{name} must be an ISO 8601 date and time, "
                             "like 2027-03-01T12:00:00Z")
        return parsed

    def date(self, name: str) -> date | None:
        value = self.data.get(name)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.error(name, f"{name} must be a date like 2027-03-01")
            return None

    def done(self) -> None:
        """Raise one 422 problem naming every field at fault, if any."""
        if self.errors:
            raise ApiError(422, "; ".join(f"{e['field']}: {e['detail']}"
                                          for e in self.errors[:5]), errors=self.errors)


def parse_datetime(value: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (a bare date is its midnight UTC)."""
    text = value.strip()
    if not text or len(text) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is past the last representable day
        return None


def bad_param(name: str, detail: str) -> ApiError:
    """A 400 problem naming a query parameter and what is wrong with it."""
    return ApiError(400, f"The '{name}' parameter {detail}",
                    errors=[{"field": name, "detail": detail}])


def query_int(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer query parameter; a 400 problem when it is not one or out of range."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_param(name, "must be a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else (
            f"{minimum} or more")
        raise bad_param(name, f"must be {bound}")
    return value


# Output ---------------------------------------------------------------------------------------

def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 text; datetimes in UTC with a Z."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def number(value: Decimal | int | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass(frozen=True)
class Page:
    """One page of a list: the page number, its size and the total."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_params(max_per_page: int = PER_PAGE_MAX) -> tuple[int, int]:
    """(page, per_page) from the query string, checked."""
    return (query_int("page", 1, maximum=100_000),
            query_int("per_page", PER_PAGE_DEFAULT, maximum=max_per_page))


def _page_url(number: int, per_page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(number)]
    args["per_page"] = [str(per_page)]
    assert request.endpoint is not None
    base = url_for(request.endpoint, _external=True, **(request.view_args or {}))
    return f"{base}?{urlencode(args, doseq=True)}"


def paged(items: list[dict[str, Any]], page: Page, **extra: Any) -> Response:
    """A list response: ``items``, counts and ``links``, with the same links in a Link header."""
    links = {"self": _page_url(page.page, page.per_page),
             "first": _page_url(1, page.per_page),
             "last": _page_url(page.pages, page.per_page)}
    if page.page > 1:
        links["prev"] = _page_url(min(page.page - 1, page.pages), page.per_page)
    if page.page < page.pages:
        links["next"] = _page_url(page.page + 1, page.per_page)
    response = jsonify({"items": items, "page": page.page, "per_page": page.per_page,
                        "total": page.total, "pages": page.pages, "links": links, **extra})
    response.headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items()
                                         if rel != "self")
    return response


def created(body: dict[str, Any], location: str) -> Response:
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def finish(response: Response) -> Response:
    """After every API response: conditional GET with an ETag, and cache rules."""
    if request.method in {"GET", "HEAD"} and response.status_code == 200:
        response.add_etag()
        # Revalidate every time; responses may be personal, so never in shared caches.
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["Vary"] = "Authorization"
        response.make_conditional(request)
    return response
