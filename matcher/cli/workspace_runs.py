"""``--workspace WS`` on the ranking commands: profiles read from a workspace, runs recorded in it.

With a workspace, funders-for, shortlist, explain and batch read the current
projects and funders of WS in place of their files, use its grant history
(imported history plus its granted and refused decisions) for the history
criterion, leave out the pairs whose decision is ``dismissed`` (and say how
many), and record the run: parameters, input versions, ranked pairs with
scores and contributions.
"""

from __future__ import annotations

import click
import pandas as pd


def workspace_option(fn):
    return click.option("--workspace", "workspace_path", default=None, metavar="WS",
                        help="Read the profiles from this workspace (in place of the files) and record the run.")(fn)


class RankingWorkspace:
    """An open workspace for one ranking command."""

    def __init__(self, path: str, lang: str, project_ids: list[str] | None = None):
        from matcher.cli.workspace import open_workspace

        self.path = path
        self.lang = lang
        self.ws = open_workspace(path)
        if project_ids is not None:
            unknown = self.ws.missing_keys("projects", project_ids)
            if unknown:
                self.ws.close()
                raise click.ClickException(unknown_ids_message(unknown, f"workspace {path}"))
        self.projects = self.ws.read("projects", keys=project_ids)
        self.funders = self.ws.read("funders")
        if self.projects.frame.empty:
            raise click.ClickException(f"workspace {path} has no project yet: "
                                       f"coopmatch workspace import {path} projects FILE")
        if self.funders.frame.empty:
            raise click.ClickException(f"workspace {path} has no funder yet: "
                                       f"coopmatch workspace import {path} funders FILE")
        self.extra = self.ws.extra_for_dismissed()
        self.hidden = 0

    @property
    def inputs(self):
        return self.projects, self.funders

    def history(self, history_path: str | None) -> pd.DataFrame | None:
        """Workspace history (imported and decided), plus a --history file when one is given."""
        frames = []
        if history_path:
            from matcher.cli.common import load_profiles, notice_rejects

            loaded = load_profiles("history", history_path, {})
            notice_rejects(loaded, "history" if self.lang == "en" else "historique", self.lang)
            frames.append(loaded.frame)
        own = self.ws.history()
        if not own.empty:
            frames.append(own if not frames else own[frames[0].columns])
        if not frames:
            return None
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def hide(self, ranked: pd.DataFrame, by: list[str], top: int | None) -> pd.DataFrame:
        """``ranked`` without dismissed pairs (ranks renumbered, ``top`` per group); counts what it hid."""
        kept, hidden = self.ws.hide_dismissed(ranked, by, top)
        self.hidden += hidden
        return kept

    def record(self, command: str, target: str, matcher, params: dict, by_project=None, by_funder=None) -> int:
        params = {**params, "criteria": list(matcher.criteria_names_), "lang": self.lang}
        run_id = self.ws.record_run(command, target, params, matcher.run_date_, by_project=by_project,
                                    by_funder=by_funder, hidden_dismissed=self.hidden)
        fr = self.lang == "fr"
        if self.hidden:
            click.echo((f"{self.hidden} paire(s) écartée(s) (dismissed) masquée(s)" if fr
                        else f"{self.hidden} dismissed pair(s) hidden"), err=True)
        click.echo((f"exécution n° {run_id} enregistrée dans {self.path}" if fr
                    else f"run #{run_id} recorded in {self.path}"), err=True)
        return run_id

    def close(self) -> None:
        self.ws.close()


def open_for_ranking(workspace_path: str | None, lang: str, project_ids: list[str] | None = None,
                     **files) -> RankingWorkspace | None:
    """The workspace of a ranking command, or None; refuses files given along with it."""
    if workspace_path is None:
        return None
    given = [name for name, value in files.items() if value is not None]
    if given:
        raise click.UsageError(f"--workspace reads the profiles from the workspace: drop {', '.join(given)}")
    return RankingWorkspace(workspace_path, lang, project_ids)


def read_project_ids(path: str) -> list[str]:
    """Project ids from a file: a ``project_id`` column (CSV, XLSX, JSON…), else one id per line."""
    from pathlib import Path

    file = Path(path)
    text = file.read_text(encoding="utf-8-sig") if file.suffix.lower() in (".txt", "") else None
    if text is None:
        from matcher.io.readers import read_profiles

        raw = read_profiles(file)
        columns = {str(c).strip().lower(): c for c in raw.frame.columns}
        if "project_id" not in columns:
            raise click.ClickException(f"'{path}' has no project_id column (or give a .txt file, one id per line)")
        values = raw.frame[columns["project_id"]].tolist()
    else:
        values = text.splitlines()
    ids = [str(v).strip() for v in values if isinstance(v, str) and v.strip()]
    if not ids:
        raise click.ClickException(f"no project id in '{path}'")
    return list(dict.fromkeys(ids))


def unknown_ids_message(unknown: list[str], where: str) -> str:
    shown = ", ".join(unknown[:10]) + (f" … (+{len(unknown) - 10})" if len(unknown) > 10 else "")
    return f"{len(unknown)} project id(s) of --project-ids not in {where}: {shown}"


def require_inputs(workspace_path, **files) -> None:
    """Without a workspace, the files are required."""
    if workspace_path is None:
        missing = [name for name, value in files.items() if value is None]
        if missing:
            raise click.UsageError(f"missing {', '.join(missing)} (or give --workspace WS)")
