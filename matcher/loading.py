"""Read a file of any supported format and normalise it: the one call behind every command."""

from __future__ import annotations

from pathlib import Path

from matcher.pipeline import Normalized

KINDS = ("projects", "funders", "history")

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PROJECTS = _PACKAGE_ROOT / "projects" / "examples" / "projets.csv"
SAMPLE_FUNDERS = _PACKAGE_ROOT / "funders" / "examples" / "financeurs.yaml"
SAMPLE_HISTORY = _PACKAGE_ROOT / "funders" / "examples" / "historique_exemple.csv"


#: Known catalogue exports that have their own importer (``--from``).
SOURCES = ("aides-territoires",)


def load(kind: str, path: str | Path, forced: dict[str, str] | None = None,
         refused_when_zero: bool = False, source: str | None = None) -> Normalized:
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
    """
    from funders.history import normalize_history
    from funders.pipeline import normalize_funders
    from matcher.readers import read_profiles
    from projects.pipeline import normalize_projects

    raw = read_profiles(path)
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
