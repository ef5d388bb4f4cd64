"""The `pluralist` command. Thin: parse, call the library, print."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
from pathlib import Path

import click

from . import __version__
from .errors import PluralistError

_KINDS = ("comparisons", "ratings", "rankings")


class _OneLine(click.ClickException):
    """Any error, shown as pluralist shows errors: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def _one_line(message: str) -> _OneLine:
    # a file's name or a column's may hold a line break; the error stays one line
    return _OneLine(" ".join(str(message).splitlines()))


def _usage_line(err: click.ClickException) -> _OneLine:
    """click's own usage errors, as one line that says where help is."""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if isinstance(err, click.UsageError) and ctx else ""
    return _one_line(err.format_message() + hint)


class _Group(click.Group):
    """Turns every PluralistError, click usage error and file-system error into one
    line on stderr and exit code 2, and keeps the command line so that reports can say
    how to reproduce them."""

    def make_context(self, info_name, args, parent=None, **extra):
        with _as_one_line():
            ctx = super().make_context(info_name, list(args), parent=parent, **extra)
        if parent is None:
            ctx.meta["pluralist.argv"] = list(args)
        return ctx

    def invoke(self, ctx):
        with _as_one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def _as_one_line():
    """Re-raises what a user can act on as a _OneLine, which click shows as one line."""
    try:
        yield
    except (_OneLine, click.exceptions.NoArgsIsHelpError, BrokenPipeError):
        raise   # already one line, help asked for, or a closed pipe (click's to handle)
    except PluralistError as err:
        raise _one_line(str(err)) from None
    except click.ClickException as err:
        raise _usage_line(err) from None
    except OSError as err:   # the file system refused: say which file and why
        where = f"{err.filename}: " if err.filename else ""
        raise _one_line(f"{where}{err.strerror or err}") from None


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="pluralist")
def cli():
    """Reward models that respect how people differ."""


class _Finite(click.FloatRange):
    """A float in a range that is also finite: click's FloatRange lets NaN through."""

    name = "number"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class _Unseen(click.ParamType):
    """--unseen: a fraction of the raters (below 1) or a whole count."""

    name = "fraction-or-count"

    def convert(self, value, param, ctx):
        number = _Finite(min=0).convert(value, param, ctx)
        if number < 1:
            return number
        if number != int(number):
            self.fail(f"{value!r} is neither a fraction below 1 nor a whole count", param, ctx)
        return int(number)


class _Shots(click.ParamType):
    """--shots: comma-separated counts of comparisons, each >= 0."""

    name = "k,k,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [part.strip() for part in str(value).split(",")]
        if not all(re.fullmatch(r"[0-9]{1,9}", part) for part in parts):
            self.fail(f"expected comma-separated whole numbers >= 0, got {value!r}", param, ctx)
        return tuple(int(part) for part in parts)


_SEED = click.IntRange(0, 2**32 - 1)
_COUNT = click.IntRange(min=1)


def _out_path(ctx, param, value):
    """An --out path refused before any work when a file stands where a folder must."""
    if value is None:
        return value
    for parent in Path(value).parents:
        if parent.exists():
            if not parent.is_dir():
                raise click.BadParameter(f"{parent} is a file, so nothing can be written "
                                         f"below it", ctx=ctx, param=param)
            break
    return value


def _cache_root(ctx, param, value):
    """--cache-dir, or $PLURALIST_CACHE where it is not given, checked before any work."""
    from .encode.cache import check_cache_root

    check_cache_root(value)
    return value


def _rater_column(ctx, param, value):
    if value is not None and not value.strip():
        raise click.BadParameter("must name a column", ctx=ctx, param=param)
    return value


def _command_line() -> str:
    import shlex

    argv = click.get_current_context().meta.get("pluralist.argv", [])
    return "pluralist " + shlex.join(argv)


def _read(path: str, kind: str, rater_column: str | None):
    from .data import read_comparisons, read_rankings, read_ratings

    reader = {"comparisons": read_comparisons, "ratings": read_ratings,
              "rankings": read_rankings}[kind]
    return reader(path, rater_column=rater_column)


def _check_truth(truth: str | None, table, file: str) -> None:
    """A --truth file must be readable and cover every row; the one found beside FILE
    by default must be readable (it is skipped where it covers other rows)."""
    from .data.truth import read_truth
    from .workflows import truth_path_for

    if truth is not None:
        read_truth(truth, ids=table.id)
    elif truth_path_for(Path(file)).is_file():
        read_truth(truth_path_for(Path(file)))


def _option_group(*options):
    """One decorator applying several click options, in the order written."""
    def apply(func):
        for option in reversed(options):
            func = option(func)
        return func
    return apply


def _bundle(name: str, build, *options):
    """Like _option_group, but the command receives one value, `name`, built by
    `build(**those options' values)` before the command runs, instead of each option."""
    keys = [option(lambda: None).__click_params__[-1].name for option in options]

    def apply(func):
        @functools.wraps(func)
        def command(**kwargs):
            picked = {key: kwargs.pop(key) for key in keys}
            return func(**kwargs, **{name: build(**picked)})
        return _option_group(*options)(command)
    return apply


def _embed_spec(encoder: str, text_format: str = "response", cache_dir: str | None = None):
    from .encode import EmbedSpec

    return EmbedSpec(encoder, text_format, cache_dir)


def _noise_spec(noise: str, noise_rate: float):
    from .training import NoiseSpec

    return NoiseSpec(noise, noise_rate)   # refuses a bad combination before any work


_ENCODER_HELP = ("minilm (bundled, fastest faithful variant), minilm-exact (fp32), minilm-int8, "
                 "minilm-bf16, hashing[:DIM], or hf:PATH[:mean|last].")
_encoder = click.option("--encoder", default="minilm", show_default=True, help=_ENCODER_HELP)
_cache_dir = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                          callback=_cache_root,
                          help="Embedding cache root (default $PLURALIST_CACHE or ~/.cache/pluralist).")
embed_options = _bundle(
    "embedding", _embed_spec, _encoder,
    click.option("--text-format", type=click.Choice(["response", "prompt+response"]),
                 default="response", show_default=True),
    _cache_dir)
noise_options = _bundle(
    "noise", _noise_spec,
    click.option("--noise", default="none", show_default=True,
                 help="How to treat possibly flipped labels: none, label-smoothing, unbiased, em "
                      "or peer-review."),
    click.option("--noise-rate", type=_Finite(), default=0.0, show_default=True,
                 help="Known flip rate (label-smoothing, unbiased), or the share peer review drops."))


data_options = _option_group(
    click.option("--rater-column", default=None, show_default="rater", callback=_rater_column,
                 help="Column holding the rater id; every row must have it. By default "
                      "'rater' where the file has one, else the file is one population."),
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
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=_out_path,
              help="Output .jsonl or .parquet in TRL's preference format plus the rater column.")
def data_convert(file, rater_column, kind, out):
    """Convert FILE (comparisons, ratings or rankings) to TRL pairwise format."""
    from .data import write_comparisons
    from .data.io import check_output_format

    check_output_format(out)
    table = _read(file, kind, rater_column)
    write_comparisons(table, out, rater_column=rater_column or "rater")
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters to {out}")


@data.command("import")
@click.argument("format_name", metavar="FORMAT")
@click.argument("src", type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=_out_path,
              help="Output .jsonl or .parquet in TRL's preference format plus the rater column.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An option of the importer, e.g. --option map=rater=user_id,text=comment,score=s.")
def data_import(format_name, src, out, options):
    """Convert a dataset in its source FORMAT (prism, community-alignment, dices,
    summarize-from-feedback, mqm, personal-llm, ratings, rankings) to comparisons."""
    from .data import write_comparisons
    from .data.importers import import_dataset
    from .data.io import check_output_format

    check_output_format(out)
    pairs = dict(pair.partition("=")[::2] for pair in options)
    table = import_dataset(format_name, src, **{k.replace("-", "_"): v for k, v in pairs.items()})
    write_comparisons(table, out)
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters to {out}")


@data.command("synth")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=_out_path,
              help="Output .jsonl or .parquet; the ground truth goes beside it (.truth.json).")
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--raters", default=400, show_default=True)
@click.option("--comparisons-per-rater", default=100, show_default=True)
@click.option("--noise", type=_Finite(), default=0.0, show_default=True,
              help="Probability of flipping a label.")
@click.option("--adversarial", type=_Finite(), default=0.0, show_default=True,
              help="Fraction of raters answering against their taste.")
@click.option("--position-bias", type=_Finite(), default=0.0, show_default=True,
              help="Fraction of raters who mostly pick the response shown first.")
@click.option("--careless", type=_Finite(), default=0.0, show_default=True,
              help="Fraction of raters who pick at random.")
def data_synth(out, seed, raters, comparisons_per_rater, noise, adversarial, position_bias, careless):
    """Write the built-in pluralistic benchmark with its ground truth."""
    from .data import SynthConfig
    from .data.io import check_output_format
    from .workflows import write_benchmark

    check_output_format(out)
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
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=_out_path)
@click.option("--raters", type=_COUNT, default=240, show_default=True)
@click.option("--groups", type=_COUNT, default=8, show_default=True)
@click.option("--traits-per-rater", type=_COUNT, default=2, show_default=True)
@click.option("--behaviours", type=_COUNT, default=16, show_default=True,
              help="Behaviour files used.")
@click.option("--statements-per-behaviour", type=_COUNT, default=80, show_default=True)
@click.option("--comparisons-per-rater", type=_COUNT, default=60, show_default=True)
@click.option("--seed", type=_SEED, default=0, show_default=True)
def data_persona(src, out, **options):
    """Build a PAL-style heterogeneous preference dataset from persona statements."""
    from .data import write_comparisons
    from .data.io import check_output_format
    from .data.persona import PersonaConfig, persona_benchmark

    check_output_format(out)
    table = persona_benchmark(Path(src), PersonaConfig(**options))
    write_comparisons(table, out)
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters in "
               f"{len(set(table.group))} groups to {out}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@embed_options
def embed(file, rater_column, kind, embedding):
    """Embed every distinct text of FILE into the cache."""
    from .encode import embed as embed_texts

    embedded = embed_texts(_read(file, kind, rater_column), embedding, progress=True)
    stats, encoder_id = embedded.stats, embedded.encoder_id
    rate = f"{stats.texts_per_second:.0f} texts/s" if stats.embedded else "nothing to embed"
    click.echo(f"{stats.texts} distinct texts with {encoder_id}: {stats.hits} cache hits, "
               f"{stats.embedded} embedded in {stats.seconds:.1f}s ({rate})")


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
    from .training import TrainConfig

    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=True,
                       holdout=holdout)


_HOLDOUT_HELP = ("Hold out texts (no held-out comparison shares a text with the same rater's "
                 "training comparisons; linking ones are dropped) or pairs (leaks where texts repeat).")
_holdout = click.option("--holdout", type=click.Choice(["texts", "pairs"]), default="texts",
                        show_default=True, help=_HOLDOUT_HELP)
train_options = _bundle(
    "config", _train_config, _holdout,
    click.option("--epochs", type=_COUNT, default=40, show_default=True),
    click.option("--batch-size", type=_COUNT, default=512, show_default=True),
    click.option("--lr", type=_Finite(min=0, min_open=True), default=1e-2, show_default=True),
    click.option("--seed", type=_SEED, default=0, show_default=True))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--family", required=True,
              help="A registered family (an unknown name lists them), or auto: chosen on held-out data.")
@click.option("--out", required=True, type=click.Path(file_okay=False), callback=_out_path,
              help="Model directory to write.")
@data_options
@embed_options
@click.option("--rank", type=_COUNT, default=None,
              help="Size of the rater space: rank, components, prototypes, directions, blocks or latent units.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Any other hyperparameter of the family, e.g. --option simplex=true.")
@train_options
@noise_options
def train(file, family, out, rater_column, kind, embedding, rank, options, config, noise):
    """Train a reward model of one family on FILE and save it to --out."""
    from .models.registry import check_options
    from .training import family_options
    from .workflows import train_and_save

    if family == "auto" and (rank is not None or options):
        raise click.BadParameter("auto chooses the family at its own options: drop --rank and "
                                 "--option, or name the family", param_hint="'--family'")
    opts = {} if family == "auto" else check_options(family, family_options(family, rank,
                                                                            _parse_options(options)))
    model, summary = train_and_save(_read(file, kind, rater_column), family, Path(out), embedding,
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
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=_out_path,
              help="Profile JSON to write.")
@_cache_dir
def adapt(model_dir, file, rater_column, kind, out, cache_dir):
    """Fit each rater in FILE (new people) with the model's shared parts frozen."""
    from .fileio import write_json_atomic
    from .workflows import adapt_raters

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
@_cache_dir
def score(model_dir, responses, rater, prompt, profile, cache_dir):
    """Print the rewards of RESPONSES for a rater, best first."""
    from .workflows import score as score_responses

    rewards, source = score_responses(model_dir, rater, prompt, list(responses),
                                      profile_path=profile, cache_dir=cache_dir)
    click.echo(f"# rater {rater or '(none)'}: {source}")
    for reward, response in sorted(zip(rewards, responses), key=lambda pair: -pair[0]):
        click.echo(f"{reward:+.4f}\t{response}")


def _eval_config(shots: tuple[int, ...], draws: int, seed: int):
    from .evaluation import EvalConfig

    return EvalConfig(shots=shots, draws=draws, seed=seed)


_seed = click.option("--seed", type=_SEED, default=0, show_default=True)
eval_options = _bundle(
    "eval_config", _eval_config,
    click.option("--shots", type=_Shots(), default="0,1,2,5,10,20,50", show_default=True,
                 help="k values of the new-rater curve."),
    click.option("--draws", type=_COUNT, default=3, show_default=True,
                 help="Random draws of the k per point."),
    _seed)
_truth = click.option("--truth", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="Ground truth (.truth.json) for Bayes accuracy; found beside FILE by default.")
split_options = _bundle(
    "split", lambda unseen, test_fraction, holdout: {"unseen": unseen, "test_fraction": test_fraction,
                                                     "by": holdout},
    _holdout,
    click.option("--unseen", type=_Unseen(), default=0.25, show_default=True,
                 help="Raters held out entirely: a fraction (< 1) or a count."),
    click.option("--test-fraction", type=_Finite(0, 1, max_open=True), default=0.2,
                 show_default=True,
                 help="Share of each seen rater's comparisons held out for testing, in [0, 1)."))


def _families(value: str | None) -> list[str]:
    from .workflows import personalised_families

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
@click.option("--out", required=True, type=click.Path(file_okay=False), callback=_out_path,
              help="Report directory.")
@data_options
@split_options
@eval_options
@_truth
@embed_options
@click.option("--epochs", type=_COUNT, default=40, show_default=True)
@noise_options
def compare(file, families, out, rater_column, kind, split, eval_config, truth, embedding, epochs,
            noise):
    """Train several families on the same split of FILE and report them side by side."""
    from .evaluation import markdown_summary
    from .training import TrainConfig
    from .workflows import compare_file

    names, table = _families(families), _read(file, kind, rater_column)
    _check_truth(truth, table, file)
    results, report = compare_file(
        table, names, Path(out), embedding, data_name=file,
        split={**split, "seed": eval_config.seed}, truth=truth,
        train_config=TrainConfig(seed=eval_config.seed, epochs=epochs, holdout=split["by"]),
        eval_config=eval_config,
        noise=noise, command=_command_line(), say=_console().print)
    click.echo(markdown_summary(results))
    click.echo(f"report: {report}")


def _console():
    from rich.console import Console

    return Console()


@cli.command("eval")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), callback=_out_path,
              help="Report directory.")
@data_options
@eval_options
@_truth
@_cache_dir
def evaluate(model_dir, file, out, rater_column, kind, eval_config, truth, cache_dir):
    """Evaluate a trained model on FILE, held-out data: raters the model knows are
    seen raters, every other rater is a new one (adapted on k, tested on the rest)."""
    from .evaluation import markdown_summary
    from .workflows import run_eval

    table = _read(file, kind, rater_column)
    _check_truth(truth, table, file)
    results, report = run_eval(model_dir, table, Path(out), data_name=file,
                               truth=truth, eval_config=eval_config, cache_dir=cache_dir,
                               command=_command_line())
    click.echo(markdown_summary(results))
    click.echo(f"report: {report}")


@cli.command()
@click.option("--out", default="pluralist-demo", show_default=True, type=click.Path(file_okay=False),
              callback=_out_path)
@_bundle("embedding", _embed_spec, _encoder, _cache_dir)
@_seed
def demo(out, embedding, seed):
    """The main job: benchmark -> embeddings -> models -> evaluation."""
    from .evaluation import markdown_summary
    from .workflows import run_demo

    console = _console()
    console.rule("[bold]pluralist demo")
    results, report, headline = run_demo(Path(out), embedding, seed=seed, command=_command_line(),
                                         say=console.print)
    print(markdown_summary(results))
    console.print(f"best personalised family: {headline['best_family']}: "
                  f"{100 * headline['gain_over_bt_k20']:+.1f} points over bt on unseen raters at k=20, "
                  f"{100 * headline['best_seen_fraction_of_bayes']:.1f}% of Bayes accuracy on seen raters")
    console.print(f"report: {report}  ({headline['seconds']:.0f}s)")


def main():
    cli(prog_name="pluralist")


if __name__ == "__main__":
    main()
