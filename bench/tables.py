"""Print the README's benchmark tables from bench/results/*.json (no numbers typed by hand).

    python bench/tables.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
CORPORA = {"built-in": "built-in benchmark texts",
           "hh-rlhf": "real assistant replies (hh-rlhf harmless test, development data, not shipped)"}


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def encode_table(r: dict) -> str:
    speed, ratio, tokens = r["texts_per_s_median"], r["ratio_to_sentence_transformers"], r["mean_tokens"]
    lines = [f"Encoding, `python bench/encode.py --accuracy` (texts/s, median of {r['rounds']} rounds; in "
             "brackets the median of the ratio to sentence-transformers within a round; `minilm` is "
             f"`{r['minilm_resolves_to']}` on this machine):", "",
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
    if "accuracy" in r:
        acc = r["accuracy"]
        lines.append("Accuracy on the demo split (seen / unseen k=20): " + "; ".join(
            f"`{encoder}` " + ", ".join(f"{family} {v['seen']:.3f} / {v['unseen_k20']:.3f}"
                                        for family, v in families.items())
            for encoder, families in acc.items()) + ".")
    return "\n".join(lines)


def train_table(r: dict) -> str:
    lines = [f"Training, `python bench/train.py` ({r['dim']}-d cached embeddings, {r['raters']:,} raters, "
             "10 epochs, batch 4096, each run in its own process):", "",
             "| family | comparisons | wall s | comparisons/s | peak RSS MiB | adapt k=20 median ms |",
             "|---|---|---|---|---|---|"]
    for row in r["results"]:
        lines.append(f"| {row['family']} | {row['comparisons']:,} | {row['wall_s']} | "
                     f"{row['comparisons_per_s']:,} | {row['peak_rss_mib']} | {row['adapt_k20_median_ms']} |")
    return "\n".join(lines)


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


def main() -> None:
    for name, render in (("demo", demo_table), ("train", train_table), ("encode", encode_table),
                         ("persona", persona_table)):
        result = load(name)
        print(render(result) if result else f"({name}: no results yet)")
        print()


if __name__ == "__main__":
    main()
