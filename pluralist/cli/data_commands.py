"""`pluralist data ...` (check, convert, import, synth, persona) and `pluralist embed`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .base import (cli, COUNT, data_options, embed_options, Finite, Group, out_path,
                  read_table, SEED)


@cli.group(cls=Group)
def data():
    """Inspect, convert and generate comparison data."""


@data.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@data_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def data_check(file, rater_column, kind, as_json):
    """Summarise FILE, or report the first problem in it."""
    from ..data import check_summary
    from ..data.check import check_file

    summary = check_file(file, rater_column=rater_column) if kind == "comparisons" \
        else check_summary(read_table(file, kind, rater_column))
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
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=out_path,
              help="Output .jsonl or .parquet in TRL's preference format plus the rater column.")
def data_convert(file, rater_column, kind, out):
    """Convert FILE (comparisons, ratings or rankings) to TRL pairwise format."""
    from ..data import write_comparisons
    from ..data.io import check_output_format

    check_output_format(out)
    table = read_table(file, kind, rater_column)
    write_comparisons(table, out, rater_column=rater_column or "rater")
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters to {out}")


@data.command("import")
@click.argument("format_name", metavar="FORMAT")
@click.argument("src", type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=out_path,
              help="Output .jsonl or .parquet in TRL's preference format plus the rater column.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An option of the importer, e.g. --option map=rater=user_id,text=comment,score=s.")
def data_import(format_name, src, out, options):
    """Convert a dataset in its source FORMAT (prism, community-alignment, dices,
    summarize-from-feedback, mqm, personal-llm, ratings, rankings) to comparisons."""
    from ..data import write_comparisons
    from ..data.importers import import_dataset
    from ..data.io import check_output_format

    check_output_format(out)
    pairs = dict(pair.partition("=")[::2] for pair in options)
    table = import_dataset(format_name, src, **{k.replace("-", "_"): v for k, v in pairs.items()})
    write_comparisons(table, out)
    click.echo(f"wrote {len(table)} comparisons from {len(table.raters)} raters to {out}")


@data.command("synth")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=out_path,
              help="Output .jsonl or .parquet; the ground truth goes beside it (.truth.json).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--raters", default=400, show_default=True)
@click.option("--comparisons-per-rater", default=100, show_default=True)
@click.option("--noise", type=Finite(), default=0.0, show_default=True,
              help="Probability of flipping a label.")
@click.option("--adversarial", type=Finite(), default=0.0, show_default=True,
              help="Fraction of raters answering against their taste.")
@click.option("--position-bias", type=Finite(), default=0.0, show_default=True,
              help="Fraction of raters who mostly pick the response shown first.")
@click.option("--careless", type=Finite(), default=0.0, show_default=True,
              help="Fraction of raters who pick at random.")
def data_synth(out, seed, raters, comparisons_per_rater, noise, adversarial, position_bias, careless):
    """Write the built-in pluralistic benchmark with its ground truth."""
    from ..data import SynthConfig
    from ..data.io import check_output_format
    from ..workflows import write_benchmark

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
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=out_path)
@click.option("--raters", type=COUNT, default=240, show_default=True)
@click.option("--groups", type=COUNT, default=8, show_default=True)
@click.option("--traits-per-rater", type=COUNT, default=2, show_default=True)
@click.option("--behaviours", type=COUNT, default=16, show_default=True,
              help="Behaviour files used.")
@click.option("--statements-per-behaviour", type=COUNT, default=80, show_default=True)
@click.option("--comparisons-per-rater", type=COUNT, default=60, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
def data_persona(src, out, **options):
    """Build a PAL-style heterogeneous preference dataset from persona statements."""
    from ..data import write_comparisons
    from ..data.io import check_output_format
    from ..data.persona import PersonaConfig, persona_benchmark

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
    from ..encode import embed as embed_texts

    embedded = embed_texts(read_table(file, kind, rater_column), embedding, progress=True)
    stats, encoder_id = embedded.stats, embedded.encoder_id
    rate = f"{stats.texts_per_second:.0f} texts/s" if stats.embedded else "nothing to embed"
    click.echo(f"{stats.texts} distinct texts with {encoder_id}: {stats.hits} cache hits, "
               f"{stats.embedded} embedded in {stats.seconds:.1f}s ({rate})")


