"""Redis stopped under a running gunicorn: pages and sign-in keep working, an action that
sends email succeeds, and the email goes out once Redis is back and a worker runs."""

from __future__ import annotations

import subprocess
import time

from tests.fault.conftest import ROOT, VENV_BIN, Database, Mailbox, Server, redis_up, wait_for
from tests.fault.seeding import draft_bid
from tests.redis_support import RedisServer


def test_pages_and_actions_keep_working_while_redis_is_down(
        server: Server, database: Database, redis_server: RedisServer, mailbox: Mailbox,
        seed, browser, note) -> None:  # type: ignore[no-untyped-def]
    bid = seed(draft_bid)
    redis_server.stop()
    assert not redis_up(redis_server.port)
    worker = None
    try:
        visitor = browser()
        slowest = 0.0
        for path in ("/", "/challenges", f"/challenges/{bid.challenge_id}", "/healthz"):
            began = time.monotonic()
            response = visitor.get(path)
            assert response.status_code == 200, (path, response.status_code)
            slowest = max(slowest, time.monotonic() - began)
        assert slowest < 2, f"a page took {slowest:.2f}s with Redis down"

        # Signing in goes through the rate limits (kept in process memory while Redis is
        # down), then the bid is submitted: its receipt email is written to the outbox.
        began = time.monotonic()
        person = browser(bid.bidder)
        sign_in_seconds = time.monotonic() - began
        assert sign_in_seconds < 3
        response = person.submit(f"/bids/{bid.bid_id}/submit", {},
                                 token=person.csrf(f"/bids/{bid.bid_id}"))
        assert response.status_code == 302, response.text[:1000]
        assert person.get(response.headers["Location"]).status_code == 200
        queued = database.rows("SELECT id, sent_at FROM outbox_email WHERE to_address = %s",
                               bid.bidder)
        assert len(queued) == 1 and queued[0][1] is None
        time.sleep(1)
        assert mailbox.to(bid.bidder) == [], "nothing can send it while Redis is down"

        # Redis is back: a worker's periodic sweep of the outbox delivers it.
        redis_server.start()
        worker = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "marketplace", "worker"],
                                  cwd=ROOT, env=server.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        back = time.monotonic()
        (message,) = wait_for(lambda: mailbox.to(bid.bidder), 90, "the receipt email", 0.2)
        note(f"Redis down: 4 public pages 200 in at most {slowest:.2f}s, sign-in "
             f"{sign_in_seconds:.2f}s, bid submitted (email kept in the outbox); Redis back: "
             f"a worker delivered it {time.monotonic() - back:.1f}s later")
        assert "Bid received" in message
        assert database.value("SELECT sent_at IS NOT NULL FROM outbox_email WHERE id = %s",
                              queued[0][0])
        assert visitor.get("/challenges").status_code == 200
    finally:
        if redis_server.process is None:
            redis_server.start()
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
