from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line.strip() for line in readme if line.startswith("    python3 -m venv")]
    assert len(commands) == 2 and commands[0].endswith("pluralist demo")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci


def test_readme_numbers_are_the_benchmark_results():
    """Every table bench/tables.py renders from bench/results/*.json stands in the README."""
    import subprocess
    import sys

    rendered = subprocess.run([sys.executable, str(ROOT / "bench" / "tables.py")], check=True,
                              capture_output=True, text=True).stdout
    readme = (ROOT / "README.md").read_text()
    blocks = [b for b in rendered.strip().split("\n\n") if "no results yet" not in b]
    assert blocks and all(block in readme for block in blocks)


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    """The Python API block, run as written but with the model-free encoder (for speed)."""
    import re

    readme = (ROOT / "README.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert 'get_encoder("minilm")' in example
    monkeypatch.setenv("PLURALIST_CACHE", str(tmp_path))
    exec(compile(example.replace('get_encoder("minilm")', 'get_encoder("hashing:64")'), "README", "exec"), {})
    rate, rater_rate, flagged, interval = capsys.readouterr().out.split(maxsplit=3)
    assert 0 <= float(rate) < 0.5 and 0 <= float(rater_rate) < 1 and flagged.startswith("[")
