"""`pluralist serve` under load, with the encoder's own offline speed as the yardstick.

    python bench/serve.py

A lowrank model is trained on a small built-in benchmark with the bundled `minilm`
encoder, served by `pluralist serve` (SQLite store) in a child process on 127.0.0.1,
and driven by client threads in this process (kept-alive HTTP connections):

- /v1/score with 4 responses of ~80 tokens each (built-in responses of 250-420
  characters, each made unique by a numbered suffix) at concurrency 1, 8 and 32, with
  texts new to the server and with texts it has seen (cached): latency p50/p99,
  requests/s and, for new texts, texts embedded per second;
- the encoder's offline throughput on the same kind of texts (batches of 64, in this
  process while the server idles), measured before and after the load: the yardstick
  for the batching target (new texts at concurrency 8 >= 70% of offline);
- feedback writes (POST one comparison, refit, commit) one at a time: p50/p99, with
  texts the server has scored before and with new texts.

Client and server share the machine's cores, so every figure includes the client's
own cost; the load average during the run says whether other work shared them too.
Writes bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from encode import cpu_model, vector_flags  # noqa: E402  (the CPU as the encoder benchmark records it)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "serve.json"
KEY = "bench-key-0123456789abcdef"
REQUESTS = {1: 16, 8: 64, 32: 128}        # per concurrency, for new texts
CACHED_REQUESTS = {1: 200, 8: 400, 32: 640}
FEEDBACK_WRITES = 60
RESPONSES_PER_REQUEST = 4
OFFLINE_TEXTS = 256


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def base_texts() -> list[str]:
    from pluralist.data.synthetic import generate

    return [r for r in generate().texts if 250 <= len(r) <= 420]


class Texts:
    """Unique ~80-token responses on demand (a base text and a number)."""

    def __init__(self):
        self.base, self.next, self.lock = base_texts(), 0, threading.Lock()

    def take(self, n: int) -> list[str]:
        with self.lock:
            start, self.next = self.next, self.next + n
        return [f"{self.base[i % len(self.base)]} (ref {i})" for i in range(start, start + n)]


def train_model(root: Path) -> Path:
    from pluralist.data import SynthConfig, generate
    from pluralist.encode import EmbedSpec
    from pluralist.training import TrainConfig
    from pluralist.workflows import train_and_save

    bench = generate(SynthConfig(seed=0, raters=40, comparisons_per_rater=30, responses_per_prompt=20))
    train_and_save(bench.table, "lowrank", root / "model", EmbedSpec("minilm", "response", str(root / "cache")),
                   options={"rank": 4}, config=TrainConfig(epochs=10, seed=0))
    return root / "model"


def offline_texts_per_s(encoder, texts: list[str], batch: int = 64) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        encoder.encode(texts[i:i + batch])
    return len(texts) / (time.perf_counter() - started)


def start_server(model: Path, root: Path):
    from pluralist.integrations.client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (root / "key").write_text(KEY)
    log = open(root / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "pluralist.cli", "serve", str(model), "--db",
                                str(root / "feedback.db"), "--port", str(port), "--api-key-file",
                                str(root / "key")], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if Client(url).request("GET", "/healthz")[0] == 200:
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start: " + (root / "server.log").read_text())


def drive(url: str, concurrency: int, total: int, make_body) -> dict:
    """`total` requests from `concurrency` threads; latency percentiles and rates."""
    from pluralist.integrations.client import Client

    latencies, failures, counter, lock = [], [], iter(range(total)), threading.Lock()

    def worker():
        client = Client(url, api_key=KEY)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            method, path, body = make_body(i)
            started = time.perf_counter()
            status, _ = client.request(method, path, body)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if status == 200 else failures).append(elapsed if status == 200 else status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"concurrency": concurrency, "requests": total, "failures": len(failures),
            "p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "requests_per_s": round(total / wall, 1), "wall_s": round(wall, 2)}


def score_runs(url: str, texts: Texts, prompts: list[str]) -> list[dict]:
    runs = []
    for concurrency, total in REQUESTS.items():
        bodies = [("POST", "/v1/score", {"prompt": prompts[i % len(prompts)],
                                         "responses": texts.take(RESPONSES_PER_REQUEST)})
                  for i in range(total)]
        say(f"/v1/score at concurrency {concurrency}: {total} requests of new texts ...")
        new = drive(url, concurrency, total, lambda i: bodies[i])
        new["texts_per_s"] = round(new["requests_per_s"] * RESPONSES_PER_REQUEST, 1)
        cached_total = CACHED_REQUESTS[concurrency]
        cached = drive(url, concurrency, cached_total, lambda i: bodies[i % len(bodies)])
        runs += [{"texts": "new", **new}, {"texts": "cached", **cached}]
    return runs


def feedback_runs(url: str, texts: Texts, scored: list[str], count: int = FEEDBACK_WRITES) -> list[dict]:
    def body(i, pool):
        return ("POST", f"/v1/raters/bench-{i % 10}/comparisons",
                {"comparisons": [{"prompt": "", "chosen": pool[2 * i], "rejected": pool[2 * i + 1]}]})

    new_pool = texts.take(2 * count)
    seen = drive(url, 1, count, lambda i: body(i, scored))
    new = drive(url, 1, count, lambda i: body(i, new_pool))
    return [{"texts": "scored before", **seen}, {"texts": "new", **new}]


def run() -> dict:
    from pluralist.encode import get_encoder

    # idle torch threads sleep instead of spinning: on cores shared with other work,
    # spinning workers slowed torch about tenfold (shared/ENVIRONMENT.md)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    root = Path(tempfile.mkdtemp(prefix="pluralist-bench-serve-"))
    os.environ["PLURALIST_CACHE"] = str(root / "cache")
    model = train_model(root)
    encoder = get_encoder("minilm")
    texts = Texts()
    say(f"trained; encoder {encoder.id}; timing it offline ...")
    offline_before = offline_texts_per_s(encoder, texts.take(OFFLINE_TEXTS))
    process, url = start_server(model, root)
    try:
        prompts = [f"Question {i}: how should I go about this?" for i in range(20)]
        scoring = score_runs(url, texts, prompts)
        feedback = feedback_runs(url, texts, _scored_texts(texts, 2 * FEEDBACK_WRITES))
    finally:
        process.terminate()
        process.wait(30)
    say("timing the encoder offline again ...")
    offline_after = offline_texts_per_s(encoder, texts.take(OFFLINE_TEXTS))
    return _summary(encoder, scoring, feedback, [offline_before, offline_after])


def _scored_texts(texts: Texts, n: int) -> list[str]:
    """Texts the server embedded during the scoring runs (numbers 0..n-1 were the first
    requests' responses)."""
    return [f"{texts.base[i % len(texts.base)]} (ref {i})" for i in range(OFFLINE_TEXTS, OFFLINE_TEXTS + n)]


def _summary(encoder, scoring: list[dict], feedback: list[dict], offline: list[float]) -> dict:
    offline_median = statistics.median(offline)
    at8 = next(r for r in scoring if r["texts"] == "new" and r["concurrency"] == 8)
    cached = [r for r in scoring if r["texts"] == "cached"]
    return {"encoder": encoder.id, "responses_per_request": RESPONSES_PER_REQUEST,
            "offline_texts_per_s": [round(v, 1) for v in offline],
            "offline_texts_per_s_median": round(offline_median, 1),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "score": scoring, "feedback": feedback,
            "targets": {"new_c8_fraction_of_offline": round(at8["texts_per_s"] / offline_median, 3),
                        "cached_p50_ms_max": max(r["p50_ms"] for r in cached),
                        "feedback_p99_ms": {r["texts"]: r["p99_ms"] for r in feedback}},
            "machine": {"cpu_count": os.cpu_count(), "cpu_flags": vector_flags(),
                        "load_average": [round(v, 2) for v in os.getloadavg()],
                        "cpu_model": cpu_model(), "platform": platform.platform(),
                        "note": "client threads run on the same cores as the server"}}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    result = run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["targets"], indent=2))


if __name__ == "__main__":
    main()
