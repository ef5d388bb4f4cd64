"""Print the README's benchmark tables from bench/results/*.json (no numbers typed by hand).

    python bench/tables.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def encode_table(r: dict) -> str:
    return "\n".join([
        f"Encoding, `python bench/encode.py` ({r['texts']} benchmark responses of ~{r['mean_tokens']:.0f} "
        f"tokens, median of {r['repeats']} runs):", "",
        "| | texts/s |", "|---|---|",
        f"| pluralist `minilm`, cold cache | {r['cold_texts_per_s_median']:.1f} |",
        f"| pluralist `minilm`, cached re-run | {r['cached_texts_per_s_median']:,.0f} |",
        f"| sentence-transformers `encode`, same model and texts | {r['sentence_transformers_texts_per_s_median']:.1f} |"])


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
