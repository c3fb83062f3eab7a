"""Workspaces: a call's life in one database — profiles and their versions, runs, decisions, outcomes.

Layer: above ``report`` and ``evaluation``, below ``cli`` (it reads files with
``io``, ranks nothing itself, and is called by the CLI and the web app).

>>> from matcher.workspace import Workspace
>>> ws = Workspace.init("appel.coopmatch")   # doctest: +SKIP
"""

from matcher.workspace.api import DecisionError, DecisionsResult, ImportResult, Workspace
from matcher.workspace.decisions import STATUSES, TRANSITIONS
from matcher.workspace.store import WorkspaceError

__all__ = ["DecisionError", "DecisionsResult", "ImportResult", "STATUSES", "TRANSITIONS", "Workspace",
           "WorkspaceError"]
