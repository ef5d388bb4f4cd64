"""OpenAI's summarize-from-feedback comparisons (Stiennon et al., 2020, "Learning to
summarize from human feedback", NeurIPS).

JSON lines (the release's `comparisons/batch*.json` files), one judgement a line:
`info` (the post: `id`, `post`, `title`, `subreddit`; for news articles `article`
and `site`), `summaries` (two objects with `text`, `policy`, `note`), `choice` (0 or
1, the index of the better summary), `worker` (the labeller's id), `batch`, `split`
and `extra.confidence`. SRC is one such file or a directory of them. The prompt is
the post as the paper's policies read it: subreddit, title, then the post.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ...errors import DataError
from ..io import iter_records
from ..records import FieldReader
from ..table import ComparisonTable
from ._common import identifier, nested_list, nested_text, pair, pair_table


def import_summarize_from_feedback(src: str | Path) -> ComparisonTable:
    """A comparisons file (or a directory of batch*.json / *.jsonl files) as comparisons."""
    pairs = []
    for path in _files(Path(src)):
        for where, record in iter_records(path):
            reader = FieldReader(record, source=str(path), where=where)
            judgement = _judgement(reader, f"{path.name}:{where}")
            if judgement is not None:
                pairs.append(judgement)
    return pair_table(pairs, str(src))


def _files(src: Path) -> list[Path]:
    if not src.is_dir():
        return [src]
    files = sorted(p for p in src.iterdir() if p.is_file() and
                   p.name.removesuffix(".gz").endswith((".json", ".jsonl")))
    if not files:
        raise DataError("no .json or .jsonl files in this directory", source=str(src))
    return files


def _judgement(reader: FieldReader, id: str) -> dict | None:
    prompt = _post(reader, reader.required("info"))
    summaries = nested_list(reader, "summaries")
    if len(summaries) != 2:
        reader.fail("summaries", f"expected two summaries, got {len(summaries)}")
    # The released texts begin with the space that followed "TL;DR:" in the query.
    texts = [nested_text(reader, s, "text", f"summaries[{i}].text").strip()
             for i, s in enumerate(summaries)]
    choice = reader.required("choice")
    if isinstance(choice, bool) or not isinstance(choice, int) or choice not in (0, 1):
        reader.fail("choice", f"expected 0 or 1 (the better summary's index), got {choice!r}")
    if texts[0] == texts[1]:
        return None   # a choice between two equal texts says nothing about either
    return pair(identifier(reader, "worker"), prompt, texts[choice], texts[1 - choice], id)


def _post(reader: FieldReader, info) -> str:
    if not isinstance(info, Mapping):
        reader.fail("info", f"expected an object, got {type(info).__name__}")
    # TL;DR posts have `post`; the CNN/DM articles of the later batches `article`.
    key = "article" if info.get("post") is None and info.get("article") is not None else "post"
    body = nested_text(reader, info, key, f"info.{key}")
    lines = []
    subreddit = nested_text(reader, info, "subreddit", "info.subreddit", required=False)
    title = nested_text(reader, info, "title", "info.title", required=False)
    if subreddit:
        lines.append(f"SUBREDDIT: r/{subreddit}")
    if title:
        lines.append(f"TITLE: {title}")
    return "\n".join(lines + [f"{key.upper()}: {body}"])
