"""Family name -> model class. A family is one module in `families/`, registered by @register."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import torch

from ..errors import ModelError

FAMILIES: dict[str, type] = {}


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


def build_model(family: str, *, dim: int, raters, seed: int | None = None, **options):
    """A fresh model; `options` are the family's Config fields (unknown ones refused).
    With `seed`, its initial parameters come from that seed and torch's global random
    state is left as it was."""
    cls = get_family(family)
    known = {f.name for f in dataclasses.fields(cls.Config)}
    usable = sorted(known - set(cls.unused_options))
    unknown = set(options) - known
    if unknown:
        raise ModelError(f"family {family!r} has no option(s) {sorted(unknown)}; "
                         f"its options are {usable}")
    config = cls.Config(**options)
    defaults = cls.Config()
    for name in cls.unused_options:
        if getattr(config, name) != getattr(defaults, name):
            raise ModelError(f"family {family!r} does not use option {name!r}; "
                             f"its options are {usable}")
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
