"""What every pluralist command shares: the group, one-line errors, option types and bundles."""

from __future__ import annotations

import contextlib
import functools
import math
import re
from pathlib import Path

import click

from .. import __version__
from ..errors import PluralistError

KINDS = ("comparisons", "ratings", "rankings")


class OneLine(click.ClickException):
    """Any error, shown as pluralist shows errors: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


def one_line(message: str) -> OneLine:
    # a file's name or a column's may hold a line break; the error stays one line
    return OneLine(" ".join(str(message).splitlines()))


def _usage_line(err: click.ClickException) -> OneLine:
    """click's own usage errors, as one line that says where help is."""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if isinstance(err, click.UsageError) and ctx else ""
    return one_line(err.format_message() + hint)


class Group(click.Group):
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
    """Re-raises what a user can act on as a OneLine, which click shows as one line."""
    try:
        yield
    except (OneLine, click.exceptions.NoArgsIsHelpError, BrokenPipeError):
        raise   # already one line, help asked for, or a closed pipe (click's to handle)
    except PluralistError as err:
        raise one_line(str(err)) from None
    except click.ClickException as err:
        raise _usage_line(err) from None
    except OSError as err:   # the file system refused: say which file and why
        where = f"{err.filename}: " if err.filename else ""
        raise one_line(f"{where}{err.strerror or err}") from None


@click.group(cls=Group)
@click.version_option(__version__, prog_name="pluralist")
def cli():
    """Reward models that respect how people differ."""


class Finite(click.FloatRange):
    """A float in a range that is also finite: click's FloatRange lets NaN through."""

    name = "number"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Unseen(click.ParamType):
    """--unseen: a fraction of the raters (below 1) or a whole count."""

    name = "fraction-or-count"

    def convert(self, value, param, ctx):
        number = Finite(min=0).convert(value, param, ctx)
        if number < 1:
            return number
        if number != int(number):
            self.fail(f"{value!r} is neither a fraction below 1 nor a whole count", param, ctx)
        return int(number)


class Shots(click.ParamType):
    """--shots: comma-separated counts of comparisons, each >= 0."""

    name = "k,k,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [part.strip() for part in str(value).split(",")]
        if not all(re.fullmatch(r"[0-9]{1,9}", part) for part in parts):
            self.fail(f"expected comma-separated whole numbers >= 0, got {value!r}", param, ctx)
        return tuple(int(part) for part in parts)


SEED = click.IntRange(0, 2**32 - 1)
COUNT = click.IntRange(min=1)


def out_path(ctx, param, value):
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
    from ..encode.cache import check_cache_root

    check_cache_root(value)
    return value


def _rater_column(ctx, param, value):
    if value is not None and not value.strip():
        raise click.BadParameter("must name a column", ctx=ctx, param=param)
    return value


def command_line() -> str:
    import shlex

    argv = click.get_current_context().meta.get("pluralist.argv", [])
    return "pluralist " + shlex.join(argv)


def read_table(path: str, kind: str, rater_column: str | None):
    from ..data import read_comparisons, read_rankings, read_ratings

    reader = {"comparisons": read_comparisons, "ratings": read_ratings,
              "rankings": read_rankings}[kind]
    return reader(path, rater_column=rater_column)


def check_truth(truth: str | None, table, file: str) -> None:
    """A --truth file must be readable and cover every row; the one found beside FILE
    by default must be readable (it is skipped where it covers other rows)."""
    from ..data.truth import read_truth
    from ..workflows import truth_path_for

    if truth is not None:
        read_truth(truth, ids=table.id)
    elif truth_path_for(Path(file)).is_file():
        read_truth(truth_path_for(Path(file)))


def option_group(*options):
    """One decorator applying several click options, in the order written."""
    def apply(func):
        for option in reversed(options):
            func = option(func)
        return func
    return apply


def bundle(name: str, build, *options):
    """Like option_group, but the command receives one value, `name`, built by
    `build(**those options' values)` before the command runs, instead of each option."""
    keys = [option(lambda: None).__click_params__[-1].name for option in options]

    def apply(func):
        @functools.wraps(func)
        def command(**kwargs):
            picked = {key: kwargs.pop(key) for key in keys}
            return func(**kwargs, **{name: build(**picked)})
        return option_group(*options)(command)
    return apply


def embed_spec(encoder: str, text_format: str = "response", cache_dir: str | None = None,
               engine: str = "local", address: str | None = None, workers: int | None = None,
               gpus_per_worker: float = 0.0, device: str = "auto"):
    from ..encode import EmbedSpec
    from ..encode.engine import EngineSpec

    return EmbedSpec(encoder, text_format, cache_dir,
                     EngineSpec(engine, address, workers, gpus_per_worker), device)


def _noise_spec(noise: str, noise_rate: float):
    from ..training import NoiseSpec

    return NoiseSpec(noise, noise_rate)   # refuses a bad combination before any work


_ENCODER_HELP = ("minilm (bundled, fastest faithful variant), minilm-exact (fp32), minilm-int8, "
                 "minilm-bf16, minilm-onnx (fp32 via ONNX Runtime), minilm-onnx-int8, hashing[:DIM], "
                 "or hf:PATH[:mean|last].")
encoder_option = click.option("--encoder", default="minilm", show_default=True, help=_ENCODER_HELP)
device_option = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
    help="Where transformer encoders run: a CUDA GPU where there is one (auto), in half "
         "precision but for minilm-exact; vectors from a GPU have their own encoder id.")
cache_dir_option = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                          callback=_cache_root,
                          help="Embedding cache root (default $PLURALIST_CACHE or ~/.cache/pluralist).")
embed_options = bundle(
    "embedding", embed_spec, encoder_option,
    click.option("--text-format", type=click.Choice(["response", "prompt+response"]),
                 default="response", show_default=True),
    cache_dir_option,
    click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                 help="Embed missing texts in this process, or on Ray actors (pip install "
                      "'pluralist[ray]'); either way into the same cache."),
    click.option("--address", default=None,
                 help="With --engine ray: the cluster to join (default: start one on this machine)."),
    click.option("--workers", type=COUNT, default=None,
                 help="With --engine ray: embedding actors (default: one per CPU of the cluster)."),
    click.option("--gpus-per-worker", type=Finite(min=0), default=0.0, show_default=True,
                 help="With --engine ray: GPUs each actor reserves."),
    device_option)
noise_options = bundle(
    "noise", _noise_spec,
    click.option("--noise", default="none", show_default=True,
                 help="How to treat possibly flipped labels: none, label-smoothing, unbiased, em "
                      "or peer-review."),
    click.option("--noise-rate", type=Finite(), default=0.0, show_default=True,
                 help="Known flip rate (label-smoothing, unbiased), or the share peer review drops."))


data_options = option_group(
    click.option("--rater-column", default=None, show_default="rater", callback=_rater_column,
                 help="Column holding the rater id; every row must have it. By default "
                      "'rater' where the file has one, else the file is one population."),
    click.option("--kind", type=click.Choice(KINDS), default="comparisons", show_default=True,
                 help="Pairwise comparisons, per-rater ratings, or per-rater rankings."),
)
