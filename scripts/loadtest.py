"""Run headless Locust (loadtest/locustfile.py) against a running server, print throughput and
p50/p95/p99 per endpoint with the error count, check the targets and exit 1 when one is missed.

    .venv/bin/python scripts/loadtest.py [--host URL] [--users N] [--spawn-rate R]
                                         [--run-time 85s]

Targets (the issue's, for this 2-core machine): at least 200 requests/s sustained on the mixed
workload, p95 under 300 ms overall, the public challenge list and search p95 under 150 ms,
and no errors.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_RPS = 200.0
MAX_P95_MS = 300.0
MAX_PUBLIC_P95_MS = 150.0
PUBLIC_LIST_AND_SEARCH = ("/challenges", "/challenges?q=", "/challenges?filters")


def _num(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def warm_up(host: str, rounds: int = 8) -> None:
    """A few requests to each public page type first: every worker builds its per-process
    caches (search vocabularies) on first use, which is start-up cost, not load."""
    import urllib.request

    for _ in range(rounds):
        for path in ("/", "/challenges", "/challenges?q=pothole", "/challenges?status=open",
                     "/suppliers?q=care", "/challenges/1"):
            try:
                with urllib.request.urlopen(host + path, timeout=60) as response:  # noqa: S310
                    response.read()
            except OSError:
                pass


def run_locust(args: argparse.Namespace, prefix: Path) -> int:
    command = [
        str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"),
        "--headless", "--host", args.host, "-u", str(args.users), "-r", str(args.spawn_rate),
        "--run-time", args.run_time, "--csv", str(prefix), "--only-summary",
        "--stop-timeout", "10", "--loglevel", "WARNING", "--reset-stats", *args.classes,
    ]
    print("$ " + " ".join(command), flush=True)
    # Locust's own summary goes to its log; the report below is the one to read.
    with open(f"{prefix}_locust.log", "w") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    if code not in (0, 1):  # 1: some requests failed, which the report shows
        print(Path(f"{prefix}_locust.log").read_text()[-3000:], file=sys.stderr)
    return code


def report(prefix: Path) -> bool:
    """Print the table and one PASS/FAIL line per target; True when all pass."""
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    endpoints = sorted((r for r in rows if r["Name"] != "Aggregated"),
                       key=lambda r: -_num(r["Request Count"]))
    header = (f"{'endpoint':<48} {'requests':>9} {'req/s':>7} {'p50':>6} {'p95':>6} "
              f"{'p99':>6} {'max':>7} {'errors':>7}")
    print("\n" + header + "\n" + "-" * len(header))
    for row in [*endpoints, total]:
        name = f"{row['Type']} {row['Name']}".strip() if row is not total else "ALL"
        print(f"{name[:48]:<48} {int(_num(row['Request Count'])):>9,} "
              f"{_num(row['Requests/s']):>7.1f} {_num(row['50%']):>6.0f} "
              f"{_num(row['95%']):>6.0f} {_num(row['99%']):>6.0f} "
              f"{_num(row['Max Response Time']):>7.0f} {int(_num(row['Failure Count'])):>7,}")
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with open(failures_file, newline="") as handle:
            failures = list(csv.DictReader(handle))
        if failures:
            print("\nErrors:")
            for f in failures[:15]:
                print(f"  {f['Occurrences']:>6} x {f['Method']} {f['Name']}: {f['Error'][:150]}")
    errors = int(_num(total["Failure Count"]))
    public = [r for r in endpoints if r["Name"] in PUBLIC_LIST_AND_SEARCH]
    public_p95 = max((_num(r["95%"]) for r in public), default=0.0)
    checks = [
        (f"throughput >= {MIN_RPS:.0f} req/s", _num(total["Requests/s"]) >= MIN_RPS,
         f"{_num(total['Requests/s']):.1f} req/s"),
        (f"p95 < {MAX_P95_MS:.0f} ms (all requests)", _num(total["95%"]) < MAX_P95_MS,
         f"{_num(total['95%']):.0f} ms"),
        (f"public list/search p95 < {MAX_PUBLIC_P95_MS:.0f} ms",
         bool(public) and public_p95 < MAX_PUBLIC_P95_MS, f"worst {public_p95:.0f} ms"),
        ("no errors", errors == 0, f"{errors} errors"),
    ]
    print()
    for label, ok, measured in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label:<40} ({measured})")
    return all(ok for _label, ok, _measured in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="http://127.0.0.1:8000")
    parser.add_argument("--users", type=int, default=110)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--run-time", default="85s")
    parser.add_argument("--csv", default=None, help="CSV prefix to keep (default: temporary)")
    parser.add_argument("classes", nargs="*", help="Only these visitor classes, e.g. "
                        "PublicVisitor (default: all three, weighted 70/20/10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        prefix = Path(args.csv) if args.csv else Path(tmp) / "locust"
        warm_up(args.host)
        code = run_locust(args, prefix)
        if not Path(f"{prefix}_stats.csv").exists():
            print(f"Locust produced no statistics (exit code {code})", file=sys.stderr)
            return 2
        ok = report(prefix)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
