"""The transaction boundary of a use case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session

from marketplace.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Commit everything done inside the block, or roll all of it back on any error."""
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a use case in one transaction."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return fn(*args, **kwargs)

    return wrapper
