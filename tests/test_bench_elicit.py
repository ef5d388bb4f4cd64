"""The simulated raters bench/elicit.py answers with: their truth agrees with the data."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from pluralist.data.persona import PersonaConfig

FIXTURE = Path(__file__).parent / "fixtures" / "persona"
CONFIG = PersonaConfig(raters=12, groups=3, traits_per_rater=1, behaviours=3,
                       statements_per_behaviour=4, comparisons_per_rater=10)


def _bench_script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).parents[1] / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


bench_elicit = _bench_script("elicit")


def _table_pairs(world):
    index = {text: i for i, text in enumerate(world.texts)}
    raters = {r: i for i, r in enumerate(world.rater_ids)}
    rows = [(raters[r], index[c], index[j])
            for r, c, j in zip(world.table.rater, world.table.chosen, world.table.rejected)]
    return np.array(rows)


def test_a_persona_rater_always_prefers_what_they_chose_in_the_data():
    world = bench_elicit.persona_world(FIXTURE, CONFIG)
    rows = _table_pairs(world)
    for rater in np.unique(rows[:, 0]):
        own = rows[rows[:, 0] == rater]
        assert (world.p_first(rater, own[:, 1:]) == 1.0).all()
        assert (world.p_first(rater, own[:, [2, 1]]) == 0.0).all()


def test_a_persona_rater_is_indifferent_between_statements_of_behaviours_they_lack():
    world = bench_elicit.persona_world(FIXTURE, CONFIG)
    rater = 0
    lacked = np.flatnonzero(world.utility[rater] == 0)
    assert len(lacked) >= 2   # three behaviours, one held: two behaviours' statements say nothing
    assert world.p_first(rater, lacked[None, :2])[0] == 0.5


def test_builtin_truth_is_bradley_terry_on_the_true_utilities():
    world = bench_elicit.builtin_world()
    pairs = np.array([[0, 1], [5, 3]])
    rater = 7
    margin = world.utility[rater, pairs[:, 0]] - world.utility[rater, pairs[:, 1]]
    assert np.allclose(world.p_first(rater, pairs), 1 / (1 + np.exp(-margin)))
    # the recorded labels follow the truth more often than not
    rows = _table_pairs(world)
    agree = np.mean([world.p_first(r, np.array([[c, j]]))[0] > 0.5 for r, c, j in rows[:2000]])
    assert agree > 0.6


def test_pool_and_test_texts_never_share_a_text():
    for world in (bench_elicit.persona_world(FIXTURE, CONFIG), bench_elicit.builtin_world()):
        pool, test = bench_elicit.halve_texts(world, np.random.default_rng(0))
        pool_texts, test_texts = set(np.concatenate(pool).tolist()), set(np.concatenate(test).tolist())
        assert not pool_texts & test_texts
        assert len(pool_texts) + len(test_texts) == sum(len(s) for s in world.strata)
        pairs = bench_elicit.random_pairs(pool, 5, np.random.default_rng(1))
        assert len(set(map(tuple, pairs.tolist()))) == 5 and set(pairs.ravel().tolist()) <= pool_texts
        with pytest.raises(ValueError, match="distinct pairs"):
            bench_elicit.random_pairs(pool, 10**6, np.random.default_rng(1))


def test_a_bad_persona_file_stops_the_bench_with_one_line_naming_it(tmp_path):
    import shutil
    import subprocess

    for file in FIXTURE.glob("*.jsonl"):
        shutil.copy(file, tmp_path / file.name)
    bad = sorted(tmp_path.glob("*.jsonl"))[0]
    with bad.open("a") as stream:
        stream.write('{"statement": "x", "answer": "Maybe"}\n')
    results = Path(__file__).parents[1] / "bench" / "results" / "elicit_persona.json"
    before = results.stat().st_mtime_ns if results.exists() else None
    done = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "bench" / "elicit.py"),
                           "--benchmark", "persona", "--persona", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and bad.name in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (results.stat().st_mtime_ns if results.exists() else None) == before
