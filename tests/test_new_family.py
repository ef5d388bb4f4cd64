"""A new family is one file: written outside the package, found through the families
package's path, it is trained and reported by `pluralist compare` with no other edit."""

import importlib
import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.models import families, family_names, registry

TOY_MODULE = "pluralist.models.families.toy"

# A per-rater weight on one learned "taste" direction, on top of a shared linear reward
# (a per-rater bias alone would cancel in every comparison).
TOY_FAMILY = '''
"""`toy`: a shared linear reward plus each rater's weight on one taste direction."""

from dataclasses import dataclass

import torch
from torch import nn

from pluralist.models import LinearRaterModel, ModelConfig
from pluralist.models.base import gather_rater
from pluralist.models.registry import register


@dataclass(frozen=True)
class ToyConfig(ModelConfig):
    tastes: int = 1


@register
class Toy(LinearRaterModel):
    family = "toy"
    Config = ToyConfig
    rank_option = "tastes"

    def __init__(self, config, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        self.shared = nn.Linear(dim, 1)
        self.taste = nn.Linear(dim, config.tastes, bias=False)
        self.rater_weights = nn.Parameter(torch.zeros(len(self.raters), config.tastes))

    def item_design(self, emb, prompt=None):
        return self.shared(emb).squeeze(-1), self.taste(emb)

    def theta(self, rater):
        return gather_rater(self.rater_weights, rater, self.population_theta())

    def default_population_theta(self):
        return torch.zeros(self.config.tastes)

    def penalty(self):
        return self.config.rater_l2 * (self.rater_weights ** 2).sum(-1).mean()
'''


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """The toy family's file in a folder of its own, on the families package's path; the
    registry, the path and the imported module are put back afterwards."""
    family_names()   # the real families register into the real dict before it is swapped
    folder = tmp_path / "more_families"
    folder.mkdir()
    (folder / "toy.py").write_text(textwrap.dedent(TOY_FAMILY))
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))
    monkeypatch.setattr(families, "__path__", [*families.__path__, str(folder)])
    importlib.invalidate_caches()
    yield folder / "toy.py"
    sys.modules.pop(TOY_MODULE, None)
    if hasattr(families, "toy"):
        delattr(families, "toy")


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_a_family_in_one_new_file_is_compared_and_reported(toy_family, tmp_path):
    assert "toy" in family_names()
    data = tmp_path / "synth.jsonl"
    _run("data", "synth", "--out", data, "--raters", 40, "--comparisons-per-rater", 30)
    out = tmp_path / "report"
    _run("compare", data, "--families", "bt,toy", "--encoder", "hashing:32",
         "--cache-dir", tmp_path / "emb", "--out", out, "--epochs", 3, "--shots", "0,5",
         "--draws", 1)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["families"]) == {"bt", "toy"}
    assert set(metrics["ranking"]) == {"bt", "toy"}
    toy = metrics["families"]["toy"]
    assert 1 <= toy["train"]["epochs_run"] <= 3
    assert 0 <= toy["seen"]["accuracy"] <= 1
    assert [point["k"] for point in toy["unseen_kshot"]] == [0, 5]
    # what LinearRaterModel gives for free: a prior chosen for new raters, and one taste
    # weight per seen rater for the report's map of raters
    assert "chosen" in toy["adapt_prior"]
    assert toy["rater_profiles"] and all(len(weights) == 1 for weights in toy["rater_profiles"])
    assert "toy" in (out / "summary.md").read_text()


def test_the_registry_is_put_back(toy_family):
    """Within the test the toy is registered; the fixture's teardown removes it (the
    next test, in any order, sees only the real families: checked there)."""
    assert "toy" in family_names() and TOY_MODULE in sys.modules


def test_no_toy_outside_the_fixture():
    assert "toy" not in family_names()
    assert TOY_MODULE not in sys.modules
