"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``."""

import os

from marketplace import create_app

app = create_app()

if os.environ.get("MATCH_INDEX_PRELOAD", "1") != "0":
    # gunicorn preloads this module, then forks: every worker starts with the match index.
    from marketplace.services.matching import preload

    preload(app)
