"""Flask extension instances, initialised by the app factory."""

from __future__ import annotations

from flask import request
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from marketplace.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
talisman = Talisman()
# Shared cache of public data (see marketplace.caching; configured by the CACHE_* settings).
cache = Cache()


def client_ip() -> str:
    """The client address as seen after any trusted proxy (ProxyFix sets remote_addr)."""
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=client_ip, default_limits=[])
