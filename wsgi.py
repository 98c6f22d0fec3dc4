"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``."""

import gc
import os

from marketplace import create_app

app = create_app()

if os.environ.get("MATCH_INDEX_PRELOAD", "1") != "0":
    # gunicorn preloads this module, then forks: every worker starts with the match index.
    from marketplace.services.matching import preload

    preload(app)

if os.environ.get("SEARCH_VOCABULARY_PRELOAD", "1") != "0":
    # The same for the spelling vocabularies of the challenge search and the supplier
    # directory: a worker that built them on its first search would hold up its requests.
    from marketplace.services.search import preload_vocabularies

    preload_vocabularies(app)

# Compile every template once here too: each forked worker would otherwise compile the ones it
# uses on its first requests.
for _name in app.jinja_env.list_templates(extensions=("html", "txt", "xml")):
    app.jinja_env.get_template(_name)

# Everything built so far (the app, the match index, the vocabularies) lives as long as the
# process: move it out of the garbage collector's sight. A full collection would otherwise walk
# millions of index objects (a pause of a second or more under load), and touching them would
# copy the pages the forked workers share with this process.
gc.collect()
gc.freeze()
