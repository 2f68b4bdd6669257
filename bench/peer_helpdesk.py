"""Side by side with django-helpdesk 2.6.1: floors, a case page against a ticket page, lists.

    .venv/bin/python bench/peer_helpdesk.py            # builds the peer venv on first use

The peer is a minimal Django project (bench/peer/helpdesk_site/: the helpdesk's apps, DEBUG
off, PostgreSQL) in a venv of its own outside this repository (PEER_VENV, default
/work/peer/helpdesk-venv), made with `python -m venv` and `pip install django-helpdesk==2.6.1`.
Each system runs in its own process (bench/peer/serve.py) on its own database, both dropped
or flushed and seeded first (names must contain "bench"):

- ours: DATABASE_URL, default advocacy_bench_peer: the search benchmark's cases (--cases) and
  one case per --entries size (timeline benchmark's builder);
- helpdesk: PEER_DATABASE_URL, default advocacy_bench_helpdesk: as many tickets in one queue,
  one ticket per --entries size with that many follow-ups.

Both are signed in (ours: an editor; the helpdesk: a staff user, which its pages need) and
serve in-process (Django's test client). Requests are interleaved, one system then the
other, page by page, round by round, so noise hits both alike; figures are medians and each
system's pages are divided by its own floor (a one-line page behind the sign-in).
Our case page is measured twice: seen again (cached) and with the cache emptied first (the
first view after a change). The helpdesk's list is its page plus the JSON its table loads
(50 rows), as a browser needs both.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = Path(os.environ.get("PEER_VENV", "/work/peer/helpdesk-venv"))
HELPDESK = "django-helpdesk==2.6.1"
SERVE = ROOT / "bench" / "peer" / "serve.py"


def build_peer() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"Creating {PEER_VENV} and installing {HELPDESK} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)  # noqa: S603
    check = subprocess.run(  # noqa: S603
        [str(python), "-c", "import importlib.metadata as m; print(m.version('django-helpdesk'))"],
        capture_output=True,
        text=True,
    )
    if check.stdout.strip() != HELPDESK.split("==")[1]:
        subprocess.run(  # noqa: S603
            [str(python), "-m", "pip", "install", "-q", HELPDESK, "psycopg[binary]"], check=True
        )
    return python


class Side:
    def __init__(self, name: str, python: Path, args):
        command = [str(python), str(SERVE), name, "--cases", str(args.cases)]
        command += ["--entries", args.entries]
        print(f"Seeding {name} ...", file=sys.stderr, flush=True)
        self.proc = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        ready = json.loads(self.proc.stdout.readline())
        self.urls, self.versions = ready["urls"], ready["versions"]

    def get(self, url: str, *, clear_cache: bool = False, calls: bool = False) -> dict:
        ask = {"url": url, "clear_cache": clear_cache, "calls": calls}
        self.proc.stdin.write(json.dumps(ask) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if answer["status"] != 200:
            sys.exit(f"GET {url} answered {answer['status']}")
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases / tickets")
    parser.add_argument("--entries", default="10,100,1000", help="timeline entries / follow-ups")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--idle-floor",
        action="store_true",
        help="time the floor as the round comes to it (a reader back after minutes)",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.entries.split(",")]

    ours = Side("ours", ROOT / ".venv" / "bin" / "python", args)
    peer = Side("helpdesk", build_peer(), args)
    # (label, our request, peer requests): the peer's list is two requests, summed.
    pairs = [
        ("floor", [("floor", False)], ["floor"]),
        ("list", [("list", False)], ["list", "list rows"]),
    ]
    for n in sizes:
        # The first view fills the cache that the next request, seen again, reads.
        pairs.append((f"page {n} first view", [(f"page {n}", True)], [f"page {n}"]))
        pairs.append((f"page {n} seen again", [(f"page {n}", False)], [f"page {n}"]))
    samples = {label: ([], []) for label, _, _ in pairs}
    queries = {}
    for round_ in range(args.warmup + args.repeats):
        for label, our_asks, peer_asks in pairs:
            if label == "floor" and not args.idle_floor:
                # A round can take minutes (the helpdesk's long tickets): the floor is that of a
                # reader active within the last minute, as someone working through cases is.
                # With --idle-floor it is that of a reader back after the round's pause.
                ours.get(ours.urls["floor"])
                peer.get(peer.urls["floor"])
            a = [ours.get(ours.urls[u], clear_cache=c) for u, c in our_asks]
            b = [peer.get(peer.urls[u]) for u in peer_asks]
            if round_ >= args.warmup:
                samples[label][0].append(sum(x["ms"] for x in a))
                samples[label][1].append(sum(x["ms"] for x in b))
                queries[label] = (sum(x["queries"] for x in a), sum(x["queries"] for x in b))
    if not args.idle_floor:
        ours.get(ours.urls["floor"])
        peer.get(peer.urls["floor"])
    calls = (
        ours.get(ours.urls["floor"], calls=True)["calls"],
        peer.get(peer.urls["floor"], calls=True)["calls"],
    )
    ours.close()
    peer.close()

    med = {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in samples.items()}
    floor_ours, floor_peer = med["floor"]
    print(
        f"Ours: Django {ours.versions['django']}; peer: django-helpdesk "
        f"{peer.versions.get('django-helpdesk')}, Django {peer.versions['django']}; Python "
        f"{ours.versions['python']}. {args.cases:,} cases / tickets; medians of "
        f"{args.repeats} interleaved rounds after {args.warmup} warm-up rounds.\n"
    )
    print(
        "| page | ours ms | ours queries | ours x our floor | helpdesk ms | helpdesk queries "
        "| helpdesk x its floor | ours / helpdesk |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| floor, Python function calls | {calls[0]:,} | | | {calls[1]:,} | | | "
        f"{calls[0] / calls[1]:.2f} |"
    )
    for label, (a, b) in med.items():
        qa, qb = queries[label]
        print(
            f"| {label} | {a:.1f} | {qa} | {a / floor_ours:.1f}x | {b:.1f} | {qb} | "
            f"{b / floor_peer:.1f}x | {a / b:.2f} |"
        )


if __name__ == "__main__":
    main()
