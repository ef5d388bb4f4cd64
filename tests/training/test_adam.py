"""The loop's Adam takes torch's AdamW (no weight decay) steps exactly, step-size
changes and parameters outside the graph included, and never imports torch's compiler."""

from __future__ import annotations

import subprocess
import sys

import torch

from pluralist.training.adam import Adam


def trajectory(make_optimizer, halve):
    torch.manual_seed(0)
    weights, bias = torch.nn.Parameter(torch.randn(20, 4)), torch.nn.Parameter(torch.randn(4))
    unused = torch.nn.Parameter(torch.randn(3))   # never receives a gradient
    optimizer = make_optimizer([weights, bias, unused])
    for step in range(120):
        x = torch.randn(16, 20)
        loss = ((x @ weights + bias).tanh() ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step == 60:
            halve(optimizer)
    return [p.detach().clone() for p in (weights, bias, unused)]


def test_the_same_steps_as_torch_adamw_without_weight_decay():
    def halve_torch(optimizer):
        for group in optimizer.param_groups:
            group["lr"] *= 0.5

    def halve_ours(optimizer):
        optimizer.lr *= 0.5

    expected = trajectory(lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.0), halve_torch)
    got = trajectory(lambda p: Adam(p, lr=1e-2), halve_ours)
    for want, have in zip(expected, got):
        assert torch.equal(want, have)
    assert not torch.equal(got[0], trajectory(lambda p: Adam(p, lr=2e-2), halve_ours)[0])


def test_a_fit_does_not_import_torch_compiler_stack(tmp_path):
    code = ("import sys, numpy as np; from pluralist.models import PreferenceData; "
            "from pluralist.data import SynthConfig; from pluralist.data.synthetic import generate; "
            "from pluralist.encode import EmbedSpec, embed; from pluralist.training import TrainConfig, fit; "
            "from pluralist.models import build_model; "
            "t = generate(SynthConfig(raters=10, comparisons_per_rater=10, seed=0)).table; "
            f"d = PreferenceData.from_table(t, embed(t, EmbedSpec('hashing:16', cache_dir={str(tmp_path)!r}))); "
            "fit(build_model('lowrank', dim=d.dim, raters=d.raters), d, np.arange(len(t)), TrainConfig(epochs=2)); "
            "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
