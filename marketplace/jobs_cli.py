"""``flask --app marketplace worker``: the RQ worker and the periodic schedule."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import click
from flask import Flask

from marketplace import jobs

log = logging.getLogger(__name__)

CRON_LEADER_KEY = "marketplace:cron-leader"


def make_worker_class() -> type:
    """An RQ ``Worker`` whose work-horse heartbeat lapses after ``JOBS_HEARTBEAT_GRACE``
    seconds (RQ's default is a fixed 60): a job whose worker was killed is retried that soon
    after, by the next worker's maintenance run."""
    from rq import Worker

    class MarketplaceWorker(Worker):
        heartbeat_grace = 60
        # Set by SIGINT/SIGTERM: RQ's own shutdown markers are not kept on every path (an
        # idle worker's stop), and the command must not take a stop for a crash.
        stop_signalled = False

        def request_stop(self, signum: Any, frame: Any) -> None:
            self.stop_signalled = True
            super().request_stop(signum, frame)

        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            if job.timeout and job.timeout > 0:
                remaining = job.timeout - working_time
                return int(min(remaining, self.job_monitoring_interval)) + self.heartbeat_grace
            return int(self.job_monitoring_interval) + self.heartbeat_grace

    return MarketplaceWorker


def _cron_scheduler(app: Flask, connection: Any) -> Any:
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection, name=f"marketplace-{id(app)}")
    timeout = int(app.config["JOBS_TIMEOUT"])
    for periodic in jobs.SCHEDULE:
        scheduler.register(jobs.run_job, jobs.QUEUE_NAME, args=(periodic.name, {}),
                           interval=periodic.interval, cron=periodic.cron,
                           job_timeout=timeout, name=periodic.name)
    return scheduler


def run_cron(app: Flask, connection: Any, stop: threading.Event) -> None:
    """Enqueue the periodic jobs when due. With several workers, only the one holding the
    leader key (renewed every loop, lapsing 90 s after its holder stops) enqueues."""
    from redis.exceptions import RedisError

    scheduler = _cron_scheduler(app, connection)
    me = scheduler.name
    while not stop.is_set():
        try:
            leader = connection.set(CRON_LEADER_KEY, me, nx=True, ex=90) or (
                connection.get(CRON_LEADER_KEY) in (me, me.encode()))
            if leader:
                connection.expire(CRON_LEADER_KEY, 90)
                for cron_job in scheduler.enqueue_jobs():
                    log.info("periodic job enqueued", extra={"job": cron_job.name})
            wait = scheduler.calculate_sleep_interval() if leader else 30.0
        except RedisError as exc:
            log.warning("periodic schedule cannot reach redis: %s", exc)
            wait = 5.0
        stop.wait(max(0.5, min(wait, 30.0)))
    try:  # hand the schedule over to another worker straight away
        if connection.get(CRON_LEADER_KEY) in (me, me.encode()):
            connection.delete(CRON_LEADER_KEY)
    except RedisError:
        pass


def register(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True,
                  help="Run the queued jobs, then exit (no periodic schedule).")
    @click.option("--no-cron", is_flag=True,
                  help="Do not enqueue the periodic jobs (another worker does).")
    def worker(burst: bool, no_cron: bool) -> None:
        """Run background jobs from Redis (RQ) and enqueue the periodic ones."""
        from redis import Redis
        from redis.exceptions import RedisError

        url = jobs.redis_url(app)
        if not url:
            raise click.ClickException(
                "REDIS_URL is not set: the worker takes its jobs from Redis. Without "
                "REDIS_URL (the embedded default) jobs run inside the web process and "
                "no worker is needed.")
        connection = Redis.from_url(url)
        try:
            connection.ping()
        except RedisError as exc:
            raise click.ClickException(f"cannot reach Redis at REDIS_URL: {exc}") from exc

        from marketplace.services import matching

        # Build the match index before forking work horses: each job inherits it.
        matching.preload(app)

        worker_class = make_worker_class()
        worker_class.heartbeat_grace = int(app.config["JOBS_HEARTBEAT_GRACE"])
        stop = threading.Event()
        cron: threading.Thread | None = None
        if not burst and not no_cron:
            cron = threading.Thread(target=run_cron, args=(app, Redis.from_url(url), stop),
                                    name="marketplace-cron", daemon=True)
            cron.start()
        level = str(app.config.get("LOG_LEVEL", "INFO"))
        try:
            while True:
                rq_worker = worker_class(
                    [jobs.QUEUE_NAME], connection=connection,
                    job_monitoring_interval=int(app.config["JOBS_MONITORING_INTERVAL"]),
                    maintenance_interval=int(app.config["JOBS_MAINTENANCE_INTERVAL"]))
                rq_worker.work(burst=burst, with_scheduler=True, logging_level=level)
                if burst or rq_worker.stop_signalled or (
                        rq_worker._shutdown_requested_date is not None):
                    break
                # The work loop gave up (say Redis went away): start again shortly.
                log.warning("worker stopped unexpectedly; restarting in 5 seconds")
                time.sleep(5)
        finally:
            stop.set()
            if cron is not None:
                cron.join(timeout=5)
