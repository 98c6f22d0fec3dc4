# Read by the `flask` command only (python-dotenv); gunicorn and wsgi.py ignore it.
# Real environment variables win, so production sets MARKETPLACE_ENV=production explicitly.
FLASK_APP=marketplace
MARKETPLACE_ENV=development
