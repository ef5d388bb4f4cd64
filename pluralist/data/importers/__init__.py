"""Importers: the preference datasets people have, as one ComparisonTable each.

`IMPORTERS` maps a format name to (function, a one-line description, where the data
come from and under which licence). `import_dataset(name, src, **options)` runs one,
with its options as keyword arguments; an unknown format or option is an OptionError,
a problem in the source file a DataError naming file, line or row, and field. Writing
the table out is the caller's (pluralist.data.write_comparisons, atomically).
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Callable, NamedTuple

from ..table import ComparisonTable
from ._common import OptionError
from .community_alignment import import_community_alignment
from .dices import import_dices
from .mapped import import_rankings, import_ratings
from .mqm import import_mqm
from .personal_llm import import_personal_llm
from .prism import import_prism
from .summarize_from_feedback import import_summarize_from_feedback


class Importer(NamedTuple):
    function: Callable[..., ComparisonTable]
    description: str
    source: str


IMPORTERS: dict[str, Importer] = {
    "prism": Importer(
        import_prism,
        "PRISM DIR (conversations.jsonl, survey.jsonl): each turn's chosen response over "
        "the others, the dialogue so far as the prompt; survey attributes as groups",
        "PRISM (Kirk et al., NeurIPS 2024), HannahRoseKirk/prism-alignment on the Hugging "
        "Face Hub; human-written texts CC-BY-4.0, model responses CC-BY-NC-4.0."),
    "community-alignment": Importer(
        import_community_alignment,
        "Community Alignment CSV: each turn's preferred response over the other "
        "candidates, the dialogue so far as the prompt; annotator attributes as groups",
        "Community Alignment (Zhang et al., 2025), facebook/community-alignment-dataset "
        "on the Hugging Face Hub; CC-BY-4.0."),
    "dices": Importer(
        import_dices,
        "DICES CSV: pointwise safety answers (Q_overall) -> pairs within a rater, the "
        "safer conversation chosen; rater demographics as groups",
        "DICES-350 and DICES-990 (Aroyo et al., NeurIPS 2023), "
        "github.com/google-research-datasets/dices-dataset; CC-BY-4.0."),
    "summarize-from-feedback": Importer(
        import_summarize_from_feedback,
        "OpenAI summarize-from-feedback comparisons (JSON lines, a file or a directory "
        "of batches): the worker's choice of two summaries of a post",
        "Learning to summarize from human feedback (Stiennon et al., NeurIPS 2020), "
        "github.com/openai/summarize-from-feedback; the comparisons under OpenAI's "
        "modified MIT licence, the Reddit TL;DR posts under their own terms."),
    "mqm": Importer(
        import_mqm,
        "WMT MQM TSV: each rater's error-weighted score of every system's translation "
        "of a segment (Freitag et al. 2021 weights) -> pairs within a rater and segment",
        "WMT MQM human evaluation (Freitag et al., TACL 2021), "
        "github.com/google/wmt-mqm-human-evaluation; Apache-2.0."),
    "personal-llm": Importer(
        import_personal_llm,
        "PersonalLLM (prompt, 8 responses, 10 reward models' scores): simulated users "
        "as Dirichlet-weighted mixtures of the reward models (options alpha, seed)",
        "PersonalLLM (Zollo et al., ICLR 2025), namkoong-lab/PersonalLLM on the Hugging "
        "Face Hub; CC-BY-4.0."),
    "ratings": Importer(
        import_ratings,
        "any ratings file by column mapping (map='rater=user_id,text=comment,"
        "score=offensiveness,group=gender') -> pairs within a rater and prompt",
        "your own data, or per-annotator ratings such as POPQUORN or the politeness "
        "corpora; each under its own licence."),
    "rankings": Importer(
        import_rankings,
        "any rankings file by column mapping (map='rater=user,responses=first|second|"
        "third') -> every pair a ranking implies",
        "your own data; under its own licence."),
}


def import_dataset(name: str, src: str | Path, **options) -> ComparisonTable:
    """Convert `src` in format `name` (a key of IMPORTERS; '_' may stand for '-')."""
    key = name.strip().lower().replace("_", "-")
    if key not in IMPORTERS:
        raise OptionError(f"unknown format {name!r} (known: {', '.join(IMPORTERS)})")
    function = IMPORTERS[key].function
    return function(src, **checked_options(key, function, options))


def checked_options(name: str, function: Callable, options: dict) -> dict:
    """Options the importer takes, text values (as a command line gives them) read as
    the number or flag the option expects; anything else is an OptionError."""
    takes = [p.name for p in inspect.signature(function).parameters.values()
             if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(takes))
    if unknown:
        raise OptionError(f"{name}: unknown option(s) {', '.join(unknown)} "
                          f"(it takes: {', '.join(takes) or 'none'})")
    hints = typing.get_type_hints(function)
    return {key: _read_option(name, key, value, hints.get(key)) for key, value in options.items()}


def _read_option(name: str, key: str, value, hint):
    kinds = set(typing.get_args(hint)) or {hint}
    if not isinstance(value, str) or str in kinds:
        return value
    if type(None) in kinds and value.strip().lower() in ("", "none"):
        return None
    for kind in (bool, int, float):
        if kind in kinds:
            parsed = _parse(kind, value.strip())
            if parsed is not None:
                return parsed
    expected = " or ".join(k.__name__ for k in (bool, int, float) if k in kinds) or "a value"
    raise OptionError(f"{name}: option {key!r} must be {expected}, got {value!r}")


def _parse(kind: type, text: str):
    if kind is bool:
        return {"true": True, "yes": True, "1": True,
                "false": False, "no": False, "0": False}.get(text.lower())
    try:
        return kind(text)
    except ValueError:
        return None


__all__ = ["IMPORTERS", "Importer", "OptionError", "import_dataset", "checked_options",
           "import_prism", "import_community_alignment", "import_dices",
           "import_summarize_from_feedback", "import_mqm", "import_personal_llm",
           "import_ratings", "import_rankings"]
