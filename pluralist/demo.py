"""`pluralist demo`, the main job, and the benchmark files it starts from."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .data import SynthConfig, check_summary, generate, split_raters, write_comparisons
from .data.synthetic import SyntheticBenchmark
from .encode import EmbeddingCache, embed_table, get_encoder
from .fileio import write_json_atomic


def truth_path_for(data_path: Path) -> Path:
    return data_path.with_name(data_path.name.split(".")[0] + ".truth.json")


def write_benchmark(config: SynthConfig, out: Path) -> tuple[SyntheticBenchmark, Path]:
    bench = generate(config)
    truth_path = truth_path_for(out)
    write_comparisons(bench.table, out)
    write_json_atomic(truth_path, bench.truth())
    return bench, truth_path


def run_demo(out: Path, *, encoder_name: str, seed: int, cache_dir) -> None:
    console = Console()
    console.rule("[bold]pluralist demo")
    console.print("1/3 generating the built-in pluralistic benchmark ...")
    bench, truth = write_benchmark(SynthConfig(seed=seed), out / "data.jsonl")
    summary = check_summary(bench.table)
    console.print(f"    {summary['rows']} comparisons, {summary['raters']} raters in "
                  f"{len(summary['groups'])} groups, {summary['distinct_texts']} texts; "
                  f"Bayes accuracy {bench.bayes_accuracy():.3f}  -> {out / 'data.jsonl'}")
    split = split_raters(bench.table, unseen=100, seed=seed)
    console.print(f"2/3 split: {split.summary()}")
    console.print(f"3/3 embedding with {encoder_name} (cached) ...")
    cache = EmbeddingCache(get_encoder(encoder_name), cache_dir, progress=True)
    stats = embed_table(bench.table, cache).stats
    console.print(f"    {stats.texts} texts: {stats.hits} from cache, {stats.embedded} embedded")
    console.print("[yellow]Model training and evaluation are not part of this version yet.")
