"""Compare two report metrics.json files, timings aside: every number and string the two
share must be equal; keys found in only one are listed (a report may gain or lose a field).

    python scripts/compare_metrics.py BEFORE/metrics.json AFTER/metrics.json

Exit 0 when every shared value is equal, 1 otherwise.
"""

from __future__ import annotations

import json
import sys

TIMING_KEYS = {"seconds"}
COMMAND_KEYS = {"command"}   # how the report was made, not what it found


def leaves(value, path=()):
    """(path, value) of every leaf; dicts by key, lists by position."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in TIMING_KEYS | COMMAND_KEYS:
                yield from leaves(item, path + (str(key),))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, path + (str(i),))
    else:
        yield path, value


def compare(before: dict, after: dict) -> tuple[list[str], list[str], list[str]]:
    """(differences, paths only before, paths only after)."""
    old, new = dict(leaves(before)), dict(leaves(after))
    differences = [f"{'/'.join(p)}: {old[p]!r} -> {new[p]!r}" for p in old if p in new and old[p] != new[p]]
    return differences, sorted("/".join(p) for p in old.keys() - new.keys()), \
        sorted("/".join(p) for p in new.keys() - old.keys())


def main(argv: list[str]) -> int:
    before, after = (json.loads(open(path).read()) for path in argv[1:3])
    differences, removed, added = compare(before, after)
    for title, lines in (("differ", differences), ("only before", removed), ("only after", added)):
        print(f"{len(lines)} value(s) {title}")
        for line in lines[:40]:
            print("  " + line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
