"""Blueprints by audience or domain. Views stay thin: forms in, service calls, templates out.

A service's NotFound and PermissionDenied are not caught in views: the app turns them into the
404 and 403 pages (see marketplace.errors). Views only map the errors a person can fix.
"""

from __future__ import annotations

from flask import flash

from marketplace.services.errors import NotFound, PermissionDenied, ServiceError


def flash_error(error: ServiceError) -> None:
    """Show a service error as a flashed message; not-found and forbidden still become 404/403."""
    if isinstance(error, NotFound | PermissionDenied):
        raise error
    flash(error.message, "error")
