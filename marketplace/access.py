"""Route access rules. Every view declares one; a test fails for any route that does not.

The rule is the coarse first line of defence; the service layer repeats role checks and
adds the object-level ones (your own organisation, your own bid...).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "access_rule"


def _mark(view: Callable[..., Any], rule: str) -> None:
    setattr(view, ACCESS_ATTR, rule)


def public(view: F) -> F:
    """Anyone, signed in or not."""
    _mark(view, "public")
    return view


def _sign_in_redirect():
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def signed_in(view: F) -> F:
    """Any signed-in person."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _sign_in_redirect()
        return view(*args, **kwargs)

    _mark(wrapper, "signed_in")
    return wrapper  # type: ignore[return-value]


def roles(*allowed: str, kind: str | None = None) -> Callable[[F], F]:
    """Signed-in members of an organisation (of ``kind`` if given) holding any of ``allowed``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _sign_in_redirect()
            org = current_user.organisation
            if org is None or (kind and org.kind != kind):
                abort(403)
            if allowed and not current_user.has_role(*allowed):
                abort(403)
            return view(*args, **kwargs)

        label = ",".join(str(a) for a in allowed) or "member"
        _mark(wrapper, f"roles:{kind or 'any'}:{label}")
        return wrapper  # type: ignore[return-value]

    return decorate


def member(view: F) -> F:
    """Any signed-in member of an organisation, whatever their roles."""
    return roles()(view)


def platform_admin(view: F) -> F:
    """Platform admins only."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _sign_in_redirect()
        if not current_user.is_platform_admin:
            abort(403)
        return view(*args, **kwargs)

    _mark(wrapper, "platform_admin")
    return wrapper  # type: ignore[return-value]


def rule_of(view: Callable[..., Any]) -> str | None:
    """The declared rule of a view function, if any."""
    return getattr(view, ACCESS_ATTR, None)
