"""Crash test: kill -9 an ingest at random moments; nothing acknowledged may be lost.

Each trial starts a child process that adds documents in batches and prints the
number of documents acknowledged after each ``add`` returns. The parent kills it
with SIGKILL at a random moment, then reopens the database and checks that it
opens, that every acknowledged document is there, and that ``verify`` is clean.
The model is semkit's instant hashing model with 384 dimensions: the test is
about storage, not meaning. Half the trials use an HNSW index, so index files are
being written when the kill lands.

    python bench/crash.py [--docs 20000] [--trials 10]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

CHILD = textwrap.dedent("""
    import sys
    import semkit
    path, n, kind, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    db = semkit.open(path)
    coll = db.collection("crash", model="hashing:384", index=kind)
    words = "alpha beta gamma delta omega sigma kappa theta zeta rho".split()
    for start in range(0, n, batch):
        ids = [f"doc{i}" for i in range(start, min(n, start + batch))]
        texts = [f"{words[i % 10]} {words[(i * 7) % 10]} document number {i}"
                 for i in range(start, min(n, start + batch))]
        coll.add(texts, ids=ids, metadatas=[{"i": i} for i in range(start, start + len(ids))])
        print(start + len(ids), flush=True)
    db.close()
    print("done", flush=True)
""")


def trial(
    directory: Path, n_docs: int, kill_at_doc: int, kind: str, batch: int = 200, jitter: float = 0.0
) -> dict[str, object]:
    """One kill -9 trial; returns what was acknowledged and what the reopened database holds.

    The child is killed ``jitter`` seconds after it has acknowledged ``kill_at_doc``
    documents, so the kill lands inside the ingest (often inside a commit or an
    index-file write), not after it.
    """
    import semkit

    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(n_docs), kind, str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged = 0
    finished = False
    reached = threading.Event()

    def read() -> None:
        nonlocal acknowledged, finished
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "done":
                finished = True
            elif line.strip().isdigit():
                acknowledged = int(line)
                if acknowledged >= kill_at_doc:
                    reached.set()
        reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reached.wait(timeout=600)
    time.sleep(jitter)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(timeout=10)
    errors = proc.stderr.read() if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    if not killed and not finished:
        raise RuntimeError(f"the ingest failed on its own: {errors}")
    with semkit.open(directory) as db:
        coll = db.collection("crash")
        present = {d.id for d in coll.get()}
        missing = [f"doc{i}" for i in range(acknowledged) if f"doc{i}" not in present]
        problems = db.verify()
        searchable = len(coll.search("alpha document", k=5)) == min(5, len(present))
    return {
        "killed": killed,
        "acknowledged": acknowledged,
        "present": len(present),
        "lost": len(missing),
        "problems": [p for ps in problems.values() for p in ps],
        "searchable": searchable,
    }


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from common import report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = []
    for i in range(args.trials):
        kind = "hnsw" if i % 2 else "exact"
        kill_at, jitter = rng.randrange(200, args.docs - 200), rng.uniform(0.0, 0.2)
        with tempfile.TemporaryDirectory() as tmp:
            r = trial(Path(tmp) / "db", args.docs, kill_at, kind, jitter=jitter)
        rows.append(
            [
                i + 1,
                kind,
                kill_at,
                f"{jitter:.3f}",
                r["killed"],
                r["acknowledged"],
                r["present"],
                r["lost"],
                "clean" if not r["problems"] else "; ".join(map(str, r["problems"])),
                r["searchable"],
            ]
        )
        print(rows[-1], flush=True)
    ok = all(r[7] == 0 and r[8] == "clean" and r[9] and r[4] for r in rows)
    report(
        "crash",
        f"Crash test: kill -9 during ingest of {args.docs:,} documents",
        [
            "trial",
            "index",
            "kill after doc",
            "+ delay (s)",
            "killed",
            "acknowledged",
            "present",
            "lost",
            "verify",
            "searchable",
        ],
        rows,
        notes=[
            "Each kill lands a random 0-0.2 s after the child acknowledged a random "
            "number of documents, i.e. inside the ingest.",
            f"Result: {'no acknowledged document lost, every database opened clean' if ok else 'FAILURES above'}.",
        ],
    )


if __name__ == "__main__":
    main()
