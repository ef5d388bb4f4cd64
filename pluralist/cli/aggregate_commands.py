"""The commands that choose for many people at once: `best-of-n` and `export`."""

from __future__ import annotations

import click

from .base import cache_dir_option, cli, option_group, out_path


class Parsed(click.ParamType):
    """An option parsed by a library function that raises a PluralistError when wrong."""

    def __init__(self, name: str, parse):
        self.name, self.parse = name, parse

    def convert(self, value, param, ctx):
        from ..errors import PluralistError

        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except PluralistError as err:
            self.fail(getattr(err, "problem", str(err)), param, ctx)


def _parse_rule(text):
    from ..decide.aggregate import parse_rule

    return parse_rule(text)


def _parse_pairing(text):
    from ..decide.export import parse_pairing

    return parse_pairing(text)


_RULE_HELP = ("mean, maxmin (the worst-off group), nash, quantile:q (the q-th quantile rater), "
              "copeland or borda.")
panel_options = option_group(
    click.option("--groups", type=click.Path(dir_okay=False), default=None,
                 help="Any file with rater and group columns (a comparison file with a group "
                      "column will do); without it each seen rater is their own group."),
    click.option("--profiles", type=click.Path(dir_okay=False), default=None,
                 help="Profiles from `pluralist adapt`: raters the model has not seen."),
    click.option("--scale", type=click.Choice(["win", "rank"]), default="win", show_default=True,
                 help="Utility: win = the chance of being preferred to another candidate; rank "
                      "= the share of candidates ranked below (blind to intensity)."),
    cache_dir_option)
MAX_GROUP_COLUMNS = 8   # more groups than this and the ranking shows only the worst one


@cli.command("best-of-n")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("responses", nargs=-1, required=True)
@click.option("--prompt", default="", help="The prompt the responses answer.")
@click.option("--rater", default=None, help="Rank for this one rater (seen, profiled, or the population).")
@click.option("--rule", type=Parsed("rule", _parse_rule), default=None, show_default="mean",
              help=_RULE_HELP)
@panel_options
def best_of_n(model_dir, responses, prompt, rater, rule, groups, profiles, scale, cache_dir):
    """Rank RESPONSES for one rater or under a rule over many, each group's utility beside."""
    from ..decide.aggregate import parse_rule
    from ..decide.export import candidate_set
    from ..workflows import best_of_n as rank_responses

    if rater is not None and rule is not None:
        raise click.UsageError("give --rater (one person) or --rule (many), not both")
    candidates = candidate_set({"prompt": prompt, "responses": list(responses)}, source="command line",
                               where="RESPONSE arguments", prompt_required=False)
    decision, notes = rank_responses(model_dir, candidates, rater=rater, scale=scale,
                                     rule=rule or (parse_rule("mean") if rater is None else None),
                                     groups_path=groups, profiles_path=profiles, cache_dir=cache_dir)
    click.echo(f"# {'; '.join(notes)}; utility scale {scale}")
    _echo_ranking(decision, candidates.responses)


def _echo_ranking(decision, responses) -> None:
    """One line per response, best first: the score, the welfare figures, each group's utility."""
    welfare, groups = decision.welfare, decision.welfare["groups"]
    shown = list(groups) if len(groups) <= MAX_GROUP_COLUMNS else []
    click.echo("\t".join(["rank", "score", "mean", "worst group", "p10", "gini", *shown, "response"]))
    for place, k in enumerate(decision.order, start=1):
        cells = [str(place), f"{decision.scores[k]:.4f}", f"{welfare['mean'][k]:.4f}",
                 f"{welfare['worst_group'][k]:.4f} ({welfare['worst_group_name'][k]})",
                 f"{welfare['p10'][k]:.4f}", f"{welfare['gini'][k]:.4f}",
                 *(f"{groups[name][k]:.4f}" for name in shown), _one_line(responses[k])]
        click.echo("\t".join(cells))
    if not shown:
        click.echo(f"# {len(groups)} groups: their utilities are not shown one by one (name "
                   "fewer with --groups)")


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


@cli.command("export")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("candidates", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=out_path,
              help="Preference pairs to write (.jsonl, TRL's format).")
@click.option("--rater", default=None, help="Label by this rater's utility.")
@click.option("--each-rater", is_flag=True, help="Label by every rater's own utility (a rater column).")
@click.option("--each-group", is_flag=True, help="Label by every group's mean utility (a group column).")
@click.option("--rule", type=Parsed("rule", _parse_rule), default=None, help=_RULE_HELP)
@click.option("--pairing", type=Parsed("pairing", _parse_pairing), default="best-vs-each",
              show_default=True, help="best-vs-worst, best-vs-each, or above:M (every pair whose "
                                      "margin exceeds M).")
@panel_options
def export(model_dir, candidates, out, rater, each_rater, each_group, rule, pairing, groups,
           profiles, scale, cache_dir):
    """Turn CANDIDATES (JSON lines: prompt, responses) into preference pairs for DPO."""
    from ..workflows import export_pairs

    chosen = [name for name, given in (("--rater", rater is not None), ("--each-rater", each_rater),
                                       ("--each-group", each_group), ("--rule", rule is not None)) if given]
    if len(chosen) != 1:
        raise click.UsageError("label the pairs by exactly one of --rater ID, --each-rater, "
                               f"--each-group or --rule RULE (got {', '.join(chosen) or 'none'})")
    how = chosen[0].removeprefix("--")
    summary = export_pairs(model_dir, candidates, out, how=how, rater=rater, rule=rule, pairing=pairing,
                           scale=scale, groups_path=groups, profiles_path=profiles, cache_dir=cache_dir)
    click.echo(f"# {'; '.join(summary['notes'])}")
    click.echo(f"wrote {summary['pairs']} pair(s) from {summary['prompts']} prompt(s) to {out} "
               f"(labelled by {how if how != 'rule' else f'rule {rule}'}; pairing {pairing})")
