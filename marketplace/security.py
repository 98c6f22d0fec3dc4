"""Password hashing and policy, signed tokens and safe redirects."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from zxcvbn import zxcvbn

# Hash of a random password, verified when an account does not exist so that a failed sign-in
# takes the same time whether or not the email address is registered.
_DUMMY_PASSWORD = secrets.token_urlsafe(16)
_DUMMY_HASHES: dict[tuple[int, int], str] = {}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in constant-ish time; unknown accounts still pay for one hash."""
    hasher = _hasher()
    if not password_hash:
        key = (hasher.time_cost, hasher.memory_cost)
        if key not in _DUMMY_HASHES:
            _DUMMY_HASHES[key] = hasher.hash(_DUMMY_PASSWORD)
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASHES[key], password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when a stored hash used weaker parameters than the current configuration."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _mostly_personal(password: str, user_inputs: list[str]) -> bool:
    """True when a password is little more than the person's name or email address.

    zxcvbn alone accepts "first.last" or "Last-First-1" for someone called First Last: it
    rates a sequence of three parts as strong even when each part is their own name.
    """
    words = {w for value in user_inputs for w in re.split(r"[\W_]+", value.lower())
             if len(w) >= 3}
    rest, found = password.lower(), False
    for word in sorted(words, key=len, reverse=True):
        if word in rest:
            found, rest = True, rest.replace(word, " ")
    # What is left once the personal words are gone, counting letters only.
    return found and len(re.sub(r"[\W\d_]+", "", rest)) < 6


def password_problem(password: str, user_inputs: list[str] | None = None) -> str | None:
    """Explain why a password is not acceptable, or return None when it is."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_length:
        return f"Password must be {min_length} characters or more"
    if len(password) > 256:
        return "Password must be 256 characters or fewer"
    inputs = [i for i in (user_inputs or []) if i]
    if _mostly_personal(password, inputs):
        return "Password must not be based on your name or email address"
    for value in list(inputs):
        if "@" in value:
            inputs.extend(part for part in value.replace("@", ".").split(".") if len(part) > 2)
    result: dict[str, Any] = zxcvbn(password[:100], user_inputs=inputs)
    if result["score"] < 3:
        warning = (result.get("feedback") or {}).get("warning") or ""
        detail = f" ({warning.rstrip('.')})" if warning else ""
        return (
            "Password is too easy to guess" + detail + ". Use 3 or more unrelated words, "
            "or a password from a password manager"
        )
    return None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"marketplace.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    """A signed, timestamped token for an emailed link."""
    return _serializer(purpose).dumps(payload)


class TokenInvalid(Exception):
    """The token was tampered with, is for another purpose, or has expired."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """Return a token's payload or raise TokenInvalid."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenInvalid(expired=True) from exc
    except BadSignature as exc:
        raise TokenInvalid(expired=False) from exc
    if not isinstance(data, dict):
        raise TokenInvalid(expired=False)
    return data


def random_token() -> str:
    """A random URL-safe secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """SHA-256 hex digest used to store tokens without storing the tokens themselves."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_safe_redirect(target: str | None) -> bool:
    """True only for a path on this site (no scheme, host, backslash or control characters)."""
    if not target or len(target) > 2000:
        return False
    if any(ord(ch) < 0x21 or ch == "\\" or ord(ch) == 0x7F for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    """The target when it is safe, otherwise the default."""
    return target if is_safe_redirect(target) else default
