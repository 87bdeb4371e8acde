#!/usr/bin/env python3
"""Trims a session target's corpus to the smallest inputs that keep every outcome seen.

Usage (from the repository root, after `cargo fuzz cmin`):

    python3 fuzz/trim_corpus.py session_server_frames [30]

Replays `fuzz/corpus/<target>/` through the corpus test with `KENESH_FUZZ_TRACE=1`, which
prints what every call of a session returned (and what the replica holds at the end). An
input's outcomes are those lines with the numbers taken out. `seed-*` and `regress-*` files
are kept; of the others, the inputs are chosen greedily by how many outcomes they add (the
smaller first on a tie) until every outcome is covered or the corpus holds `max` files;
the rest are deleted, and the inputs kept are named `found-<hash prefix>`.
"""

import os
import re
import subprocess
import sys


def main() -> None:
    target = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    corpus = os.path.join(root, "fuzz", "corpus", target)
    env = dict(os.environ, KENESH_FUZZ_TRACE="1")
    out = subprocess.run(
        ["cargo", "test", "-p", "kenesh-tests", "--test", "fuzz_corpus", "--",
         f"{target}_corpus", "--exact", "--nocapture", "--test-threads", "1"],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )
    outcomes: dict[str, set[str]] = {}
    current = None
    for line in (out.stdout + out.stderr).splitlines():
        line = line.strip()
        if "/fuzz/corpus/" + target + "/" in line:
            current = os.path.basename(line.split()[-1])
            outcomes[current] = set()
        elif current is not None and ("<-" in line or "holds" in line or "device:" in line):
            outcomes[current].add(re.sub(r"\d+", "N", line))
    size = {f: os.path.getsize(os.path.join(corpus, f)) for f in outcomes}
    keep = [f for f in outcomes if f.startswith(("seed-", "regress-"))]
    covered = set().union(*(outcomes[f] for f in keep)) if keep else set()
    rest = [f for f in outcomes if f not in keep]
    while len(keep) < limit and rest:
        best = max(rest, key=lambda f: (len(outcomes[f] - covered), -size[f]))
        if not outcomes[best] - covered:
            break
        keep.append(best)
        covered |= outcomes[best]
        rest.remove(best)
    for f in rest:
        os.remove(os.path.join(corpus, f))
    for f in keep:
        if not f.startswith(("seed-", "regress-", "found-")):
            os.rename(os.path.join(corpus, f), os.path.join(corpus, "found-" + f[:12]))
    print(f"{target}: kept {len(keep)} of {len(outcomes)} files, {len(covered)} outcomes")


if __name__ == "__main__":
    main()
