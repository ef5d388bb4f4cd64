"""Family name -> model class. A family registers itself with @register."""

from __future__ import annotations

import dataclasses

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


def build_model(family: str, *, dim: int, raters, **options):
    """A fresh model; `options` are the family's Config fields (unknown ones refused)."""
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
    return cls(config, dim=dim, raters=tuple(raters))


_FAMILY_MODULES = ("bt", "lowrank", "mixture", "decomposed", "ideal_point", "gpm",
                   "variational")


def _import_families() -> None:
    import importlib

    for module in _FAMILY_MODULES:
        importlib.import_module(f"{__package__}.{module}")
