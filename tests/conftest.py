import json

import pytest


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings for malformed lines) to a .jsonl file."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """No test touches the user's embedding cache."""
    monkeypatch.setenv("PLURALIST_CACHE", str(tmp_path / "cache"))
