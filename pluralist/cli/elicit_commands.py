"""`pluralist elicit`: a session a person can sit through in a terminal (or a script
through a pipe): the next most useful comparison, one key per answer."""

from __future__ import annotations

import sys

import click

from .base import cache_dir_option, cli, COUNT, SEED

KEYS = {"1": "a", "2": "b", "t": "tie", "s": "skip", "q": "quit"}
_KEY_HELP = "1 or 2: the better response, t: a tie, s: skip, q: quit"


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--pool", "pool_path", required=True, type=click.Path(dir_okay=False),
              help="Candidate comparisons (JSONL: prompt with response_a/response_b, or with responses).")
@click.option("--rater", required=True, help="Who answers (the rater column of ANSWERS).")
@click.option("--answers", "answers_path", required=True, type=click.Path(dir_okay=False),
              help="JSONL the answers are appended to (TRL format with the rater column); resumed from.")
@click.option("--strategy", type=click.Choice(["random", "uncertainty", "information", "diverse"]),
              default="information", show_default=True, help="How the next question is chosen.")
@click.option("--queries", type=COUNT, default=20, show_default=True,
              help="Questions to answer in this session (skips do not count).")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), default=None,
              show_default="ANSWERS with .profile.json", help="Profile JSON, rewritten after each answer.")
@click.option("--simulate", type=click.Path(dir_okay=False), default=None, metavar="TRUTH",
              help="Answer as --rater of this ground truth (.truth.json of `pluralist data synth`).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="For the random strategy and the simulated answers.")
@cache_dir_option
def elicit(model_dir, pool_path, rater, answers_path, strategy, queries, profile_path, simulate,
           seed, cache_dir):
    """Ask --rater the comparisons of --pool that teach MODEL_DIR the most about them."""
    import numpy as np

    from ..workflows import start_elicitation

    if not rater.strip():
        raise click.BadParameter("must name a rater", param_hint="'--rater'")
    run = start_elicitation(model_dir, pool_path, answers_path, rater, strategy=strategy,
                            profile_path=profile_path, simulate=simulate, seed=seed,
                            cache_dir=cache_dir)
    rng = np.random.default_rng([seed, 1])
    answered = 0
    while answered < queries:
        rows = run.session.next()
        if not rows:
            _say_none_left(run, pool_path)
            break
        outcome = _simulated(run, rows[0], rng) if run.truth else _asked(run, rows[0], answered, queries)
        if outcome == "quit":
            break
        if outcome == "skip":
            run.session.skip(rows[0])
            continue
        run.record(rows[0], outcome)
        answered += 1
        click.echo(_progress(run, answered, queries))
    if not answered and not len(run.session.answers):
        return click.echo("no answers yet: nothing written")
    if not answered:
        run.write_profile()
    click.echo(f"answered {answered} in this session, {len(run.session.answers)} in all; answers in "
               f"{run.answers}, profile in {run.profile}")


def _asked(run, row: int, answered: int, queries: int) -> str:
    """Show one question and read one key (re-asking after any other key)."""
    pool = run.session.candidates.pool
    click.echo(f"\n--- question {answered + 1} of {queries} ---")
    if pool.prompt[row]:
        click.echo(f"prompt: {pool.prompt[row]}")
    click.echo(f"[1] {pool.a[row]}\n[2] {pool.b[row]}")
    while True:
        click.echo(f"your answer ({_KEY_HELP}): ", nl=False)
        key = _read_key()
        if key is None:   # end of input: stop, everything answered is saved
            click.echo("")
            return "quit"
        click.echo(key)
        if key.lower() in KEYS:
            return KEYS[key.lower()]
        click.echo(f"{key!r} is not one of 1, 2, t, s, q")


def _read_key() -> str | None:
    """One key: without Enter at a terminal; from a pipe the next non-blank character."""
    stream = sys.stdin   # one stream throughout: a new wrapper per key would lose what was read ahead
    if stream.isatty():
        return click.getchar()
    while True:
        char = stream.read(1)
        if not char:
            return None
        if not char.isspace():
            return char


def _simulated(run, row: int, rng) -> str:
    pool = run.session.candidates.pool
    outcome = run.truth.answer(pool.a[row], pool.b[row], rng)
    click.echo(f"{pool.id[row]}: {run.rater} (simulated) prefers response {'1' if outcome == 'a' else '2'}")
    return outcome


def _progress(run, answered: int, queries: int) -> str:
    belief = run.session.belief
    return (f"answered {answered}/{queries} ({len(belief.answers)} in all); posterior spread "
            f"{belief.posterior.spread():.3f}; expected accuracy {run.session.expected_accuracy():.3f}")


def _say_none_left(run, pool_path) -> None:
    session = run.session
    click.echo(f"no question left in {pool_path}: its {len(session.candidates)} candidate pair(s) "
               f"are all answered or skipped ({session.duplicates} answered before this session)")
