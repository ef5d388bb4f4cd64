"""Multi-step jobs behind the CLI: `pluralist demo` (the main job), `compare` and `eval`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console

from . import __version__
from .data import SynthConfig, check_summary, generate, split_raters, write_comparisons
from .data.split import Split
from .data.synthetic import SyntheticBenchmark
from .data.table import ComparisonTable
from .errors import DataError
from .experiment import Benchmark, EvalConfig, compare, evaluate_model
from .fileio import write_json_atomic
from .models import PreferenceData
from .pipeline import embed
from .report import kshot_at, markdown_summary, write_report
from .train import TrainConfig

PERSONALISED = ("lowrank", "mixture", "ideal_point", "variational", "gpm", "decomposed")


def truth_path_for(data_path: Path) -> Path:
    return data_path.with_name(data_path.name.split(".")[0] + ".truth.json")


def write_benchmark(config: SynthConfig, out: Path) -> tuple[SyntheticBenchmark, Path]:
    bench = generate(config)
    truth_path = truth_path_for(out)
    write_comparisons(bench.table, out)
    write_json_atomic(truth_path, bench.truth())
    return bench, truth_path


def load_truth(table: ComparisonTable, truth, data_path) -> np.ndarray | None:
    """p_chosen per row from `truth`, or else from the .truth.json beside the data, if any."""
    import json

    truth_path = Path(truth) if truth else truth_path_for(Path(data_path))
    if not truth_path.is_file():
        return None
    p_by_id = json.loads(truth_path.read_text()).get("p_chosen", {})
    if not all(i in p_by_id for i in table.id):
        return None
    return np.array([p_by_id[i] for i in table.id])


def make_benchmark(table: ComparisonTable, split: Split, *, encoder_name: str, text_format: str,
                   cache_dir, p_true=None, progress=True, raters=None) -> Benchmark:
    """Embed the table and pair it with its split; the rater vocabulary is the split's
    seen raters unless a trained model's is given."""
    emb = embed(table, encoder_name, text_format=text_format, cache_dir=cache_dir, progress=progress)
    data = PreferenceData.from_table(table, emb, raters=split.seen_raters if raters is None else raters)
    return Benchmark(table, data, split, p_true)


def require_unseen(split: Split) -> Split:
    if not split.unseen_raters:
        raise DataError("the split has no unseen raters, so new-rater adaptation cannot be "
                        "evaluated; hold some out (--unseen)")
    return split


def report_meta(bench: Benchmark, *, data_name: str, encoder_name: str, encoder_id: str,
                train_config: TrainConfig, eval_config: EvalConfig, command: str) -> dict:
    groups = {r: g for r, g in zip(bench.table.rater, bench.table.group)}
    return {"data": data_name, "comparisons": len(bench.table), "split": bench.split.summary(),
            "encoder": encoder_name, "encoder_id": encoder_id, "library_version": __version__,
            "train_config": train_config.__dict__, "eval_shots": list(eval_config.shots),
            "eval_draws": eval_config.draws, "seed": eval_config.seed,
            "command": command,
            "ground_truth": bench.p_true is not None, "notes": list(bench.notes),
            "seen_rater_groups": [groups[r] for r in bench.split.seen_raters]}


def run_compare(bench: Benchmark, families: dict[str, dict], out: Path, *, data_name: str,
                noise: tuple[str, float] = ("none", 0.0),
                encoder_name: str, train_config: TrainConfig, eval_config: EvalConfig,
                console: Console, command: str) -> tuple[dict, Path]:
    def done(family, result):
        k20 = kshot_at(result, 20)
        console.print(f"    {family:<12} seen {result['seen']['accuracy']:.3f}   unseen k=0 "
                      f"{kshot_at(result, 0):.3f}   k=20 {'n/a' if k20 is None else f'{k20:.3f}'}"
                      f"   ({result['train']['seconds']:.1f}s)")

    results = compare(bench, families, train_config, eval_config, on_done=done, noise=noise)
    meta = report_meta(bench, data_name=data_name, encoder_name=encoder_name,
                       encoder_id=bench.data.encoder_id, train_config=train_config,
                       eval_config=eval_config, command=command)
    return results, write_report(out, meta, results)


def compare_file(table: ComparisonTable, families: list[str], out: Path, *, data_name: str,
                 split: dict, truth, encoder_name: str, text_format: str, train_config: TrainConfig,
                 eval_config: EvalConfig, noise: tuple[str, float], cache_dir, command: str):
    """`pluralist compare`: split, embed, train every family, evaluate, report."""
    from .models import get_family

    for name in families:
        get_family(name)  # refuse unknown names before any work
    bench = make_benchmark(table, require_unseen(split_raters(table, **split)),
                           encoder_name=encoder_name, text_format=text_format, cache_dir=cache_dir,
                           p_true=load_truth(table, truth, data_name))
    return run_compare(bench, {n: {} for n in families}, out, data_name=str(data_name), noise=noise,
                       encoder_name=encoder_name, train_config=train_config,
                       eval_config=eval_config, console=Console(), command=command)


def run_eval(model_dir, table: ComparisonTable, out: Path, *, data_name: str, truth,
             eval_config: EvalConfig, cache_dir, command: str) -> tuple[dict, Path]:
    """Evaluate a saved model on held-out data: raters it knows are seen, others new."""
    from .data.split import split_known
    from .pipeline import load_with_encoder

    model, encoder_name = load_with_encoder(model_dir)
    bench = make_benchmark(table, split_known(table, model.raters, seed=eval_config.seed),
                           encoder_name=encoder_name, text_format=model.text_format,
                           cache_dir=cache_dir, p_true=load_truth(table, truth, data_name),
                           raters=model.raters)
    if not bench.split.seen_test.size:
        bench.notes.append("no rater of this file is known to the model: seen-rater metrics are absent")
    results = {model.family: {"options": {}, "train": {},
                              "adapt_prior": {"chosen": float(model.adapt_prior)},
                              **evaluate_model(model, bench, eval_config)}}
    meta = report_meta(bench, data_name=str(data_name), encoder_name=encoder_name,
                       encoder_id=model.encoder_id, train_config=TrainConfig(),
                       eval_config=eval_config, command=command)
    return results, write_report(out, meta, results)


def run_demo(out: Path, *, encoder_name: str, seed: int, cache_dir, command: str) -> None:
    console, started = Console(), time.perf_counter()
    console.rule("[bold]pluralist demo")
    console.print("1/4 generating the built-in pluralistic benchmark ...")
    synth, _ = write_benchmark(SynthConfig(seed=seed), out / "data.jsonl")
    summary = check_summary(synth.table)
    console.print(f"    {summary['rows']} comparisons, {summary['raters']} raters in "
                  f"{len(summary['groups'])} groups, {summary['distinct_texts']} texts; "
                  f"Bayes accuracy {synth.bayes_accuracy():.3f}  -> {out / 'data.jsonl'}")
    split = require_unseen(split_raters(synth.table, unseen=100, seed=seed))
    console.print(f"2/4 split: {len(split.seen_raters)} seen raters ({len(split.train)} training, "
                  f"{len(split.seen_test)} held-out comparisons), {len(split.unseen_raters)} unseen")
    console.print(f"3/4 embedding with {encoder_name} (cached) ...")
    bench = make_benchmark(synth.table, split, encoder_name=encoder_name, text_format="response",
                           cache_dir=cache_dir, p_true=synth.p_chosen)
    console.print("4/4 training and evaluating bt and every personalised family ...")
    families = {"bt": {}, **{f: {} for f in PERSONALISED}}
    results, report = run_compare(bench, families, out / "report", data_name="built-in benchmark",
                                  encoder_name=encoder_name, train_config=TrainConfig(seed=seed),
                                  eval_config=EvalConfig(seed=seed), console=console,
                                  command=command)
    print(markdown_summary(results))
    headline = demo_headline(results)
    console.print(f"best personalised family: {headline['best_family']}: "
                  f"{100 * headline['gain_over_bt_k20']:+.1f} points over bt on unseen raters at k=20, "
                  f"{100 * headline['best_seen_fraction_of_bayes']:.1f}% of Bayes accuracy on seen raters")
    console.print(f"report: {report}  ({time.perf_counter() - started:.0f}s)")


def demo_headline(results: dict) -> dict:
    """The demo's two claims, computed from the results (and checked by bench/demo.py)."""
    personalised = [f for f in results if f != "bt"]
    best = max(personalised, key=lambda f: kshot_at(results[f], 20) or 0.0)
    return {"best_family": best,
            "bt_k20": kshot_at(results["bt"], 20), "best_k20": kshot_at(results[best], 20),
            "gain_over_bt_k20": kshot_at(results[best], 20) - kshot_at(results["bt"], 20),
            "best_seen_fraction_of_bayes": max(results[f]["seen"]["fraction_of_bayes"]
                                               for f in personalised)}
