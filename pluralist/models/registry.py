"""Family name -> model class. A family is one module in `families/`, registered by @register.

Each family's Config declares its options' ranges with `option(...)`; `build_model`
(and `check_options`, which commands call before any work) refuses a value of the
wrong type or outside its range, naming the family and the option.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil
from dataclasses import dataclass

import torch

from ..errors import ModelError

FAMILIES: dict[str, type] = {}
MAX_SIZE = 4096   # sizes (ranks, widths) beyond this would not fit in memory with most encoders


@dataclass(frozen=True)
class OptionRange:
    """What one Config field accepts beyond its type (the type of its default)."""

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    choices: tuple[str, ...] | None = None

    def problem(self, value) -> str | None:
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.at_least is not None and value < self.at_least:
            return f"must be at least {self.at_least:g}"
        if self.above is not None and value <= self.above:
            return f"must be above {self.above:g}"
        if self.at_most is not None and value > self.at_most:
            return f"must be at most {self.at_most:g}"
        return None


def option(default, *, at_least=None, above=None, at_most=None, choices=None):
    """A Config field with its declared range, e.g. `rank: int = option(8, at_least=1)`."""
    spec = OptionRange(at_least, above, at_most, tuple(choices) if choices else None)
    return dataclasses.field(default=default, metadata={"range": spec})


def size(default: int, *, at_least: int = 1):
    """A Config field counting something (rank, components, width)."""
    return option(default, at_least=at_least, at_most=MAX_SIZE)


# ModelConfig's own fields (models/base.py), until it declares them itself
SHARED_RANGES = {"rater_l2": OptionRange(at_least=0.0),
                 "ties": OptionRange(choices=("rao-kupper", "davidson"))}


def register(cls):
    FAMILIES[cls.family] = cls
    return cls


def get_family(name: str) -> type:
    _import_families()
    if name not in FAMILIES:
        raise ModelError(f"unknown family {name!r}; choose from {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def family_names() -> list[str]:
    _import_families()
    return sorted(FAMILIES)


def check_options(family: str, options: dict) -> dict:
    """`options` checked against the family's Config: known names, each of its field's
    type and range, none the family does not use. Returns them (ints as floats where
    the field is a float)."""
    cls = get_family(family)
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    usable = sorted(set(fields) - set(cls.unused_options))
    unknown = set(options) - set(fields)
    if unknown:
        raise ModelError(f"family {family!r} has no option(s) {sorted(unknown)}; "
                         f"its options are {usable}")
    checked = {name: _checked(family, fields[name], value) for name, value in options.items()}
    defaults = cls.Config()
    for name in cls.unused_options:
        if name in checked and checked[name] != getattr(defaults, name):
            raise ModelError(f"family {family!r} does not use option {name!r}; "
                             f"its options are {usable}")
    return checked


def _checked(family: str, field: dataclasses.Field, value):
    problem, value = _typed(type(field.default), value)
    spec = field.metadata.get("range") or SHARED_RANGES.get(field.name)
    if problem is None and spec is not None:
        problem = spec.problem(value)
    if problem:
        raise ModelError(f"family {family!r} option {field.name!r}: {problem}, got {value!r}")
    return value


def _typed(kind: type, value) -> tuple[str | None, object]:
    """(None, value as `kind`) or (what is wrong, value)."""
    if kind is bool:
        return (None, value) if isinstance(value, bool) else ("must be true or false", value)
    if kind in (int, float) and isinstance(value, bool):   # to Python a bool is an int
        return f"must be {'an integer' if kind is int else 'a finite number'}", value
    if kind is int:
        return (None, value) if isinstance(value, int) else ("must be an integer", value)
    if kind is float:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return "must be a finite number", value
        return None, float(value)
    if kind is str and not isinstance(value, str):
        return "must be text", value
    return None, value


def build_model(family: str, *, dim: int, raters, seed: int | None = None, **options):
    """A fresh model; `options` are the family's Config fields, checked by
    `check_options`. With `seed`, its initial parameters come from that seed and
    torch's global random state is left as it was."""
    cls = get_family(family)
    config = cls.Config(**check_options(family, options))
    if seed is None:
        return cls(config, dim=dim, raters=tuple(raters))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return cls(config, dim=dim, raters=tuple(raters))


def _import_families() -> None:
    """Import every module of the `families` package (its path may be extended): a new
    family is one file there, registered by its @register."""
    from . import families

    for module in pkgutil.iter_modules(families.__path__):
        importlib.import_module(f"{families.__name__}.{module.name}")
