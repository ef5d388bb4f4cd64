"""A small trained model (hashing:32, for speed) and real servers: `pluralist serve` in a
subprocess on a free 127.0.0.1 port, talked to over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from pluralist.integrations.client import Client  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    from pluralist.data import SynthConfig, generate
    from pluralist.encode import EmbedSpec
    from pluralist.training import TrainConfig
    from pluralist.workflows import train_and_save

    root = tmp_path_factory.mktemp("serve-model")
    bench = generate(SynthConfig(seed=3, raters=24, comparisons_per_rater=40))
    spec = EmbedSpec("hashing:32", "response", str(root / "cache"))
    train_and_save(bench.table, "lowrank", root / "model", spec, options={"rank": 4},
                   config=TrainConfig(epochs=8, seed=0))
    return root / "model"


@pytest.fixture(scope="session")
def key_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("key") / "key.txt"
    path.write_text(KEY + "\n")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`pluralist serve` as a child process; start() waits for /healthz."""

    def __init__(self, model_dir, db, *args, log_dir=None):
        self.model_dir, self.db, self.args = model_dir, db, list(args)
        self.log_dir = Path(log_dir) if log_dir is not None else Path(str(db)).parent
        self.process, self.port, self.log = None, None, None

    def start(self, timeout: float = 90.0) -> "Server":
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PLURALIST_API_KEY": ""}
        self.log = open(self.log_dir / f"server.{self.port}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pluralist.cli", "serve", str(self.model_dir), "--db", str(self.db),
             "--port", str(self.port), *self.args], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.log_text()}")
            try:
                if Client(self.url).request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not answer in {timeout}s: {self.log_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, api_key: str | None = KEY) -> Client:
        return Client(self.url, api_key=api_key)

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def kill(self) -> None:
        """kill -9: no shutdown handler runs."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log is not None:
            self.log.close()


@pytest.fixture(scope="session")
def server(model_dir, key_file, tmp_path_factory):
    running = Server(model_dir, tmp_path_factory.mktemp("db") / "feedback.db",
                     "--api-key-file", str(key_file)).start()
    yield running
    running.stop()


def local_scorer(model_dir):
    """The server's scoring path in this process, to check the server's numbers against."""
    from pluralist.encode import get_encoder
    from pluralist.serve.scoring import Scorer
    from pluralist.workflows import load_with_encoder

    model, embedding = load_with_encoder(model_dir)
    return Scorer(model, get_encoder(embedding.encoder))


def comparisons_for(tag: str, n: int) -> list[dict]:
    """n comparisons with texts unique to `tag`: each one can be found in the store."""
    return [{"prompt": f"question {tag} {i}", "chosen": f"a long detailed careful answer {tag} {i}",
             "rejected": f"short {tag} {i}"} for i in range(n)]

