"""`pluralist data check` on a large Parquet file: wall time and peak memory (issue 23).

    python bench/read.py [--rows 10000000] [--small 1000000] [--rounds 3] [--file PATH] [--dir DIR]

Generates (once; kept where --file or --dir says, reused when present) a Parquet file of
synthetic comparisons with numpy and Arrow: `--rows` rows over one distinct response
text per 10 rows (100-500 characters of random words each; prompts 30-200), 10 responses per prompt, one
rater per 100 rows, four groups and no group, 5% ties and 1% repeated judgements
(half of them reversed, so there are contradictions). Then runs `pluralist data
check --json` on it as a subprocess and reads wall time and the child's peak RSS
(getrusage). On a `--small` file it also times the row-by-row reader (check_summary
over read_comparisons, the path before issue 23) beside the columnar one, and checks
both give the same summary. Also records each run's CPU seconds (user + kernel) and the load average before it:
on a shared machine the wall time grows with the other processes, the CPU time
much less. Writes bench/results/read.json. Target: 10M rows in <= 60 s, <= 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "read.json"
ROW_GROUP = 1 << 20
LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def corpus(size: int, rng, words: int = 5000) -> np.ndarray:
    """(size,) uint8: random words of 2-9 letters from a `words`-word vocabulary, spaced,
    so that texts compress in Parquet about as prose does rather than not at all."""
    lengths = rng.integers(2, 10, words) + 1                       # with the space after
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    vocabulary = LETTERS[rng.integers(0, len(LETTERS), int(lengths.sum()), dtype=np.uint8)]
    vocabulary[starts + lengths - 1] = ord(" ")
    picked = rng.integers(0, words, size // 4 + 16)
    picked = picked[np.cumsum(lengths[picked]) <= size + 16]
    ends = np.cumsum(lengths[picked])
    within = np.arange(int(ends[-1])) - np.repeat(ends - lengths[picked], lengths[picked])
    return vocabulary[np.repeat(starts[picked], lengths[picked]) + within][:size]


def random_texts(count: int, rng, shortest: int = 100, longest: int = 500):
    """`count` texts of `shortest`-`longest` characters cut from one random corpus (distinct
    with overwhelming odds: a start among ~100M positions and a length)."""
    import pyarrow as pa

    lengths = rng.integers(shortest, longest + 1, count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    text = corpus(min(int(offsets[-1]), 100_000_000) + longest, rng)
    starts = rng.integers(0, len(text) - longest, count)
    within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], lengths)
    data = text[np.repeat(starts, lengths) + within]
    data[offsets[:-1]] = ord("T")   # no text starts with a space
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write `rows` synthetic comparisons to `path` by row groups (bounded memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    responses, raters = max(rows // 10, 20), max(rows // 100, 2)
    prompts_count = responses // 10
    texts = random_texts(responses, rng)
    prompts = random_texts(prompts_count, rng, 30, 200)
    groups = pa.array(["", "north", "south", "east", "west"])
    schema = pa.schema([("prompt", pa.large_string()), ("chosen", pa.large_string()),
                        ("rejected", pa.large_string()), ("rater", pa.string()),
                        ("group", pa.string()), ("tie", pa.bool_())])
    tmp = path.with_suffix(".part")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            writer.write_table(_row_group(n, rng, texts, prompts, groups, raters, schema))
    tmp.replace(path)


def _row_group(n, rng, texts, prompts, groups, raters, schema):
    import pyarrow as pa

    prompt = rng.integers(0, len(prompts), n)
    first = rng.integers(0, 10, n)
    second = (first + rng.integers(1, 10, n)) % 10
    rater = rng.integers(0, raters, n)
    repeat = rng.random(n) < 0.01            # repeat an earlier row's judgement
    source = rng.integers(0, n, n)
    source = np.where(repeat & (source < np.arange(n)), source, np.arange(n))
    reverse = repeat & (rng.random(n) < 0.5)
    prompt, rater = prompt[source], rater[source]
    first, second = np.where(reverse, second[source], first[source]), \
        np.where(reverse, first[source], second[source])
    rater_ids = pa.array(np.char.add("r", rater.astype(str)))
    return pa.table({
        "prompt": prompts.take(pa.array(prompt)),
        "chosen": texts.take(pa.array(prompt * 10 + first)),
        "rejected": texts.take(pa.array(prompt * 10 + second)),
        "rater": rater_ids,
        "group": groups.take(pa.array(rater % len(groups))),
        "tie": pa.array(rng.random(n) < 0.05),
    }, schema=schema)


CLI = "from pluralist.cli import main\nmain()"
ROW_READER = ("import json, sys\nfrom pluralist.data import check_summary, read_comparisons\n"
              "print(json.dumps(check_summary(read_comparisons(sys.argv[1]))))")
PEAK = ("import atexit, resource, sys\n"
        "def usage():\n    u = resource.getrusage(resource.RUSAGE_SELF)\n"
        "    print(u.ru_maxrss, u.ru_utime, u.ru_stime, file=sys.stderr)\n"
        "atexit.register(usage)\n")


def timed_check(path: Path, *, row_reader: bool = False) -> dict:
    """`pluralist data check --json` (or the row reader's check_summary, as before
    issue 23) in a fresh process: wall s, peak RSS MiB, summary."""
    args = [str(path)] if row_reader else ["data", "check", str(path), "--json"]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK + (ROW_READER if row_reader else CLI),
                           *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr)
    peak_kib, user, system = map(float, done.stderr.strip().splitlines()[-1].split())
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(peak_kib / 1024, 1),
            "cpu_s": round(user + system, 1), "kernel_s": round(system, 1),
            "load_before": round(load, 1), "summary": json.loads(done.stdout)}


def ensure(path: Path, rows: int) -> float | None:
    """Seconds spent generating `path`; None where it was there already."""
    if path.is_file():
        return None
    started = time.perf_counter()
    generate(path, rows)
    return round(time.perf_counter() - started, 1)


def _round(small: Path, large: Path) -> tuple[dict, dict, dict]:
    columnar, rows = timed_check(small), timed_check(small, row_reader=True)
    if columnar["summary"] != rows["summary"]:
        raise SystemExit("the columnar and row readers disagree on the small file")
    return columnar, rows, timed_check(large)


def _median(runs) -> dict:
    """Per measure, the median over rounds; every round's wall time beside it."""
    keys = [k for k in runs[0] if k != "summary"]
    out = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    return {**out, "wall_s_rounds": [r["wall_s"] for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many")
    parser.add_argument("--file", type=Path, help="the large file (generated if absent)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "pluralist-read")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    large = args.file or args.dir / f"comparisons-{args.rows}.parquet"
    small = args.dir / f"comparisons-{args.small}.parquet"
    generated = {"large_s": ensure(large, args.rows), "small_s": ensure(small, args.small)}
    rounds = [_round(small, large) for _ in range(args.rounds)]   # interleaved, so a slow
    small_columnar, small_rows, large_columnar = zip(*rounds)      # spell hits all alike
    result = {
        "command": f"python bench/read.py --rows {args.rows} --small {args.small} "
                   f"--rounds {args.rounds}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "file_mib": round(large.stat().st_size / 2 ** 20, 1),
        "rows": args.rows, **_median(large_columnar),
        "summary": large_columnar[0]["summary"],
        "small": {"rows": args.small, "columnar": _median(small_columnar),
                  "row_reader": _median(small_rows)},
        "generate_s": generated,
        "targets": {"wall_s": 60, "peak_rss_mib": 4096},
    }
    result["small"]["speedup"] = round(result["small"]["row_reader"]["wall_s"]
                                       / result["small"]["columnar"]["wall_s"], 1)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}, indent=2))


if __name__ == "__main__":
    main()
