"""Read a file of any supported format and normalise it: the one call behind every command."""

from __future__ import annotations

from pathlib import Path

from matcher.core.resources import PACKAGES_DIR
from matcher.normalize.pipeline import Normalized

KINDS = ("projects", "funders", "history")

SAMPLE_PROJECTS = PACKAGES_DIR / "projects" / "examples" / "projets.csv"
SAMPLE_FUNDERS = PACKAGES_DIR / "funders" / "examples" / "financeurs.yaml"
SAMPLE_HISTORY = PACKAGES_DIR / "funders" / "examples" / "historique_exemple.csv"


#: Known catalogue exports that have their own importer (``--from``).
SOURCES = ("aides-territoires",)


def load(kind: str, path: str | Path, forced: dict[str, str] | None = None,
         refused_when_zero: bool = False, source: str | None = None,
         sheet: str | int | None = None) -> Normalized:
    """Read ``path`` (a file, or a folder of files) and normalise it as ``kind``.

    Parameters
    ----------
    kind:
        ``projects``, ``funders`` or ``history``.
    path:
        CSV, XLSX, JSON, JSON Lines or YAML, optionally gzipped; a folder reads
        every supported file in it, in name order.
    forced:
        Canonical field -> source column (the CLI's ``--map``).
    refused_when_zero:
        History only: an awarded amount of 0 means the application was refused.
    source:
        Funders only: ``aides-territoires`` reads the Aides-territoires aids
        export; when None, that export is recognised from its headers.
    sheet:
        XLSX: the sheet to read, by name or 0-based index (default: the sheet
        that looks like the table).
    """
    from funders.history import normalize_history
    from funders.pipeline import normalize_funders
    from matcher.io.readers import read_profiles
    from projects.pipeline import normalize_projects

    raw = read_profiles(path, kind=kind, **({"sheet": sheet} if sheet is not None else {}))
    if kind == "funders":
        from funders.aides_territoires import (
            looks_like_aides_territoires,
            normalize_aides_territoires,
        )

        if source == "aides-territoires" or (source is None and not forced
                                             and looks_like_aides_territoires(raw.frame.columns)):
            return normalize_aides_territoires(raw)
    if source is not None and kind != "funders":
        raise ValueError(f"source {source!r} applies to funders only")
    if kind == "projects":
        return normalize_projects(raw, forced=forced)
    if kind == "funders":
        return normalize_funders(raw, forced=forced)
    if kind == "history":
        return normalize_history(raw, forced=forced, refused_when_zero=refused_when_zero)
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def read_projects(path: str | Path, mapping: dict[str, str] | None = None) -> Normalized:
    """Read and normalise a projects file (or folder): the canonical frame, its rejects and summary.

    ``mapping`` forces source columns onto canonical fields (``{"amount_requested": "Montant (€)"}``),
    as ``--map`` does.
    """
    return load("projects", path, forced=mapping)


def read_funders(path: str | Path, mapping: dict[str, str] | None = None,
                 source: str | None = None) -> Normalized:
    """Read and normalise a funders file (or folder): one canonical row per funder and call.

    ``source="aides-territoires"`` reads that catalogue's export (recognised from its headers
    when not given).
    """
    return load("funders", path, forced=mapping, source=source)


def read_history(path: str | Path, mapping: dict[str, str] | None = None,
                 refused_when_zero: bool = False) -> Normalized:
    """Read and normalise a grant history file (canonical, SCDL or 360Giving headers).

    With ``refused_when_zero``, an awarded amount of 0 means the application was refused.
    """
    return load("history", path, forced=mapping, refused_when_zero=refused_when_zero)
