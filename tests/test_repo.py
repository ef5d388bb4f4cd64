from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line.strip() for line in readme if line.startswith("    python3 -m venv")]
    assert len(commands) == 2 and commands[0].endswith("pluralist demo")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci


def test_readme_numbers_are_the_benchmark_results():
    """Every table bench/tables.py renders from bench/results/*.json stands in the README
    or in bench/README.md (the long benchmark tables)."""
    import subprocess
    import sys

    rendered = subprocess.run([sys.executable, str(ROOT / "bench" / "tables.py")], check=True,
                              capture_output=True, text=True).stdout
    readme = (ROOT / "README.md").read_text() + "\n" + (ROOT / "bench" / "README.md").read_text()
    blocks = [b for b in rendered.strip().split("\n\n") if "no results yet" not in b]
    missing = [block.splitlines()[0][:100] for block in blocks if block not in readme]
    assert blocks and not missing, ("paste `python bench/tables.py` into README.md or bench/README.md; "
                                    f"not there: {missing}")


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


def _readme_command_lines():
    """Every `pluralist ...` command line in the README's indented blocks, as tokens."""
    import shlex

    for line in (ROOT / "README.md").read_text().splitlines():
        text = line.strip().removeprefix("$ ")
        if line.startswith("    ") and text.startswith("pluralist "):
            yield shlex.split(text.split(" # ")[0].split(" > ")[0])


def test_readme_command_lines_use_real_commands_and_options():
    """Each command line names a real (sub)command and only options its --help lists."""
    import click

    from pluralist.cli import cli

    lines = list(_readme_command_lines())
    assert len(lines) >= 10
    for tokens in lines:
        command, rest = cli, tokens[1:]
        while isinstance(command, click.Group):
            assert rest and rest[0] in command.commands, f"no such command: {' '.join(tokens)}"
            command, rest = command.commands[rest[0]], rest[1:]
        known = {opt for param in command.params for opt in param.opts}
        unknown = [token for token in rest if token.startswith("--") and token not in known]
        assert not unknown, f"{' '.join(tokens)}: no option {unknown}"


def test_readme_states_the_file_promise_once_and_names_no_registry_host():
    readme = (ROOT / "README.md").read_text()
    assert readme.count("never removes anything that is not a previous pluralist output") == 1
    assert readme.count("Outputs are written completely or not at all") == 1
    assert "pypi" not in readme.lower()
