"""Bounds on what a reader accepts, so that a small hostile or broken file cannot exhaust memory or time.

Each limit is checked before the work it bounds (the size of a file or of its decompressed
content, the cells of a table, the columns, the length of a cell, the nesting of JSON/YAML,
the aliases a YAML file may expand) and reported as an :class:`~matcher.core.errors.InputError`
that names the limit, so that a user with a genuinely large file knows what to raise:
``coopmatch --limit cells=50000000 validate projects big.csv`` (or :func:`limits` in Python).

The defaults keep one read under about 4 GB of memory: a table of ``cells`` object cells
costs about 100 bytes each once normalised, and ``bytes`` bounds the text held while parsing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from matcher.core.errors import InputError

#: Name -> default value.
DEFAULTS: dict[str, int] = {
    "bytes": 256 * 1024 * 1024,  # a file, or what a .gz or .xlsx expands to
    "cells": 20_000_000,  # rows x columns of one table
    "columns": 2_000,
    "cell_chars": 1_000_000,  # one cell
    "depth": 64,  # nesting of JSON/YAML lists and objects
    "yaml_aliases": 40,  # *alias uses in one YAML file (anchors are fine; a bomb repeats aliases of aliases)
}
#: What each limit bounds, for the error messages.
LABELS = {
    "bytes": "bytes",
    "cells": "cells",
    "columns": "columns",
    "cell_chars": "characters in one cell",
    "depth": "levels of nesting",
    "yaml_aliases": "YAML aliases",
}
_current: dict[str, int] = dict(DEFAULTS)


def limit(name: str) -> int:
    """The value of limit ``name`` in force."""
    return _current[name]


@contextmanager
def limits(**values: int) -> Iterator[dict[str, int]]:
    """Raise or lower some limits for the duration of a ``with`` block (``limits(cells=10**8)``)."""
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise InputError(f"unknown limit {', '.join(unknown)}; known limits: {', '.join(DEFAULTS)}")
    saved = dict(_current)
    _current.update({k: int(v) for k, v in values.items()})
    try:
        yield dict(_current)
    finally:
        _current.clear()
        _current.update(saved)


def parse_limit_options(items: list[str]) -> dict[str, int]:
    """``["cells=1000000", "yaml_aliases=500"]`` -> a dict, refusing unknown names and non-positive values."""
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            number = int(value.strip().replace("_", ""))
        except ValueError:
            number = 0
        if not sep or name not in DEFAULTS or number <= 0:
            raise InputError(f"--limit expects NAME=N with N > 0 and NAME one of {', '.join(DEFAULTS)}, "
                             f"got '{item}'")
        out[name] = number
    return out


def exceeded(where: object, name: str, found: str | int | None = None) -> InputError:
    """The error for limit ``name`` exceeded at ``where`` (a path, or ``path, row n``)."""
    value = limit(name)
    seen = f" ({found})" if found is not None else ""
    return InputError(f"{where}: more than {value:,} {LABELS[name]}{seen}; this is a safety limit, "
                      f"raise it with --limit {name}=N if the file is genuine")


def check(where: object, name: str, value: int) -> None:
    """Raise :func:`exceeded` when ``value`` is above limit ``name``."""
    if value > limit(name):
        raise exceeded(where, name, f"{value:,}")
