"""The README's Layout section against the tree: it names every subpackage and every
top-level module of pluralist/ and nothing that does not exist, and its chain of layers
is the one tests/test_layers.py enforces."""

import re
from pathlib import Path

from .test_layers import LAYERS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pluralist"


def layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert match, "README.md has no '## Layout' section"
    return match.group(1)


def in_tree() -> set[str]:
    """'pluralist/data/' for every subpackage (nested ones too), 'pluralist/cli.py' for
    every module directly in pluralist/."""
    packages = {f"{init.parent.relative_to(ROOT).as_posix()}/" for init in PACKAGE.rglob("__init__.py")
                if init.parent != PACKAGE}
    modules = {f"pluralist/{path.name}" for path in PACKAGE.glob("*.py") if path.name != "__init__.py"}
    return packages | modules


def named(section: str) -> set[str]:
    return set(re.findall(r"`(pluralist/[^`\s]*)`", section))


def test_layout_names_every_subpackage_and_top_level_module():
    missing = in_tree() - named(layout_section())
    assert not missing, f"in pluralist/ but not in the README's Layout section: {sorted(missing)}"


def test_layout_names_nothing_that_does_not_exist():
    extra = named(layout_section()) - in_tree()
    assert not extra, f"named in the README's Layout section but not in pluralist/: {sorted(extra)}"


def test_layout_states_the_layers_tests_layers_enforces():
    (chain,) = [span for span in re.findall(r"`([^`]+)`", layout_section()) if " -> " in span]
    stated = [set(layer.split(", ")) for layer in chain.split(" -> ")]
    present = {path.stem for path in PACKAGE.iterdir()
               if path.name != "__init__.py" and (path.suffix == ".py" or (path / "__init__.py").exists())}
    enforced = [set(layer) & present for layer in reversed(LAYERS)]
    assert stated == [layer for layer in enforced if layer]


def test_the_checks_see_an_entry_dropped_or_invented():
    section = layout_section()
    assert "pluralist/robust/" in in_tree() - named(section.replace("`pluralist/robust/`", "robust"))
    assert "pluralist/gone.py" in named(section + "- `pluralist/gone.py`: x\n") - in_tree()
