"""Where the package's data files are (``matcher/data``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

#: The folder of the data files shipped with the package (vocabularies, messages, tables).
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
#: The folder holding the ``matcher``, ``projects`` and ``funders`` packages.
PACKAGES_DIR = Path(__file__).resolve().parents[2]


@cache
def load_data(name: str):
    """A YAML data file of the package (``matcher/data/<name>``), read once with safe loading.

    The result is shared: callers copy what they change.
    """
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
