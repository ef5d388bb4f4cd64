"""The `pluralist` command. Thin: parse, call the library, print."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import __version__
from .errors import PluralistError

_KINDS = ("comparisons", "ratings", "rankings")


class _Group(click.Group):
    """Turns every PluralistError into one line on stderr and exit code 2, and keeps
    the command line so that reports can say how to reproduce them."""

    def make_context(self, info_name, args, parent=None, **extra):
        ctx = super().make_context(info_name, list(args), parent=parent, **extra)
        if parent is None:
            ctx.meta["pluralist.argv"] = list(args)
        return ctx

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PluralistError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="pluralist")
def cli():
    """Reward models that respect how people differ."""


def _command_line() -> str:
    import shlex

    argv = click.get_current_context().meta.get("pluralist.argv", [])
    return "pluralist " + shlex.join(argv)


def _read(path: str, kind: str, rater_column: str):
    from .data import read_comparisons, read_rankings, read_ratings

    reader = {"comparisons": read_comparisons, "ratings": read_ratings,
              "rankings": read_rankings}[kind]
    return reader(path, rater_column=rater_column)


def _option_group(*options):
    """One decorator applying several click options, in the order written."""
    def apply(func):
        for option in reversed(options):
            func = option(func)
        return func
    return apply


data_options = _option_group(
    click.option("--rater-column", default="rater", show_default=True,
                 help="Column holding the rater id; without it a file is one population."),
    click.option("--kind", type=click.Choice(_KINDS), default="comparisons", show_default=True,
                 help="Pairwise comparisons, per-rater ratings, or per-rater rankings."),
)


@cli.group(cls=_Group)
def data():
    """Inspect, convert and generate comparison data."""


@data.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def data_check(file, rater_column, kind, as_json):
    """Summarise FILE, or report the first problem in it."""
    from .data import check_summary

    summary = check_summary(_read(file, kind, rater_column))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    per = summary["comparisons_per_rater"]
    lines = [f"{file}: OK",
             f"  rows                 {summary['rows']}",
             f"  raters               {summary['raters']}",
             f"  per rater            min {per['min']}, median {per['median']:g}, max {per['max']}",
             f"  prompts              {summary['prompts']}",
             f"  distinct texts       {summary['distinct_texts']}",
             f"  groups               {', '.join(summary['groups']) or '-'}",
             f"  ties                 {summary['ties']}",
             f"  duplicate rows       {summary['duplicate_comparisons']}",
             f"  contradictory pairs  {summary['contradictory_duplicates']}",
             f"  pairs judged by 2+   {summary['pairs_judged_by_several_raters']}",
             f"  inter-rater agreement {summary['inter_rater_agreement']}"]
    click.echo("\n".join(lines))


@data.command("convert")
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output .jsonl or .parquet in TRL's preference format plus the rater column.")
def data_convert(file, rater_column, kind, out):
    """Convert FILE (comparisons, ratings or rankings) to TRL pairwise format."""
    from .data import write_comparisons

    table = _read(file, kind, rater_column)
    write_comparisons(table, out, rater_column=rater_column)
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters to {out}")


@data.command("synth")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output .jsonl or .parquet; the ground truth goes beside it (.truth.json).")
@click.option("--seed", default=0, show_default=True)
@click.option("--raters", default=400, show_default=True)
@click.option("--comparisons-per-rater", default=100, show_default=True)
@click.option("--noise", default=0.0, show_default=True, help="Probability of flipping a label.")
@click.option("--adversarial", default=0.0, show_default=True,
              help="Fraction of raters answering against their taste.")
@click.option("--position-bias", default=0.0, show_default=True,
              help="Fraction of raters who mostly pick the response shown first.")
@click.option("--careless", default=0.0, show_default=True,
              help="Fraction of raters who pick at random.")
def data_synth(out, seed, raters, comparisons_per_rater, noise, adversarial, position_bias, careless):
    """Write the built-in pluralistic benchmark with its ground truth."""
    from .data import SynthConfig
    from .jobs import write_benchmark

    config = SynthConfig(seed=seed, raters=raters, comparisons_per_rater=comparisons_per_rater,
                         noise=noise, adversarial=adversarial, position_bias=position_bias,
                         careless=careless)
    bench, truth_path = write_benchmark(config, Path(out))
    click.echo(f"wrote {len(bench.table)} comparisons, {len(bench.texts)} texts, "
               f"{raters} raters to {out}; ground truth in {truth_path} "
               f"(Bayes accuracy {bench.bayes_accuracy():.3f})")


@data.command("persona")
@click.option("--src", required=True, type=click.Path(file_okay=False),
              help="Folder of persona files (NAME.jsonl with statement, answer_matching_behavior).")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--raters", default=240, show_default=True)
@click.option("--groups", default=8, show_default=True)
@click.option("--traits-per-rater", default=2, show_default=True)
@click.option("--behaviours", default=16, show_default=True, help="Behaviour files used.")
@click.option("--statements-per-behaviour", default=80, show_default=True)
@click.option("--comparisons-per-rater", default=60, show_default=True)
@click.option("--seed", default=0, show_default=True)
def data_persona(src, out, **options):
    """Build a PAL-style heterogeneous preference dataset from persona statements."""
    from .data import write_comparisons
    from .data.persona import PersonaConfig, persona_benchmark

    table = persona_benchmark(Path(src), PersonaConfig(**options))
    write_comparisons(table, out)
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters in "
               f"{len(set(table.group))} groups to {out}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@click.option("--encoder", default="minilm", show_default=True,
              help="minilm (bundled, fastest faithful variant), minilm-exact (fp32), minilm-int8, "
                   "minilm-bf16, hashing[:DIM], or hf:PATH[:mean|last].")
@click.option("--text-format", type=click.Choice(["response", "prompt+response"]),
              default="response", show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Embedding cache root (default $PLURALIST_CACHE or ~/.cache/pluralist).")
def embed(file, rater_column, kind, encoder, text_format, cache_dir):
    """Embed every distinct text of FILE into the cache."""
    from .pipeline import embed as embed_texts

    embedded = embed_texts(_read(file, kind, rater_column), encoder, text_format=text_format,
                           cache_dir=cache_dir, progress=True)
    stats, encoder_id = embedded.stats, embedded.encoder_id
    rate = f"{stats.texts_per_second:.0f} texts/s" if stats.embedded else "nothing to embed"
    click.echo(f"{stats.texts} distinct texts with {encoder_id}: {stats.hits} cache hits, "
               f"{stats.embedded} embedded in {stats.seconds:.1f}s ({rate})")


noise_options = _option_group(
    click.option("--noise", type=click.Choice(["none", "label-smoothing", "unbiased", "em", "peer-review"]),
                 default="none", show_default=True, help="How to treat possibly flipped labels."),
    click.option("--noise-rate", default=0.0, show_default=True,
                 help="Known flip rate (label-smoothing, unbiased), or the share peer review drops."),
)


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


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--family", required=True, help="bt, lowrank, mixture, ideal_point, variational, gpm, decomposed.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@data_options
@click.option("--encoder", default="minilm", show_default=True)
@click.option("--text-format", type=click.Choice(["response", "prompt+response"]),
              default="response", show_default=True)
@click.option("--rank", type=int, default=None,
              help="Size of the rater space: rank, components, prototypes, directions, blocks or latent units.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Any other hyperparameter of the family, e.g. --option simplex=true.")
@click.option("--epochs", default=40, show_default=True)
@click.option("--batch-size", default=512, show_default=True)
@click.option("--lr", default=1e-2, show_default=True)
@click.option("--seed", default=0, show_default=True)
@noise_options
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def train(file, family, out, rater_column, kind, encoder, text_format, rank, options, epochs,
          batch_size, lr, seed, noise, noise_rate, cache_dir):
    """Train a reward model of one family on FILE and save it to --out."""
    from .noise import check_noise_option
    from .pipeline import family_options, train_and_save
    from .train import TrainConfig

    check_noise_option(noise, noise_rate)   # before the texts are embedded
    opts = family_options(family, rank, _parse_options(options))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=True)
    model, summary = train_and_save(_read(file, kind, rater_column), family, Path(out),
                                    encoder_name=encoder, text_format=text_format, options=opts,
                                    config=config, cache_dir=cache_dir, noise=noise,
                                    noise_rate=noise_rate)
    result = summary["train"]
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


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Profile JSON to write.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def adapt(model_dir, file, rater_column, kind, out, cache_dir):
    """Fit each rater in FILE (new people) with the model's shared parts frozen."""
    from .fileio import write_json_atomic
    from .pipeline import adapt_raters

    profiles = adapt_raters(model_dir, _read(file, kind, rater_column), cache_dir=cache_dir)
    write_json_atomic(out, profiles)
    click.echo(f"adapted {len(profiles['profiles'])} rater(s); profiles in {out}")


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("responses", nargs=-1, required=True)
@click.option("--rater", default="", help="Rater id; unknown raters get the population reward.")
@click.option("--prompt", default="", help="The prompt the responses answer.")
@click.option("--profile", type=click.Path(dir_okay=False), default=None,
              help="Profiles from `pluralist adapt`, for raters the model has not seen.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def score(model_dir, responses, rater, prompt, profile, cache_dir):
    """Print the rewards of RESPONSES for a rater, best first."""
    from .pipeline import score as score_responses

    rewards, source = score_responses(model_dir, rater, prompt, list(responses),
                                      profile_path=profile, cache_dir=cache_dir)
    click.echo(f"# rater {rater or '(none)'}: {source}")
    for reward, response in sorted(zip(rewards, responses), key=lambda pair: -pair[0]):
        click.echo(f"{reward:+.4f}\t{response}")


split_options = _option_group(
    click.option("--unseen", default=0.25, show_default=True,
                 help="Raters held out entirely: a fraction (< 1) or a count."),
    click.option("--test-fraction", default=0.2, show_default=True,
                 help="Share of each seen rater's comparisons held out for testing."),
)

eval_options = _option_group(
    click.option("--shots", default="0,1,2,5,10,20,50", show_default=True,
                 help="k values of the new-rater curve."),
    click.option("--draws", default=3, show_default=True, help="Random draws of the k per point."),
    click.option("--truth", type=click.Path(dir_okay=False), default=None,
                 help="Ground truth (.truth.json) for Bayes accuracy; found beside FILE by default."),
)


def _eval_config(shots: str, draws: int, seed: int):
    from .experiment import EvalConfig

    try:
        ks = tuple(int(k) for k in shots.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {shots!r}",
                                 param_hint="--shots") from None
    return EvalConfig(shots=ks, draws=draws, seed=seed)


def _unseen(value: float):
    return value if value < 1 else int(value)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--families", default="bt,lowrank,mixture,ideal_point,variational,gpm,decomposed",
              show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Report directory.")
@data_options
@split_options
@eval_options
@click.option("--encoder", default="minilm", show_default=True)
@click.option("--text-format", type=click.Choice(["response", "prompt+response"]), default="response")
@click.option("--seed", default=0, show_default=True)
@click.option("--epochs", default=40, show_default=True)
@noise_options
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def compare(file, families, out, rater_column, kind, unseen, test_fraction, shots, draws, truth,
            encoder, text_format, seed, epochs, noise, noise_rate, cache_dir):
    """Train several families on the same split of FILE and report them side by side."""
    from .jobs import compare_file
    from .noise import check_noise_option
    from .report import markdown_summary
    from .train import TrainConfig

    check_noise_option(noise, noise_rate)   # before the texts are embedded
    names = [f.strip() for f in families.split(",") if f.strip()]
    results, report = compare_file(
        _read(file, kind, rater_column), names, Path(out), data_name=file,
        split=dict(unseen=_unseen(unseen), test_fraction=test_fraction, seed=seed), truth=truth,
        encoder_name=encoder, text_format=text_format, train_config=TrainConfig(seed=seed, epochs=epochs),
        eval_config=_eval_config(shots, draws, seed), noise=(noise, noise_rate), cache_dir=cache_dir,
        command=_command_line())
    click.echo(markdown_summary(results))
    click.echo(f"report: {report}")


@cli.command("eval")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Report directory.")
@data_options
@eval_options
@click.option("--seed", default=0, show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def evaluate(model_dir, file, out, rater_column, kind, shots, draws, truth, seed, cache_dir):
    """Evaluate a trained model on FILE, held-out data: raters the model knows are
    seen raters, every other rater is a new one (adapted on k, tested on the rest)."""
    from .jobs import run_eval
    from .report import markdown_summary

    eval_config = _eval_config(shots, draws, seed)
    results, report = run_eval(model_dir, _read(file, kind, rater_column), Path(out), data_name=file,
                               truth=truth, eval_config=eval_config, cache_dir=cache_dir,
                               command=_command_line())
    click.echo(markdown_summary(results))
    click.echo(f"report: {report}")


@cli.command()
@click.option("--out", default="pluralist-demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--encoder", default="minilm", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def demo(out, encoder, seed, cache_dir):
    """The main job: benchmark -> embeddings -> models -> evaluation."""
    from .jobs import run_demo

    run_demo(Path(out), encoder_name=encoder, seed=seed, cache_dir=cache_dir, command=_command_line())


def main():
    cli(prog_name="pluralist")


if __name__ == "__main__":
    main()
