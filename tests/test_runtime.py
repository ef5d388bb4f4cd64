"""Thread choice for shared machines (pluralist/runtime.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pluralist.runtime import chosen_threads, free_cores


@pytest.mark.parametrize("cores, busy, free", [(2, 0, 2), (2, 0.4, 2), (2, 1, 1), (2, 9, 1),
                                               (16, 3.4, 13), (1, 0, 1)])
def test_free_cores_leaves_what_others_use_and_at_least_one(cores, busy, free):
    assert free_cores(cores, busy) == free


def test_the_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv("PLURALIST_THREADS", "3")
    assert chosen_threads() == 3
    monkeypatch.setenv("PLURALIST_THREADS", "zero")   # not a count: the machine decides
    assert 1 <= chosen_threads() <= (os.cpu_count() or 1)


def run_python(code: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "PLURALIST_THREADS"))}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, check=True,
                          capture_output=True, text=True).stdout.split()


CONFIGURED = ("from pluralist.runtime import configure_threads; configure_threads(); import os, torch; "
              "print(torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])")


def test_torch_starts_with_the_chosen_threads_and_passive_waiting_when_sharing():
    assert run_python(CONFIGURED, PLURALIST_THREADS="1") == ["1", "PASSIVE"]


def test_with_every_core_free_threads_wait_as_openmp_does_by_default():
    code = CONFIGURED.replace("os.environ['OMP_WAIT_POLICY']", "os.environ.get('OMP_WAIT_POLICY', 'default')")
    cores = str(len(os.sched_getaffinity(0)))
    assert run_python(code, PLURALIST_THREADS=cores) == [cores, "default"]


def test_what_the_user_set_is_left_alone():
    assert run_python(CONFIGURED, PLURALIST_THREADS="1", OMP_NUM_THREADS="2",
                      OMP_WAIT_POLICY="ACTIVE") == ["2", "ACTIVE"]
