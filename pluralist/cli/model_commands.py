"""The commands that train, adapt, score, compare and evaluate models, and the demo."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .base import (bundle, cache_dir_option, check_truth, cli, command_line, COUNT,
                  data_options, device_option, embed_options, embed_spec, encoder_option, Finite,
                  noise_options, out_path, read_table, SEED, Shots, Unseen)


def _parse_options(pairs: tuple[str, ...]) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            options[key.replace("-", "_")] = value
    return options


def _train_config(epochs: int, batch_size: int, lr: float, seed: int, holdout: str):
    from ..training import TrainConfig

    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=True,
                       holdout=holdout)


_HOLDOUT_HELP = ("Hold out texts (no held-out comparison shares a text with the same rater's "
                 "training comparisons; linking ones are dropped) or pairs (leaks where texts repeat).")
_holdout = click.option("--holdout", type=click.Choice(["texts", "pairs"]), default="texts",
                        show_default=True, help=_HOLDOUT_HELP)
train_options = bundle(
    "config", _train_config, _holdout,
    click.option("--epochs", type=COUNT, default=40, show_default=True),
    click.option("--batch-size", type=COUNT, default=512, show_default=True),
    click.option("--lr", type=Finite(min=0, min_open=True), default=1e-2, show_default=True),
    click.option("--seed", type=SEED, default=0, show_default=True))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--family", required=True,
              help="A registered family (an unknown name lists them), or auto: chosen on held-out data.")
@click.option("--out", required=True, type=click.Path(file_okay=False), callback=out_path,
              help="Model directory to write.")
@data_options
@embed_options
@click.option("--rank", type=COUNT, default=None,
              help="Size of the rater space: rank, components, prototypes, directions, blocks or latent units.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Any other hyperparameter of the family, e.g. --option simplex=true.")
@train_options
@noise_options
def train(file, family, out, rater_column, kind, embedding, rank, options, config, noise):
    """Train a reward model of one family on FILE and save it to --out."""
    from ..models.registry import check_options
    from ..training import family_options
    from ..workflows import train_and_save

    if family == "auto" and (rank is not None or options):
        raise click.BadParameter("auto chooses the family at its own options: drop --rank and "
                                 "--option, or name the family", param_hint="'--family'")
    opts = {} if family == "auto" else check_options(family, family_options(family, rank,
                                                                            _parse_options(options)))
    model, summary = train_and_save(read_table(file, kind, rater_column), family, Path(out), embedding,
                                    options=opts, config=config, noise=noise)
    if summary["auto"]:
        _say_auto(summary["auto"])
    family, result = model.family, summary["train"]
    click.echo(f"{family}: validation accuracy {result['best_val_accuracy']:.3f} "
               f"(epoch {result['best_epoch']} of {result['epochs_run']}, {result['seconds']:.1f}s); "
               f"new-rater prior precision {summary['adapt_prior']['chosen']:g}")
    if summary["diagnostics"]:
        click.echo(f"diagnostics: {summary['diagnostics']}")
    if result.get("noise") and "global_rate" in result["noise"]:
        highest = sorted(result["noise"]["rater_rates"].items(), key=lambda item: -item[1])[:3]
        click.echo(f"estimated flip rate: {result['noise']['global_rate']:.3f} overall; highest per rater: "
                   + ", ".join(f"{rater} {rate:.3f}" for rater, rate in highest)
                   + f" (every rater's in {Path(out) / 'config.json'})")
    click.echo(f"saved to {out}")


def _say_auto(choice: dict) -> None:
    scores = ", ".join(f"{f} {v['score']:.3f}" for f, v in
                       sorted(choice["scores"].items(), key=lambda item: -item[1]["score"]))
    click.echo(f"auto: chose {choice['chosen']} ({choice['rule']}): {scores}")


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=out_path,
              help="Profile JSON to write.")
@cache_dir_option
def adapt(model_dir, file, rater_column, kind, out, cache_dir):
    """Fit each rater in FILE (new people) with the model's shared parts frozen."""
    from ..fileio import write_json_atomic
    from ..workflows import adapt_raters

    profiles = adapt_raters(model_dir, read_table(file, kind, rater_column), cache_dir=cache_dir)
    write_json_atomic(out, profiles)
    click.echo(f"adapted {len(profiles['profiles'])} rater(s); profiles in {out}")


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("responses", nargs=-1, required=True)
@click.option("--rater", default="", help="Rater id; unknown raters get the population reward.")
@click.option("--prompt", default="", help="The prompt the responses answer.")
@click.option("--profile", type=click.Path(dir_okay=False), default=None,
              help="Profiles from `pluralist adapt`, for raters the model has not seen.")
@cache_dir_option
def score(model_dir, responses, rater, prompt, profile, cache_dir):
    """Print the rewards of RESPONSES for a rater, best first."""
    from ..workflows import score as score_responses

    rewards, source = score_responses(model_dir, rater, prompt, list(responses),
                                      profile_path=profile, cache_dir=cache_dir)
    click.echo(f"# rater {rater or '(none)'}: {source}")
    for reward, response in sorted(zip(rewards, responses), key=lambda pair: -pair[0]):
        click.echo(f"{reward:+.4f}\t{response}")


def _eval_config(shots: tuple[int, ...], draws: int, seed: int):
    from ..evaluation import EvalConfig

    return EvalConfig(shots=shots, draws=draws, seed=seed)


_seed = click.option("--seed", type=SEED, default=0, show_default=True)
eval_options = bundle(
    "eval_config", _eval_config,
    click.option("--shots", type=Shots(), default="0,1,2,5,10,20,50", show_default=True,
                 help="k values of the new-rater curve."),
    click.option("--draws", type=COUNT, default=3, show_default=True,
                 help="Random draws of the k per point."),
    _seed)
_truth = click.option("--truth", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="Ground truth (.truth.json) for Bayes accuracy; found beside FILE by default.")
split_options = bundle(
    "split", lambda unseen, test_fraction, holdout: {"unseen": unseen, "test_fraction": test_fraction,
                                                     "by": holdout},
    _holdout,
    click.option("--unseen", type=Unseen(), default=0.25, show_default=True,
                 help="Raters held out entirely: a fraction (< 1) or a count."),
    click.option("--test-fraction", type=Finite(0, 1, max_open=True), default=0.2,
                 show_default=True,
                 help="Share of each seen rater's comparisons held out for testing, in [0, 1)."))


def _families(value: str | None) -> list[str]:
    from ..workflows import personalised_families

    if value is None:
        return ["bt", *personalised_families()]
    names = [f.strip() for f in value.split(",") if f.strip()]
    if not names:
        raise click.BadParameter(f"names no family: {value!r}", param_hint="'--families'")
    return names


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--families", default=None, show_default="bt and every personalised family",
              help="Comma-separated family names.")
@click.option("--out", required=True, type=click.Path(file_okay=False), callback=out_path,
              help="Report directory.")
@data_options
@split_options
@eval_options
@_truth
@embed_options
@click.option("--epochs", type=COUNT, default=40, show_default=True)
@noise_options
def compare(file, families, out, rater_column, kind, split, eval_config, truth, embedding, epochs,
            noise):
    """Train several families on the same split of FILE and report them side by side."""
    from ..evaluation import markdown_summary
    from ..training import TrainConfig
    from ..workflows import compare_file

    names, table = _families(families), read_table(file, kind, rater_column)
    check_truth(truth, table, file)
    results, report = compare_file(
        table, names, Path(out), embedding, data_name=file,
        split={**split, "seed": eval_config.seed}, truth=truth,
        train_config=TrainConfig(seed=eval_config.seed, epochs=epochs, holdout=split["by"]),
        eval_config=eval_config,
        noise=noise, command=command_line(), say=_console().print)
    click.echo(markdown_summary(results))
    click.echo(f"report: {report}")


def _console():
    from rich.console import Console

    return Console()


@cli.command("eval")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), callback=out_path,
              help="Report directory.")
@data_options
@eval_options
@_truth
@cache_dir_option
def evaluate(model_dir, file, out, rater_column, kind, eval_config, truth, cache_dir):
    """Evaluate a trained model on FILE, held-out data: raters the model knows are
    seen raters, every other rater is a new one (adapted on k, tested on the rest)."""
    from ..evaluation import markdown_summary
    from ..workflows import run_eval

    table = read_table(file, kind, rater_column)
    check_truth(truth, table, file)
    results, report = run_eval(model_dir, table, Path(out), data_name=file,
                               truth=truth, eval_config=eval_config, cache_dir=cache_dir,
                               command=command_line())
    click.echo(markdown_summary(results))
    click.echo(f"report: {report}")


@cli.command()
@click.option("--out", default="pluralist-demo", show_default=True, type=click.Path(file_okay=False),
              callback=out_path)
@bundle("embedding", embed_spec, encoder_option, cache_dir_option, device_option)
@_seed
def demo(out, embedding, seed):
    """The main job: benchmark -> embeddings -> models -> evaluation."""
    from ..evaluation import markdown_summary
    from ..workflows import run_demo

    console = _console()
    console.rule("[bold]pluralist demo")
    results, report, headline = run_demo(Path(out), embedding, seed=seed, command=command_line(),
                                         say=console.print)
    print(markdown_summary(results))
    console.print(f"best personalised family: {headline['best_family']}: "
                  f"{100 * headline['gain_over_bt_k20']:+.1f} points over bt on unseen raters at k=20, "
                  f"{100 * headline['best_seen_fraction_of_bayes']:.1f}% of Bayes accuracy on seen raters")
    console.print(f"report: {report}  ({headline['seconds']:.0f}s)")


