"""The multi-step jobs behind the CLI: `demo` (the main job), `compare`, `eval`,
train-and-save, adapt, score and elicit. They return results and say how far they got through
`say` (the CLI prints it); they print nothing themselves."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .data import (SynthConfig, check_summary, generate, read_comparisons, split_raters,
                   write_comparisons)
from .data.split import Split, split_known
from .data.synthetic import SyntheticBenchmark
from .data.table import ComparisonTable
from .encode import EmbedSpec, compose_text, embed, get_encoder
from .errors import DataError, EncoderError, ModelError
from .evaluation.choose import choose_family
from .evaluation.protocol import Benchmark, EvalConfig, compare, evaluate_model
from .evaluation.report import check_report_dir, kshot_at, write_report
from .decide.elicit import Elicitation, TruthRater, criterion_used, read_truth_rater
from .decide.pool import (answer_record, answered_keys, appended_text, check_answer_encoders,
                          check_elicit_outputs, embed_pool, profile_path_for, read_pool)
from .fileio import write_json_atomic, write_text_atomic
from .models import (PreferenceData, RaterProfile, family_names, get_family, load_model,
                     read_model_meta, save_model)
from .models.io import check_model_out, profile_document, read_profile
from .training import NoiseSpec, TrainConfig, train


def quiet(message: str) -> None:
    """The default `say`: progress goes nowhere."""


def personalised_families() -> list[str]:
    """Every registered family with per-rater preferences (the demo trains them all)."""
    return [name for name in family_names() if get_family(name).personalised]


# --- data --------------------------------------------------------------------------

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
    truth_path = Path(truth) if truth else truth_path_for(Path(data_path))
    if not truth_path.is_file():
        return None
    p_by_id = json.loads(truth_path.read_text()).get("p_chosen", {})
    if not all(i in p_by_id for i in table.id):
        return None
    return np.array([p_by_id[i] for i in table.id])


def make_benchmark(table: ComparisonTable, split: Split, embedding: EmbedSpec, *, p_true=None,
                   progress=True, raters=None) -> Benchmark:
    """Embed the table and pair it with its split; the rater vocabulary is the split's
    seen raters unless a trained model's is given."""
    emb = embed(table, embedding, progress=progress)
    data = PreferenceData.from_table(table, emb, raters=split.seen_raters if raters is None else raters)
    return Benchmark(table, data, split, p_true)


def require_unseen(split: Split) -> Split:
    if not split.unseen_raters:
        raise DataError("the split has no unseen raters, so new-rater adaptation cannot be "
                        "evaluated; hold some out (--unseen)")
    return split


# --- one model ---------------------------------------------------------------------

def train_and_save(table: ComparisonTable, family: str, out: Path, embedding: EmbedSpec, *,
                   options: dict, config: TrainConfig, noise: NoiseSpec = NoiseSpec()):
    check_model_out(out)  # before any work: --out must not hold anything but a previous model
    if family != "auto":
        get_family(family)
    emb = embed(table, embedding, progress=config.progress)
    choice = None
    if family == "auto":
        choice = choose_family(table, emb, personalised_families(), config, seed=config.seed)
        family = choice["chosen"]
    data = PreferenceData.from_table(table, emb)
    model, result, prior = train(data, np.arange(len(table)), family, options=options,
                                 config=config, noise=noise)
    summary = {"encoder": embedding.encoder, "train": result.summary(),
               "adapt_prior": prior, "diagnostics": model.diagnostics(),
               "train_config": asdict(config), "comparisons": len(table), "auto": choice}
    save_model(model, out, extra=summary)
    return model, summary


def load_with_encoder(model_dir, cache_dir=None):
    """The model and the embedding it was trained with (refusing any other encoder)."""
    meta = read_model_meta(model_dir)
    encoder_name = meta.get("extra", {}).get("encoder")
    if not encoder_name or not isinstance(encoder_name, str):
        raise ModelError(f"{model_dir}: the model does not record its encoder name")
    try:
        encoder_id = get_encoder(encoder_name).id
    except EncoderError as err:
        raise ModelError(f"{model_dir}: its encoder {encoder_name!r} cannot be built: {err}") from None
    if encoder_id != meta["encoder_id"]:
        # the name is the model's own, so no option can fix this: the encoder changed
        raise ModelError(f"{model_dir}: model was trained on embeddings from {meta['encoder_id']!r}, "
                         f"but its encoder {encoder_name!r} now gives {encoder_id!r} (another "
                         "version or other files); train the model again")
    model = load_model(model_dir, encoder_id=encoder_id)
    return model, EmbedSpec(encoder_name, model.text_format, cache_dir, device=None)


def adapt_raters(model_dir, table: ComparisonTable, *, cache_dir=None) -> dict:
    """Fit a profile for every rater in `table`, shared parts frozen."""
    model, embedding = load_with_encoder(model_dir, cache_dir)
    data = PreferenceData.from_table(table, embed(table, embedding), raters=())
    profiles = {rater: model.adapt(data.batch(rows)) for rater, rows in table.rows_by_rater().items()}
    return profile_document(model, model_dir, profiles)


def score(model_dir, rater: str, prompt: str, responses: list[str], *, profile_path=None,
          cache_dir=None) -> tuple[list[float], str]:
    """Rewards of `responses` for `rater`, and which parameters produced them."""
    model, embedding = load_with_encoder(model_dir, cache_dir)
    profile = _profile_for(profile_path, rater, model, model_dir)  # checked before embedding
    texts = [compose_text(prompt, r, model.text_format) for r in responses]
    cache = embedding.cache()
    emb = torch.from_numpy(cache.embed(texts))
    prompt_emb = torch.from_numpy(cache.embed([prompt] * len(texts)))
    with torch.no_grad():
        if rater in model.raters:
            index = torch.full((len(texts),), model.raters.index(rater))
            return model.reward(index, emb, prompt_emb).tolist(), "seen rater"
        if profile is not None:
            return model.reward_adapted(profile, emb, prompt_emb).tolist(), "adapted profile"
        unknown = torch.full((len(texts),), -1)
        return model.reward(unknown, emb, prompt_emb).tolist(), "unknown rater: population reward"


def _profile_for(profile_path, rater, model, model_dir) -> RaterProfile | None:
    """`rater`'s profile, the whole file checked against the model even where the
    rater is a seen one (a profile for another model is a mistake worth saying)."""
    if profile_path is None:
        return None
    return read_profile(profile_path, rater, model, model_dir)


# --- reports -----------------------------------------------------------------------

def report_meta(bench: Benchmark, *, data_name: str, embedding: EmbedSpec, encoder_id: str,
                train_config: TrainConfig, eval_config: EvalConfig, command: str) -> dict:
    groups = {r: g for r, g in zip(bench.table.rater, bench.table.group)}
    return {"data": data_name, "comparisons": len(bench.table), "split": bench.split.summary(),
            "encoder": embedding.encoder, "encoder_id": encoder_id, "library_version": __version__,
            "train_config": train_config.__dict__, "eval_shots": list(eval_config.shots),
            "eval_draws": eval_config.draws, "seed": eval_config.seed,
            "command": command,
            "ground_truth": bench.p_true is not None, "notes": list(bench.notes), "auto": bench.auto,
            "seen_rater_groups": [groups[r] for r in bench.split.seen_raters]}


def family_line(family: str, result: dict) -> str:
    """One line of progress: a family's headline accuracies once it is evaluated."""
    shown = lambda value: "n/a" if value is None else f"{value:.3f}"
    return (f"    {family:<12} seen {shown(result['seen'].get('accuracy'))}   unseen k=0 "
            f"{shown(kshot_at(result, 0))}   k=20 {shown(kshot_at(result, 20))}"
            f"   ({result['train']['seconds']:.1f}s)")


def run_compare(bench: Benchmark, families: dict[str, dict], out: Path, *, data_name: str,
                embedding: EmbedSpec, train_config: TrainConfig, eval_config: EvalConfig,
                command: str, noise: NoiseSpec = NoiseSpec(), say=quiet) -> tuple[dict, Path]:
    results = compare(bench, families, train_config, eval_config, noise=noise,
                      on_done=lambda family, result: say(family_line(family, result)))
    meta = report_meta(bench, data_name=data_name, embedding=embedding,
                       encoder_id=bench.data.encoder_id, train_config=train_config,
                       eval_config=eval_config, command=command)
    return results, write_report(out, meta, results)


def require_seen_test(split: Split, data_name, test_fraction) -> Split:
    """Refuse, before any work, a split that leaves no seen rater a held-out comparison:
    `compare` reports every family's seen-rater accuracy and would have none to report."""
    if not split.seen_test.size:
        raise DataError(f"no seen rater has a held-out comparison to test on (--test-fraction "
                        f"{test_fraction:g} of each one's comparisons rounds to none); raise "
                        "--test-fraction or give raters more comparisons", source=str(data_name))
    return split


def compare_file(table: ComparisonTable, families: list[str], out: Path, embedding: EmbedSpec, *,
                 data_name: str, split: dict, truth, train_config: TrainConfig,
                 eval_config: EvalConfig, noise: NoiseSpec, command: str, say=quiet):
    """`pluralist compare`: split, embed, train every family, evaluate, report."""
    check_report_dir(out)  # before any work: a folder of other files is refused, not replaced
    for name in families:
        if name != "auto":
            get_family(name)  # refuse unknown names before any work
    parts = require_seen_test(require_unseen(split_raters(table, **split)), data_name,
                              split.get("test_fraction", 0.2))
    bench = make_benchmark(table, parts, embedding, p_true=load_truth(table, truth, data_name))
    if "auto" in families:   # chosen on the seen raters' training rows alone, as `train` would
        training = table.take(parts.train)
        choice = choose_family(training, embed(training, embedding), families, train_config,
                               seed=train_config.seed)
        bench.notes.append(f"auto: {choice['chosen']} ({choice['rule']})")
        bench.auto = choice
        families = sorted({*[f for f in families if f != "auto"], choice["chosen"]})
    return run_compare(bench, {n: {} for n in families}, out, data_name=str(data_name), noise=noise,
                       embedding=embedding, train_config=train_config,
                       eval_config=eval_config, command=command, say=say)


def run_eval(model_dir, table: ComparisonTable, out: Path, *, data_name: str, truth,
             eval_config: EvalConfig, cache_dir, command: str) -> tuple[dict, Path]:
    """Evaluate a saved model on held-out data: raters it knows are seen, others new."""
    check_report_dir(out)  # before any work: a folder of other files is refused, not replaced
    model, embedding = load_with_encoder(model_dir, cache_dir)
    bench = make_benchmark(table, split_known(table, model.raters, seed=eval_config.seed), embedding,
                           p_true=load_truth(table, truth, data_name), raters=model.raters)
    if not bench.split.seen_test.size:
        bench.notes.append("no rater of this file is known to the model: seen-rater metrics are absent")
    results = {model.family: {"options": {}, "train": {},
                              "adapt_prior": {"chosen": float(model.adapt_prior)},
                              **evaluate_model(model, bench, eval_config)}}
    meta = report_meta(bench, data_name=str(data_name), embedding=embedding,
                       encoder_id=model.encoder_id, train_config=TrainConfig(),
                       eval_config=eval_config, command=command)
    return results, write_report(out, meta, results)


# --- the demo ----------------------------------------------------------------------

def run_demo(out: Path, embedding: EmbedSpec, *, seed: int, command: str, say=quiet
             ) -> tuple[dict, Path, dict]:
    """Benchmark -> embeddings -> every family -> evaluation -> report; returns the
    results, the report's path and the demo's headline (demo_headline)."""
    check_report_dir(out / "report")  # before any work; a previous demo's report is replaced
    started = time.perf_counter()
    say("1/4 generating the built-in pluralistic benchmark ...")
    synth, _ = write_benchmark(SynthConfig(seed=seed), out / "data.jsonl")
    summary = check_summary(synth.table)
    say(f"    {summary['rows']} comparisons, {summary['raters']} raters in "
        f"{len(summary['groups'])} groups, {summary['distinct_texts']} texts; "
        f"Bayes accuracy {synth.bayes_accuracy():.3f}  -> {out / 'data.jsonl'}")
    split = require_unseen(split_raters(synth.table, unseen=100, seed=seed))
    say(f"2/4 split: {len(split.seen_raters)} seen raters ({len(split.train)} training, "
        f"{len(split.seen_test)} held-out comparisons), {len(split.unseen_raters)} unseen")
    say(f"3/4 embedding with {embedding.encoder} (cached) ...")
    bench = make_benchmark(synth.table, split, embedding, p_true=synth.p_chosen)
    say("4/4 training and evaluating bt and every personalised family ...")
    families = {"bt": {}, **{f: {} for f in personalised_families()}}
    results, report = run_compare(bench, families, out / "report", data_name="built-in benchmark",
                                  embedding=embedding, train_config=TrainConfig(seed=seed),
                                  eval_config=EvalConfig(seed=seed), command=command, say=say)
    headline = {**demo_headline(results), "seconds": time.perf_counter() - started}
    return results, report, headline


def demo_headline(results: dict) -> dict:
    """The demo's two claims, computed from the results (and checked by bench/demo.py)."""
    personalised = [f for f in results if get_family(f).personalised]
    best = max(personalised, key=lambda f: kshot_at(results[f], 20) or 0.0)
    return {"best_family": best,
            "bt_k20": kshot_at(results["bt"], 20), "best_k20": kshot_at(results[best], 20),
            "gain_over_bt_k20": kshot_at(results[best], 20) - kshot_at(results["bt"], 20),
            "best_seen_fraction_of_bayes": max(results[f]["seen"]["fraction_of_bayes"]
                                               for f in personalised)}


# --- elicitation -------------------------------------------------------------------

@dataclass(eq=False)
class ElicitRun:
    """An elicitation with its files: the session, the model it asks for, the other
    raters' profiles in ANSWERS (kept in PROFILE as `pluralist adapt` would write them)
    and, with --simulate, the known rater who answers."""

    session: Elicitation
    model_dir: str
    rater: str
    answers: Path
    profile: Path
    others: dict
    truth: TruthRater | None

    @property
    def model(self):
        return self.session.model

    def record(self, row: int, outcome: str) -> None:
        """Append the answer to ANSWERS (rewritten whole, atomically) and rewrite PROFILE."""
        pool = self.session.candidates.pool
        record = answer_record(self.rater, pool.prompt[row], pool.a[row], pool.b[row], outcome,
                               self.model.encoder_id, f"{self.rater}:{pool.id[row]}")
        text = appended_text(self.answers, record)
        write_text_atomic(self.answers, text)
        self.session.answer(row, outcome)
        self.write_profile()

    def write_profile(self) -> None:
        belief = self.session.belief
        doc = profile_document(self.model, self.model_dir, {**self.others, self.rater: belief.profile})
        doc["elicitation"] = {"rater": self.rater, "strategy": self.session.strategy,
                              "criterion": criterion_used(self.session.strategy, belief),
                              "answered": len(belief.answers),
                              "posterior_spread": belief.posterior.spread(),
                              "expected_accuracy": self.session.expected_accuracy()}
        write_json_atomic(self.profile, doc)


def start_elicitation(model_dir, pool_path, answers_path, rater: str, *, strategy: str,
                      profile_path=None, simulate=None, seed: int = 0, cache_dir=None) -> ElicitRun:
    """Check every input, embed the pool and resume from the rater's earlier answers."""
    answers = Path(answers_path)
    profile = Path(profile_path) if profile_path else profile_path_for(answers)
    check_elicit_outputs(answers, profile)
    model, embedding = load_with_encoder(model_dir, cache_dir)
    pool = read_pool(pool_path)
    truth = _truth_for_pool(simulate, rater, pool, pool_path) if simulate else None
    table = None
    if answers.exists() and answers.stat().st_size:
        check_answer_encoders(answers, model.encoder_id)
        table = read_comparisons(answers)
    cache = embedding.cache()
    candidates = embed_pool(pool, model, cache)
    prior, others = None, {}
    if table is not None:
        data = PreferenceData.from_table(table, embed(table, embedding), raters=())
        by_rater = table.rows_by_rater()
        prior = data.batch(by_rater[rater]) if rater in by_rater else None
        others = {r: model.adapt(data.batch(rows)) for r, rows in by_rater.items() if r != rater}
    session = Elicitation(model, candidates, prior=prior, strategy=strategy, seed=seed,
                          answered=answered_keys(table, rater) if table is not None else ())
    return ElicitRun(session, str(model_dir), rater, answers, profile, others, truth)


def _truth_for_pool(truth_path, rater: str, pool, pool_path) -> TruthRater:
    """The known rater, refused where the pool holds a text the ground truth does not know."""
    truth = read_truth_rater(truth_path, rater)
    for i, text in ((i, t) for i in range(len(pool)) for t in (pool.a[i], pool.b[i])):
        if text not in truth.attributes:
            raise DataError(f"candidate {pool.id[i]!r} has a response the ground truth {truth_path} "
                            "does not know, so no simulated answer exists for it", source=str(pool_path))
    return truth
# --- deciding for many people (decide/) ---------------------------------------------

@dataclass
class Panel:
    """A model and the raters it decides for (decide.utility.electorate)."""

    model: object
    embedding: EmbedSpec
    voters: object                 # decide.utility.Electorate
    left_out: list[str]            # raters of the groups file the model cannot speak for
    profiles: dict[str, RaterProfile]

    def notes(self) -> list[str]:
        groups = len(set(self.voters.groups))
        said = [f"{len(self.voters)} rater(s) in {groups} group(s)"]
        if self.left_out:
            said.append(f"{len(self.left_out)} rater(s) of the groups file left out: the model has "
                        f"neither seen them nor a profile for them (e.g. {self.left_out[0]!r})")
        return said


def load_panel(model_dir, *, groups_path=None, profiles_path=None, raters=None,
               cache_dir=None) -> Panel:
    """The model, its embedding and the raters to decide for: `raters`, or those of the
    groups file the model knows, or every seen and profiled rater, each their own group."""
    from .decide.utility import electorate, read_groups

    groups = read_groups(groups_path) if groups_path is not None else None  # before the model
    model, embedding = load_with_encoder(model_dir, cache_dir)
    profiles = read_profiles(profiles_path, model, model_dir) if profiles_path else {}
    voters, left_out = electorate(model, groups, profiles, raters)
    return Panel(model, embedding, voters, left_out, profiles)


def rater_source(panel: Panel, rater: str) -> str:
    if rater in panel.profiles:
        return "adapted profile"
    return "seen rater" if rater in panel.model.raters else "unknown rater: population preferences"


def read_profiles(path, model, model_dir) -> dict[str, RaterProfile]:
    """Every profile of a file `pluralist adapt` wrote, each checked against the model."""
    read_profile(path, "", model, model_dir)   # refuses a malformed file or another model's
    names = list(json.loads(Path(path).read_text(encoding="utf-8"))["profiles"])
    return {rater: read_profile(path, rater, model, model_dir) for rater in names}


def candidate_preferences(model, embedding: EmbedSpec, voters, sets) -> list[np.ndarray]:
    """(R, N, N) P_r(i > j) of each candidate set (decide.export.CandidateSet), the
    responses embedded as the model's own texts were; sets of one size scored together."""
    from .decide.utility import win_probabilities

    cache = embedding.cache()
    out: list[np.ndarray | None] = [None] * len(sets)
    by_size: dict[int, list[int]] = {}
    for k, candidates in enumerate(sets):
        by_size.setdefault(len(candidates.responses), []).append(k)
    for size, members in by_size.items():
        texts = [compose_text(sets[k].prompt, response, model.text_format)
                 for k in members for response in sets[k].responses]
        responses = torch.from_numpy(cache.embed(texts)).view(len(members), size, -1)
        prompts = torch.from_numpy(cache.embed([sets[k].prompt for k in members]))
        for k, win in zip(members, win_probabilities(model, voters, responses, prompts)):
            out[k] = win
    return out


def best_of_n(model_dir, candidates, *, rater=None, rule=None, scale="win", groups_path=None,
              profiles_path=None, cache_dir=None):
    """One prompt's candidates ranked for `rater`, or under `rule` over the panel, with
    every candidate's welfare over the panel (decide.aggregate.welfare); and notes."""
    from .decide.aggregate import Decision, decide, ranking, welfare
    from .decide.utility import electorate, utilities

    panel = load_panel(model_dir, groups_path=groups_path, profiles_path=profiles_path,
                       cache_dir=cache_dir)
    (win,) = candidate_preferences(panel.model, panel.embedding, panel.voters, [candidates])
    if rater is None:
        return decide(rule, win, panel.voters.groups, scale), [f"rule {rule}", *panel.notes()]
    one, _ = electorate(panel.model, None, panel.profiles, [rater])
    (own,) = candidate_preferences(panel.model, panel.embedding, one, [candidates])
    scores, report = utilities(own, scale)[0], welfare(utilities(win, scale), panel.voters.groups)
    notes = [f"rater {rater}: {rater_source(panel, rater)}", *panel.notes()]
    return Decision(f"rater {rater}", scores, ranking(scores, scores), report), notes


def export_pairs(model_dir, candidates_path, out, *, how, rater=None, rule=None, pairing,
                 scale="win", groups_path=None, profiles_path=None, cache_dir=None) -> dict:
    """`pluralist export`: candidates -> preference pairs labelled `how`
    (decide.export.labellings), written atomically to `out`; returns counts and notes."""
    from .decide.export import (check_pairs_path, labellings, pair_records, pairs, read_candidates,
                                 write_pairs)

    check_pairs_path(out)
    sets = read_candidates(candidates_path)                       # all checked before any work
    panel = load_panel(model_dir, groups_path=groups_path, profiles_path=profiles_path,
                       raters=[rater] if how == "rater" else None, cache_dir=cache_dir)
    records = []
    for candidates, win in zip(sets, candidate_preferences(panel.model, panel.embedding,
                                                           panel.voters, sets)):
        for label, scores, order in labellings(win, panel.voters.raters, panel.voters.groups, how,
                                               rule=rule, scale=scale):
            records += pair_records(candidates, pairs(scores, order, pairing), label)
    write_pairs(out, records)
    notes = panel.notes() if how != "rater" else [f"rater {rater}: {rater_source(panel, rater)}"]
    return {"pairs": len(records), "prompts": len(sets), "notes": notes}
