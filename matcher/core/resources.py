"""Where the package's data files are (``matcher/data``)."""

from __future__ import annotations

from pathlib import Path

#: The folder of the data files shipped with the package (vocabularies, messages, tables).
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
#: The folder holding the ``matcher``, ``projects`` and ``funders`` packages.
PACKAGES_DIR = Path(__file__).resolve().parents[2]
