"""Print the README's benchmark tables from bench/results/*.json (no numbers typed by hand).

    python bench/tables.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
CORPORA = {"built-in": "built-in benchmark texts",
           "hh-rlhf": "real assistant replies (hh-rlhf harmless test, development data, not shipped)"}


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


AVX2_ENCODE = "bench/avx2_only.sh -- python bench/encode.py --out bench/results/encode_avx2.json"


def _round_range(whole: dict, name: str) -> str:
    """', single rounds A-Bx' where the results keep each round's ratio."""
    rounds = whole.get("ratio_per_round", {}).get(name)
    return f", single rounds {min(rounds):.2f}-{max(rounds):.2f}x" if rounds else ""


def encode_table(r: dict, command: str = "python bench/encode.py --accuracy") -> str:
    speed, ratio, tokens = r["texts_per_s_median"], r["ratio_to_sentence_transformers"], r["mean_tokens"]
    lines = [f"Encoding, `{command}` ({r['machine']['cpu_model']}, flags "
             f"{', '.join(r['machine']['cpu_flags'])}; texts/s, "
             f"median of {r['rounds']} rounds, each "
             "timing every variant back to back in one process; in brackets the median of the ratio to "
             "sentence-transformers within a round; `minilm` is "
             f"`{r['minilm_resolves_to']}` there):", "",
             f"| | short (~{tokens['short']:.0f} tokens) | medium (~{tokens['medium']:.0f}) | "
             f"long (~{tokens['long']:.0f}) | peak RSS MiB |", "|---|---|---|---|---|"]
    for variant in sorted(speed, key=lambda v: (v != "sentence-transformers", v)):
        row = speed[variant]
        cells = " | ".join(f"{row[k]:.1f} ({ratio[variant][k]:.2f}x)" for k in ("short", "medium", "long"))
        lines.append(f"| {variant} | {cells} | {row['peak_rss_mib']:.0f} |")
    lines.append("")
    for variant, corpora in r["fidelity"].items():
        lines.append(f"`{variant}` against `minilm-exact`, cosine at worst / on average: " + "; ".join(
            f"{f['cosine_min']:.5f} / {f['cosine_mean']:.5f} on {f['texts']} {CORPORA.get(corpus, corpus)}"
            for corpus, f in corpora.items() if corpus != "id") + ".")
    c = r["cached_rerun"]
    lines.append(f"A cached re-run of {c['texts']} texts embedded {c['embedded']} "
                 f"({c['texts_per_s']:,} texts/s).")
    if "whole_process" in r:
        w = r["whole_process"]
        lines.append(f"Whole process (a fresh command: import, model load, {w['texts']:,} texts of ~480 "
                     f"characters, no vectors cached; median of {w['rounds']} alternating runs, "
                     f"{w['cores']} cores, threads as each command picks them): sentence-transformers "
                     f"{w['texts_per_s_median']['sentence-transformers']:.1f} texts/s; " + "; ".join(
                         f"`{name.removeprefix('pluralist ')}` {w['texts_per_s_median'][name]:.1f} "
                         f"({ratio:.2f}x{_round_range(w, name)})"
                         for name, ratio in w["ratio_to_sentence_transformers"].items()) + ".")
    if "accuracy" in r:
        acc = r["accuracy"]
        lines.append("Accuracy on the demo split (seen / unseen k=20): " + "; ".join(
            f"`{encoder}` " + ", ".join(f"{family} {v['seen']:.3f} / {v['unseen_k20']:.3f}"
                                        for family, v in families.items())
            for encoder, families in acc.items()) + ".")
    return "\n".join(lines)


def gemm_table(r: dict, command: str = "python bench/gemm.py") -> str:
    lines = [f"Matrix products, `{command}` ({r['machine']['cpu_model']}, flags "
             f"{', '.join(r['machine']['cpu_flags'])}; one MiniLM "
             f"block's six products for {r['tokens_per_block_call']:,} tokens, {r['threads']} threads, "
             f"median of {r['rounds']}; the floor is what the products alone take for the "
             f"{r['whole_process_tokens']:,} tokens of the whole-process texts):", "",
             "| | ms per block | GMAC/s | vs torch fp32 | floor s |", "|---|---|---|---|---|"]
    for name, ms in r["block_ms"].items():
        lines.append(f"| {name} | {ms:.1f} | {r['gmac_per_s'][name]:.1f} | "
                     f"{r['ratio_to_torch_fp32'][name]:.2f}x | {r['products_floor_s'][name]:.1f} |")
    return "\n".join(lines)


def int8_choice_table(r: dict, command: str = "python bench/int8_choice.py") -> str:
    corpora = list(r["texts"])
    lines = [f"Int8 choices for `minilm-onnx-int8`, `{command}` ({r['machine']['cpu_model']}, flags "
             f"{', '.join(r['machine']['cpu_flags'])}; cosine to `minilm-exact`, worst / mean; "
             "bar 0.99 / 0.999):", "",
             "| int8 products; weights | " + " | ".join(f"{c} ({r['texts'][c]} texts)" for c in corpora)
             + " | meets the bar |", "|---|" + "---|" * (len(corpora) + 1)]
    shipped = r.get("shipped")
    for choice, f in r["choices"].items():
        cells = " | ".join(f"{f[c]['cosine_min']:.5f} / {f[c]['cosine_mean']:.5f}" for c in corpora)
        label = f"{choice} (shipped)" if choice == shipped else choice
        lines.append(f"| {label} | {cells} | {'yes' if f['meets_bar'] else 'no'} |")
    if "speed" in r:
        lines += ["", *_int8_speed_lines(r["speed"], shipped)]
    return "\n".join(lines)


def int8_budget_table(r: dict) -> str:
    corpora = list(r["texts"])
    calibration = ", ".join(f"{n:,} {name}" for name, n in r["calibration_texts"].items())
    lines = ["Where the int8 error goes, `python bench/int8_budget.py` (int8 products simulated in "
             "torch with ONNX Runtime's rounding, the shipped smoothing and batches; cosine to fp32, "
             f"worst / mean, and in brackets 1 - mean as a share of the bar's {r['budget']}; "
             f"GPTQ calibrated on {calibration} texts):", "",
             "| rounded | " + " | ".join(f"{c} ({r['texts'][c]} texts)" for c in corpora) + " |",
             "|---|" + "---|" * len(corpora)]
    for label, f in r["rows"].items():
        cells = " | ".join(f"{f[c]['cosine_min']:.5f} / {f[c]['cosine_mean']:.5f} ({f[c]['of_budget']:.1f}x)"
                           for c in corpora)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines)


def _int8_speed_lines(s: dict, shipped: str) -> list[str]:
    lines = [f"Speed of some of them: {s['texts']:,} texts encoded in one process, seconds "
             f"(median of {s['rounds']} alternating rounds):", "",
             "| graph | seconds | speed-up over fp32 | over the shipped choice |", "|---|---|---|---|"]
    for name, median in s["median_s"].items():
        label = {"fp32": "fp32 (`minilm-onnx`)", shipped: f"{shipped} (shipped)"}.get(name, name)
        lines.append(f"| {label} | {median} | {s['speedup_over_fp32'][name]:.2f}x | "
                     f"{s['speedup_over_shipped'][name]:.2f}x |")
    return lines


def train_table(r: dict) -> str:
    lines = [f"Training, `python bench/train.py` ({r['dim']}-d cached embeddings, {r['raters']:,} raters, "
             "10 epochs, batch 4096, each run in its own process):", "",
             "| family | comparisons | wall s | comparisons/s | peak RSS MiB | adapt k=20 median ms |",
             "|---|---|---|---|---|---|"]
    lowrank = {row["comparisons"]: row["wall_s"] for row in r["results"] if row["family"] == "lowrank"}
    lines[2] = lines[2].replace("| wall s |", "| wall s | / lowrank |")
    lines[3] += "---|"
    for row in r["results"]:
        ratio = f"{row['wall_s'] / lowrank[row['comparisons']]:.2f}" if row["comparisons"] in lowrank else "-"
        lines.append(f"| {row['family']} | {row['comparisons']:,} | {row['wall_s']} | {ratio} | "
                     f"{row['comparisons_per_s']:,} | {row['peak_rss_mib']} | {row['adapt_k20_median_ms']} |")
    if "scale" in r:
        s = r["scale"]
        lines += ["", f"At scale, `python bench/train.py --scale`: `{s['family']}` on {s['comparisons']:,} "
                  f"comparisons over {s['texts']:,} texts ({s['vector_table_mib']:,} MiB of vectors) and "
                  f"{s['raters']:,} raters, {s['epochs']} epochs in {s['wall_s']} s "
                  f"({s['comparisons_per_s']:,} comparisons/s, validation held out by {s['holdout']}), "
                  f"peak RSS {s['peak_rss_mib']:,} MiB (targets: 60 s, 6 GiB)."
                  + (f" The split by texts takes {s['text_holdout_s']} s of it (dropping "
                     f"{s['text_holdout_dropped']:,} rows that straddle the parts)."
                     if "text_holdout_s" in s else "")]
    return "\n".join(lines)


def read_table(r: dict) -> str:
    small = r["small"]
    return "\n".join([
        f"Reading, `python bench/read.py` (`pluralist data check` on Parquet, a fresh process each, "
        f"median of {len(r['wall_s_rounds'])} rounds on 2 cores):", "",
        "| rows | reader | wall s | CPU s | peak RSS MiB |", "|---|---|---|---|---|",
        f"| {r['rows']:,} ({r['file_mib']:,.0f} MiB, {r['summary']['distinct_texts']:,} texts, "
        f"{r['summary']['raters']:,} raters) | columnar | {r['wall_s']} | {r['cpu_s']} | "
        f"{r['peak_rss_mib']:,.0f} |",
        *(f"| {small['rows']:,} | {name.replace('_', ' ')} | {small[name]['wall_s']} | "
          f"{small[name]['cpu_s']} | {small[name]['peak_rss_mib']:,.0f} |"
          for name in ("columnar", "row_reader")),
        "", f"Targets for 10M rows: {r['targets']['wall_s']} s and {r['targets']['peak_rss_mib']:,} MiB."])


def demo_table(r: dict) -> str:
    return "\n".join([
        f"Demo, `python bench/demo.py{' --cold' if r['cold_cache'] else ''}`: {r['wall_s']:.0f} s "
        f"end to end{' with an empty embedding cache' if r['cold_cache'] else ''}; best personalised "
        f"family `{r['best_family']}` at {r['best_k20']:.3f} on unseen raters after 20 comparisons "
        f"against `bt` at {r['bt_k20']:.3f} ({100 * r['gain_over_bt_k20']:+.1f} points); best seen-rater "
        f"accuracy {100 * r['best_seen_fraction_of_bayes']:.1f}% of Bayes accuracy."])


def persona_table(r: dict) -> str:
    lines = ["Persona benchmark, `python bench/persona.py` (" + r["source"] + "; "
             f"{r['split']['seen_raters']} seen and {r['split']['unseen_raters']} unseen raters):", "",
             "| family | seen acc | unseen k=0 | k=5 | k=20 |", "|---|---|---|---|---|"]
    for row in r["results"]:
        lines.append(f"| {row['family']} | {row['seen_accuracy']:.3f} | {row['unseen_k0']:.3f} | "
                     f"{row['unseen_k5']:.3f} | {row['unseen_k20']:.3f} |")
    return "\n".join(lines)


def noise_table(r: dict) -> str:
    methods = list(dict.fromkeys(row["method"] for row in r["results"]))  # in the order run
    lines = [f"Label noise, `python bench/noise.py` (clean-label accuracy on seen raters' held-out "
             f"comparisons, mean of {len(r['seeds'])} draws of the benchmark, "
             f"the minority group `{r['minority_group']}` in brackets; a robust option "
             f"that needs a rate is given the true one, or {r['assumed_rate_when_unknown']} at 0 "
             "noise; `em` also shows its estimated flip rate; `clean-share`, the yardstick: plain "
             "training on the clean labels of (1 - 2e)^2 of the rows at noise e):", "",
             "| condition | family | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    cells = {}
    for row in r["results"]:
        text = f"{row['clean_accuracy']:.3f} ({row['minority_clean_accuracy']:.3f})"
        if "em_flip_rate" in row:
            text += f" rate {row['em_flip_rate']:.2f}"
        cells.setdefault((row["condition"], row["level"], row["family"]), {})[row["method"]] = text
    for (kind, level, family), by_method in cells.items():
        cells_of_row = " | ".join(by_method.get(m, "") for m in methods)
        lines.append(f"| {_condition(kind, level)} | {family} | {cells_of_row} |")
    return "\n".join(lines)


def noise_targets_table(r: dict) -> str:
    """The issue's targets per family, each with its verdict on the means over draws."""
    families = list(r["targets"])
    rows = {
        "the best robust option at 0.4 noise gains >= 5 points over plain training": lambda t: (
            f"`{t['best_robust_at_0.4']}` {_points(t['gain_at_0.4'], t['gain_at_0.4_se'])} (plain "
            f"{t['plain_at_0.4']:.3f}, yardstick {t['clean_share_reference_at_0.4']:.3f}; without a "
            f"validation split `{t['best_robust_at_0.4_without_validation']}` "
            f"{_points(t['gain_at_0.4_without_validation'], t['gain_at_0.4_without_validation_se'])} "
            f"over plain {t['plain_at_0.4_without_validation']:.3f})", "gain_at_0.4"),
        "that option costs <= 0.5 points at 0 noise": lambda t: (
            _points(t["loss_at_0_of_that_option"], t["loss_at_0_se"], ""), "loss_at_0"),
        "and the minority <= 1 point at every noise level (its largest drop)": lambda t: (
            f"{_points(t['largest_minority_drop_of_that_option'], t['minority_drop_se'], '')} "
            f"at {t['minority_drop_at']:g}", "minority_drop"),
        "EM's flip rate at a true 0.2 is within 0.05": lambda t: (f"{t['em_rate_at_0.2']:.3f}", "em_rate_at_0.2"),
        "adversarial raters at 5%: flag precision and recall >= 0.9": lambda t: (
            f"{_share(t['flag_precision_at_5pct'])} / {_share(t['flag_recall_at_5pct'])}", "flags_at_5pct"),
        "the same, counting the possibly adversarial": lambda t: (
            f"{_share(t['flag_or_possible_precision_at_5pct'])} / "
            f"{_share(t['flag_or_possible_recall_at_5pct'])}", "flags_or_possible_at_5pct")}
    lines = ["Targets, `python bench/noise.py` (means over the draws; a difference between two options "
             "is taken within a draw, ± its standard error across draws; points; shares are cut, not "
             "rounded, to three places, so that none below a target reads as reaching it):", "",
             "| target | " + " | ".join(f"`{f}`" for f in families) + " |", "|---|" + "---|" * len(families)]
    for label, cell in rows.items():
        texts = []
        for family in families:
            text, key = cell(r["targets"][family])
            texts.append(f"{text}: {'met' if r['targets'][family]['met'][key] else 'not met'}")
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def false_flags_table(r: dict) -> str:
    lines = ["Ordinary raters (neither adversarial nor careless) flagged by the reliability report, "
             f"`python bench/noise.py` (models trained plainly; mean per draw over {len(r['seeds'])} draws, of "
             f"{' or '.join(map(str, r['seen_raters']))} seen raters; the minority column counts "
             "adversarial and possibly adversarial flags):", "",
             "| condition | family | adversarial | possibly adversarial | random | of the adversarial ones, "
             "from the minority |", "|---|---|---|---|---|---|"]
    for row in r["results"]:
        if row["method"] == "none" and "false_adversarial_flags" in row:
            condition = _condition(row["condition"], row["level"])
            lines.append(f"| {condition} | {row['family']} | {row['false_adversarial_flags']:.1f} | "
                         f"{row['false_possible_flags']:.1f} | {row['false_random_flags']:.1f} | "
                         f"{row['false_flags_in_minority']:.1f} |")
    return "\n".join(lines)


def careless_table(r: dict) -> str:
    """How well the random flag finds careless raters (not one of the issue's targets)."""
    lines = ["Careless raters (5% of raters pick at random), `python bench/noise.py` (models trained "
             f"plainly; mean over {len(r['seeds'])} draws; `bt` gives no random flag):", "",
             "| family | random flag precision | recall |", "|---|---|---|"]
    for row in r["results"]:
        if row["condition"] == "careless" and "random_flag_recall" in row:
            precision = row.get("random_flag_precision")
            lines.append(f"| {row['family']} | {_share(precision)} | {_share(row['random_flag_recall'])} |")
    return "\n".join(lines)


def _condition(kind: str, level: float) -> str:
    if kind == "no-validation":
        return f"symmetric {level:g}, no validation split"
    return f"{kind} {level:g}" if kind == "symmetric" else f"{level:.0%} {kind}"


def flag_threshold_table(r: dict) -> str:
    lines = [f"Possibly-adversarial threshold, `python bench/flag_threshold.py` ({r['adversarial_share']:.0%} "
             f"adversarial raters, mean over draws {', '.join(map(str, r['seeds']))}; a rater is flagged when "
             "the reversal gain exceeds c standard errors and stands out from the typical rater's; "
             "then the same with 20% adversarial raters; last "
             f"column: ordinary raters flagged by the same rule at {r['noise']:.0%} symmetric noise, no "
             "adversarial rater, mean per draw):", "",
             "| family | c | precision | recall | minority raters falsely flagged | precision at 20% | "
             "recall at 20% | flagged under noise |", "|---|---|---|---|---|---|---|---|"]
    for family in r["families"]:
        for row in r["results"][family]:
            lines.append(f"| {family} | {row['threshold_se']:g} | {_share(row['precision'])} | {_share(row['recall'])} | "
                         f"{row['minority_false_alarms']} | {_share(row['precision_at_20pct'])} | "
                         f"{_share(row['recall_at_20pct'])} | {row['false_flags_under_noise']:.1f} |")
    return "\n".join(lines)


def real_table(r: dict) -> str:
    """One table per dataset, in the default text format: every family against bt and
    against its own k = 0."""
    default = r["default_text_format"]
    blocks = []
    for name, d in r["text_formats"].get(default, {}).items():
        split = d["split"]
        lines = [f"Real data, `python bench/real.py`: {name} ({d['comparisons']} comparisons, "
                 f"{d['raters']} raters; {split['seen_raters']} seen, {split['unseen_raters']} unseen; "
                 f"held out by {split['held_out_by']}, {split['dropped']} comparisons dropped; text format "
                 f"`{default}`{_raters_note(d)}); {_auto_note(d)}:", "",
                 "| family | seen acc [95% CI] | seen - bt [95% CI] | unseen k=0 | k=5 (- k=0) | k=20 (- k=0) |",
                 "|---|---|---|---|---|---|"]
        for family, row in sorted(d["families"].items(), key=lambda item: -item[1]["score"]):
            diff = row["seen_minus_bt"]
            lines.append(f"| {family} | {row['seen']:.3f} {_interval(row['seen_ci95'])} | "
                         f"{_points(diff['difference'], None)} {_interval(diff['ci95'], 100, '+.1f')} | "
                         f"{_maybe(row.get('k0'))} | {_kshot(row, 5)} | {_kshot(row, 20)} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


ELICIT_ORDER = ["random", "uncertainty", "information", "diverse"]


def elicit_table(r: dict) -> str:
    """Accuracy after q questions by strategy, labels saved against random, and latency."""
    persona = r["benchmark"].startswith("persona")
    scored = ("the held-out pairs the rater is not indifferent about, of "
              if persona else "") + f"{r['test_pairs']:,} held-out pairs of other texts"
    lines = [f"Active elicitation, `{r.get('command', 'python bench/elicit.py')}` "
             f"({'persona' if persona else 'built-in'} benchmark, {r['draws']} draws x "
             f"{r['raters_per_draw']} new raters; pool of {r['pool_pairs']:,} candidate pairs; accuracy: "
             f"expected accuracy under the ground truth on {scored}; labels saved: queries random needs "
             "for its q=20 accuracy / queries the strategy needs, mean [min, max] over the draws that "
             "reached it):", "",
             "| family | strategy | q=0 | q=5 | q=10 | q=20 | q=30 | queries to random's q=20 | labels saved |",
             "|---|---|---|---|---|---|---|---|---|"]
    for family, f in r["families"].items():
        for strategy in sorted(f["strategies"], key=ELICIT_ORDER.index):
            row = f["strategies"][strategy]
            curve, saved = row["curve"], row["labels_saved"]
            cells = " | ".join(f"{curve[q]:.3f}" if q < len(curve) else "-" for q in (0, 5, 10, 20, 30))
            need = row["queries_to_random_q20"]
            shown = ("-" if saved["mean"] is None else f"{saved['mean']:.2f} [{saved['min']:.2f}, "
                     f"{saved['max']:.2f}] ({saved['draws_reached']}/{saved['draws']})")
            lines.append(f"| {family} | {strategy} | {cells} | {'> ' + str(len(curve) - 1) if need is None else need} "
                         f"| {shown} |")
    lines.append("")
    lines.append(f"Next question from {next(iter(r['latency'].values()))['pool']:,} candidates, median ms "
                 "(in brackets the whole step after an answer: adapt, posterior, choice; "
                 f"{r['machine']}): " + "; ".join(
                     f"{family} " + ", ".join(f"{s} {t[s]['choose_median_ms']:.1f} ({t[s]['step_median_ms']:.1f})"
                                              for s in ("uncertainty", "information", "diverse"))
                     for family, t in r["latency"].items()) + ".")
    if "trust" in r:
        lines.append("The adaptation's calibrated trust in a new rater's own fit after k answers "
                     "(the first draw's models; 0 keeps the population's profile): " + "; ".join(
                         f"{family} " + ", ".join(f"k={k} {v:g}" for k, v in zip(t["shots"], t["trust"]))
                         for family, t in r["trust"].items()) + ".")
    lines.append("Targets: " + "; ".join(
        f"{family}: best `{t['best_strategy']}` reaches random's q=20 accuracy in "
        f"{t['best_queries_to_random_q20']} queries ({_half_labels(t)}), "
        f"{'never' if t['best_never_below_random_beyond_se'] else 'sometimes'} below random by more than the "
        f"draws' SE, choice {'within' if t['choose<=20ms_from_10000'] else 'over'} 20 ms"
        for family, t in r["targets"].items()) + ".")
    return "\n".join(lines)


def _half_labels(t: dict) -> str:
    if t.get("best<=10_queries") is None:
        return "not measurable: random's answers gain nothing by q=20"
    return "met: <= 10" if t["best<=10_queries"] else "not met: <= 10"


def serve_table(r: dict) -> str:
    t = r["targets"]
    m = r["machine"]
    lines = [f"Serving, `python bench/serve.py` (`/v1/score` with {r['responses_per_request']} responses of "
             f"~80 tokens, encoder `{r['encoder']}`, SQLite store; {m.get('cpu_model') or 'CPU'}, client "
             f"threads on the server's {m['cpu_count']} cores; the encoder alone embeds "
             f"{r['offline_texts_per_s_median']:.0f} texts/s offline in batches of 64; load average "
             f"{m['load_average'][0]:.1f} during the run):", "",
             "| texts | concurrency | requests | p50 ms | p99 ms | requests/s | texts/s |",
             "|---|---|---|---|---|---|---|"]
    for row in r["score"]:
        lines.append(f"| {row['texts']} | {row['concurrency']} | {row['requests']} | {row['p50_ms']:.1f} | "
                     f"{row['p99_ms']:.1f} | {row['requests_per_s']:.1f} | "
                     f"{format(row['texts_per_s'], '.1f') if 'texts_per_s' in row else '–'} |")
    for row in r["feedback"]:
        lines.append(f"| feedback write, texts {row['texts']} | 1 | {row['requests']} | {row['p50_ms']:.1f} | "
                     f"{row['p99_ms']:.1f} | {row['requests_per_s']:.1f} | – |")
    lines += ["", f"New texts at concurrency 8: {100 * t['new_c8_fraction_of_offline']:.0f}% of the encoder's "
              f"offline throughput (target 70%); cached p50 " + ", ".join(
                  f"{row['p50_ms']:.1f} ms at concurrency {row['concurrency']}"
                  for row in r["score"] if row["texts"] == "cached") + " (target 10); "
              "feedback write p99 " + ", ".join(f"{v:.1f} ms with texts {k}" for k, v in t["feedback_p99_ms"].items())
              + " (target 50)."]
    return "\n".join(lines)


def _raters_note(d: dict) -> str:
    return f"; a seeded sample of {d['max_raters']} raters" if d.get("max_raters") else ""


def _auto_note(d: dict) -> str:
    if not d.get("auto"):
        return "`auto` not run"
    splits = d["auto"].get("splits", 1)
    return f"`auto` chose `{d['auto']['chosen']}`" + (f" (mean over {splits} inner splits)" if splits > 1 else "")


def text_format_table(r: dict) -> str:
    """Each dataset and family under both text formats, paired on the same split."""
    response, both = r["text_formats"].get("response", {}), r["text_formats"].get("prompt+response", {})
    differences = r.get("format_differences", {})
    if not differences:
        return "(real: no dataset measured under both text formats yet)"
    lines = ["Text format, `python bench/real.py --text-format both` (the same split, seeds and "
             "families under each format; score: the mean of seen and unseen k=20 accuracy, as "
             "`auto` scores; last column: prompt+response - response in seen per-rater accuracy, "
             "paired over raters, points, 95% bootstrap interval):", "",
             "| dataset | family | seen: response | prompt+response | k=20: response | prompt+response "
             "| score: response | prompt+response | seen difference [95% CI] |", "|---|---|---|---|---|---|---|---|---|"]
    for name, by_family in differences.items():
        for family, diff in by_family.items():
            a, b = response[name]["families"][family], both[name]["families"][family]
            lines.append(f"| {name} | {family} | {a['seen']:.3f} | {b['seen']:.3f} | {_maybe(a.get('k20'))} | "
                         f"{_maybe(b.get('k20'))} | {a['score']:.3f} | {b['score']:.3f} | "
                         f"{_points(diff['difference'], None)} {_interval(diff['ci95'], 100, '+.1f')} |")
    return "\n".join(lines)


def aggregate_table(r: dict) -> str:
    """Each rule's pick from each family's model against the oracle's, by true utilities."""
    lines = [f"Choosing for many people, `{r['command']}` (built-in benchmark: {r['raters']} seen raters in "
             f"{len(r['groups'])} groups, the minority `{r['minority_group']}` {r['groups'][r['minority_group']]} "
             f"of them; {r['candidate_sets']} sets of {r['candidates_per_set']} new responses; every pick "
             "scored by the raters' true utilities on the win scale, mean over sets, model / oracle; "
             f"a random pick: mean {r['random_pick']['mean']:.3f}, worst group {r['random_pick']['worst_group']:.3f}, "
             f"minority {r['random_pick']['minority']:.3f}):", "",
             "| family | rule | mean | worst group | p10 | Gini | minority | rule's own value |",
             "|---|---|---|---|---|---|---|---|"]
    for family in r["families"]:
        for rule, row in family["rules"].items():
            cells = " | ".join(f"{row['model'][k]:.3f} / {row['oracle'][k]:.3f}"
                               for k in ("mean", "worst_group", "p10", "gini", "minority", "value"))
            lines.append(f"| {family['family']} | {rule} | {cells} |")
    lines.append("")
    for family in r["families"]:
        ratios = family["value_ratio"]
        lowest = min(ratios, key=ratios.get)
        share = family["minority_gain_share"]
        met = family["met"]
        lines.append(
            f"`{family['family']}`: `maxmin` over `mean` raises the minority's true utility by "
            f"{family['minority_gain_model']:+.3f}, the oracle's by {family['minority_gain_oracle']:+.3f} "
            f"({'n/a' if share is None else f'{share:.2f}'} of it; target 0.5): "
            f"{'met' if met['maxmin_minority_gain>=half_oracle'] else 'not met'} (the worst group's by "
            f"{family['worst_group_gain_model']:+.3f}, the oracle's by {family['worst_group_gain_oracle']:+.3f}); "
            "every rule's value within "
            f"10% of its oracle's (lowest {ratios[lowest]:.3f}, `{lowest}`): "
            f"{'met' if met['every_rule_within_10pct'] else 'not met'}.")
    return "\n".join(lines)


def threads_table(r: dict) -> str:
    m = r["median_s"]
    lines = [f"Shared machine, `python bench/threads.py` (a persona-size `lowrank` fit: 18,000 comparisons of "
             f"300 raters, loop, population refit and calibration; seconds, median of {len(r['rounds'])} rounds "
             f"on {r['cores']} cores; loaded: {r['busy_processes']} processes spinning beside it):", "",
             "| threads | quiet | loaded | loaded / quiet |", "|---|---|---|---|"]
    for name, slowdown in r["slowdown_loaded_over_quiet"].items():
        lines.append(f"| {name} | {m[name + ' | quiet']:.2f} | {m[name + ' | loaded']:.2f} | {slowdown:.2f} |")
    return "\n".join(lines)


def embed_scale_table(r: dict) -> str:
    speed = r["texts_per_s"]
    lines = [f"Embedding on Ray, `python bench/embed_scale.py` ({r['texts']} texts of ~480 characters, "
             f"`{r['encoder']}`, blocks of {r['block_size']}, texts/s, median of {len(r['rounds'])} rounds on "
             f"{r['cpus']} cores; actor start-up timed apart: {r['startup_s']['1']:.1f} s for 1, "
             f"{r['startup_s']['2']:.1f} s for 2):", "",
             "| local, 1 thread | local, all threads | Ray, 1 actor | Ray, 2 actors | Ray's overhead per block |",
             "|---|---|---|---|---|",
             f"| {speed['local_1_thread']:.1f} | {speed['local_all_threads']:.1f} | {speed['ray_1']:.1f} | "
             f"{speed['ray_2']:.1f} | {100 * r['ray_overhead_per_block_median']:+.1f}% (target under 10%) |"]
    return "\n".join(lines)


def _interval(pair, scale: float = 1.0, fmt: str = ".3f") -> str:
    return "[" + ", ".join(f"{scale * v + 0.0:{fmt}}" for v in pair) + "]"


def _maybe(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _kshot(row: dict, k: int) -> str:
    gain = row.get(f"k{k}_gain_over_k0")
    if row.get(f"k{k}") is None or gain is None:
        return _maybe(row.get(f"k{k}"))
    mark = " below" if gain["below_population"] else ""
    return f"{row[f'k{k}']:.3f} ({_points(gain['gain'], None)} {_interval(gain['gain_ci95'], 100, '+.1f')}{mark})"


def _points(value: float, se: float | None, sign: str = "+") -> str:
    shown = round(100 * value, 1) + 0.0   # + 0.0: no "-0.0"
    return f"{shown:{sign}.1f}" + (f" ± {100 * se:.1f}" if se is not None else "")


def _share(value) -> str:
    """Cut to three places (0.8996 reads 0.899): a share below a target never reads as reaching it."""
    return "-" if value is None else f"{math.floor(1000 * value + 1e-9) / 1000:.3f}"


def main() -> None:
    loaded = {}
    avx2_gemm = "bench/avx2_only.sh -- python bench/gemm.py --out bench/results/gemm_avx2.json"
    for name, render in (("demo", demo_table), ("train", train_table), ("encode", encode_table),
                         ("encode_avx2", lambda r: encode_table(r, AVX2_ENCODE)), ("gemm", gemm_table),
                         ("gemm_avx2", lambda r: gemm_table(r, avx2_gemm)),
                         ("int8_choice_avx2", lambda r: int8_choice_table(
                             r, "bench/avx2_only.sh -- python bench/int8_choice.py "
                                "--out bench/results/int8_choice_avx2.json")),
                         ("int8_budget", int8_budget_table),
                         ("persona", persona_table), ("noise", noise_table), ("noise", noise_targets_table),
                         ("noise", false_flags_table), ("noise", careless_table),
                         ("flag_threshold", flag_threshold_table), ("real", real_table),
                         ("real", text_format_table), ("elicit", elicit_table), ("elicit_persona", elicit_table),
                         ("serve", serve_table),
                         ("aggregate", aggregate_table), ("threads", threads_table),
                         ("embed_scale", embed_scale_table), ("read", read_table)):
        if name not in loaded:   # noise.json and real.json feed several tables: read once
            loaded[name] = load(name)
        result = loaded[name]
        print(render(result) if result else f"({name}: no results yet)")
        print()


if __name__ == "__main__":
    main()
