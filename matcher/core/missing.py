"""Is there a value? One answer for the whole package.

Two notions, kept apart on purpose:

- :func:`is_missing` — *no value at all*: ``None``, a float NaN (``numpy.nan``,
  ``float("nan")``), ``pandas.NA`` and ``pandas.NaT``. Containers (tuple, list,
  dict, set, numpy array) are values, even when empty: an empty tuple of
  sectors says "none", which is not "unknown". Strings are values, even blank.
- :func:`matcher.normalize.parsers.is_unknown` — *a cell that says nothing*, as
  people write it in a file: missing, or blank text, ``NC``, ``-``, ``n/a``…
  It is for raw input cells; canonical frames only hold missing values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_VALUE_TYPES = (tuple, list, dict, set, frozenset, np.ndarray)


def is_missing(value) -> bool:
    """True for None, NaN, pd.NA and NaT; False for any other value, containers included."""
    if value is None:
        return True
    kind = type(value)
    if kind is str or kind is tuple or kind is int or kind is bool:  # the common cells, first
        return False
    if kind is float:
        return value != value
    if isinstance(value, _VALUE_TYPES):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
