"""Bids and awards against real gunicorn workers and PostgreSQL: a worker killed in the
middle of a submission, and the same submission or award sent twice at once."""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.fault.conftest import Database, Server, run_at_once, wait_for
from tests.fault.seeding import award_ready, draft_bid

WAITING_ON_LOCK = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> %s
"""


def bid_state(database: Database, bid_id: int) -> dict[str, Any]:
    """Everything a submission writes, read from the database."""
    submitted_version, submitted_at = database.rows(
        "SELECT submitted_version, submitted_at FROM bid WHERE id = %s", bid_id)[0]
    return {
        "submitted_version": submitted_version,
        "submitted_at": submitted_at,
        "versions": [n for (n,) in database.rows(
            "SELECT number FROM bid_version WHERE bid_id = %s ORDER BY number", bid_id)],
        "receipts": [r for (r,) in database.rows(
            "SELECT receipt FROM bid_version WHERE bid_id = %s ORDER BY number", bid_id)],
        "audit": database.value(
            "SELECT count(*) FROM audit_event WHERE action = 'bid.submitted' "
            "AND object_type = 'bid' AND object_id = %s", str(bid_id)),
    }


def test_worker_killed_mid_submission_leaves_no_partial_bid(
        server: Server, database: Database, seed, browser, note) -> None:  # type: ignore[no-untyped-def]
    bid = seed(draft_bid)
    person = browser(bid.bidder)
    path = f"/bids/{bid.bid_id}/submit"
    token = person.csrf(f"/bids/{bid.bid_id}")

    # Hold back the audit trail: the submission gets as far as writing its version and
    # updating the bid, then waits, inside its transaction, to write the audit event.
    blocker = database.connect()
    blocker.execute("LOCK TABLE audit_event IN SHARE MODE")
    my_pid = blocker.info.backend_pid
    outcome: list[Any] = []

    def send() -> None:
        try:
            outcome.append(person.submit(path, {}, token=token))
        except requests.RequestException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    try:
        sender.start()
        (waiting,) = wait_for(lambda: database.rows(WAITING_ON_LOCK, my_pid), 20,
                              "the submission to wait on the audit trail")[0]
        # It has already written its version row (uncommitted, invisible to anyone else).
        assert database.value(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND c.relname = 'bid_version' AND l.mode = 'RowExclusiveLock' "
            "AND l.granted", waiting) == 1
        killed = server.kill_workers()
        assert killed
        sender.join(30)
        assert not sender.is_alive()
        assert isinstance(outcome[0], requests.ConnectionError), outcome
    finally:
        blocker.rollback()
        blocker.close()
        sender.join(30)
    # The orphaned transaction never commits: its backend finds the client gone and rolls back.
    wait_for(lambda: not database.rows("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                       waiting), 20, "the orphaned backend to end")

    assert bid_state(database, bid.bid_id) == {
        "submitted_version": 0, "submitted_at": None, "versions": [], "receipts": [],
        "audit": 0}
    assert database.value("SELECT count(*) FROM outbox_email WHERE to_address = %s "
                          "AND subject ILIKE %s", bid.bidder, "%receipt%") == 0

    # gunicorn replaced the workers; the supplier's session still works and they resubmit.
    server.wait_ready(gone=killed)
    response = person.submit(path, {}, token=person.csrf(f"/bids/{bid.bid_id}"))
    assert response.status_code == 302, response.text[:1000]
    assert response.headers["Location"].endswith(f"/bids/{bid.bid_id}/receipts/1")
    state = bid_state(database, bid.bid_id)
    assert state["submitted_version"] == 1 and state["versions"] == [1]
    assert state["audit"] == 1
    assert person.get(f"/bids/{bid.bid_id}/receipts/1").status_code == 200
    note(f"workers {killed} SIGKILLed mid-transaction: bid still a draft (no version, audit "
         "event or receipt email); respawned workers took the resubmission: version 1, "
         "one audit event")


def test_same_bid_submitted_twice_at_once(server: Server, database: Database, seed,  # type: ignore[no-untyped-def]
                                          browser, note) -> None:
    bid = seed(draft_bid)
    people = [browser(bid.bidder), browser(bid.colleague)]
    path = f"/bids/{bid.bid_id}/submit"
    tokens = [p.csrf(f"/bids/{bid.bid_id}") for p in people]
    for round_ in (1, 2):
        responses = run_at_once(*[lambda p=p, t=t: p.submit(path, {}, token=t)
                                  for p, t in zip(people, tokens, strict=True)])
        # Submissions are serialised on the bid: each is its own numbered version with its
        # own receipt (a resubmission before the deadline is allowed), never a 500, never a
        # duplicate or missing number.
        assert [r.status_code for r in responses] == [302, 302], [
            (getattr(r, "status_code", r), getattr(r, "text", "")[:300]) for r in responses]
        numbers = sorted(int(r.headers["Location"].rsplit("/", 1)[1]) for r in responses)
        assert numbers == [2 * round_ - 1, 2 * round_]
        state = bid_state(database, bid.bid_id)
        assert state["versions"] == list(range(1, 2 * round_ + 1))
        assert state["submitted_version"] == 2 * round_
        assert len(set(state["receipts"])) == 2 * round_
        assert state["audit"] == 2 * round_
    note("2 rounds of 2 simultaneous submissions: all 302, versions 1-4 in order, "
         "4 distinct receipts, 4 audit events")


def test_same_award_decided_twice_at_once(server: Server, database: Database, seed,  # type: ignore[no-untyped-def]
                                          browser, note) -> None:
    ready = seed(award_ready)
    people = [browser(ready.lead), browser(ready.lead)]
    path = f"/council/challenges/{ready.challenge_id}/evaluation/award"
    winners = [ready.bid_ids[0], ready.bid_ids[1]]  # each person picks a different winner
    forms = [{"bids": [str(w)], f"value_{w}": "25000", "summary": f"Bid {w} was the best."}
             for w in winners]
    tokens = [p.csrf(path) for p in people]
    responses = run_at_once(*[
        lambda p=p, f=f, t=t: p.submit(path, f, token=t, allow_redirects=True)
        for p, f, t in zip(people, forms, tokens, strict=True)])
    assert [r.status_code for r in responses] == [200, 200], responses
    decided = ["Award decided. Every bidder has been told." in r.text for r in responses]
    refused = ["already been made" in r.text for r in responses]
    assert sorted(decided) == [False, True], "exactly one decision is taken"
    assert refused == [not d for d in decided], "the other is told the decision was made"

    winner = winners[decided.index(True)]
    assert database.rows(
        "SELECT bid_id FROM bid_assessment WHERE awarded AND bid_id = ANY(%s)",
        ready.bid_ids) == [(winner,)]
    assert database.value("SELECT count(*) FROM audit_event WHERE action = "
                          "'challenge.award_decided' AND object_id = %s",
                          str(ready.challenge_id)) == 1
    assert database.value("SELECT award_decided_at IS NOT NULL FROM challenge WHERE id = %s",
                          ready.challenge_id)
    note("2 simultaneous award decisions (different winners): one decided, the other told "
         "'already been made'; one awarded bid, one audit event")
