"""Decisions: statuses, the transitions that make sense, and reading a bulk decision file.

A decision is an event about one (project, funder, call): it is appended,
never changed. The state of a pair is its last event; the amount requested is
the last one given, the amount granted that of the last ``granted`` event.

From no decision any status may be recorded (a past grant can be entered
directly). After that, only the transitions of :data:`TRANSITIONS` are
accepted; recording the same status again (an amount corrected, a note) is
always accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STATUSES = ("considered", "applied", "shortlisted", "granted", "refused", "withdrawn", "dismissed")

#: Status -> statuses that may follow it (the same status may always follow itself).
TRANSITIONS: dict[str, frozenset[str]] = {
    "considered": frozenset({"applied", "shortlisted", "granted", "refused", "withdrawn", "dismissed"}),
    "applied": frozenset({"shortlisted", "granted", "refused", "withdrawn"}),
    "shortlisted": frozenset({"applied", "granted", "refused", "withdrawn"}),
    "granted": frozenset({"withdrawn"}),
    "refused": frozenset(),
    "withdrawn": frozenset({"considered", "applied"}),
    "dismissed": frozenset({"considered"}),
}

#: Statuses whose amount is the amount granted (otherwise ``amount`` is the amount requested).
GRANTED = "granted"
#: Outcomes that are grant history.
OUTCOMES = ("granted", "refused")
#: Columns of a bulk decision file (``call_id``, ``amount``, ``reason``, ``note``, ``date``, ``by`` optional).
FILE_COLUMNS = ("project_id", "funder_id", "call_id", "status", "amount", "reason", "note", "date", "by")
REQUIRED_COLUMNS = ("project_id", "funder_id", "status")

STATUS_LABELS = {
    "considered": ("envisagé", "considered"),
    "applied": ("candidature déposée", "applied"),
    "shortlisted": ("présélectionné", "shortlisted"),
    "granted": ("accordé", "granted"),
    "refused": ("refusé", "refused"),
    "withdrawn": ("retiré", "withdrawn"),
    "dismissed": ("écarté", "dismissed"),
}


def allowed(before: str | None, after: str) -> bool:
    """Whether ``after`` may follow ``before`` (None: no decision yet)."""
    return before is None or after == before or after in TRANSITIONS[before]


@dataclass(frozen=True)
class Event:
    """One decision to record (``call_id`` '' when it is about the funder as a whole)."""

    project_id: str
    funder_id: str
    call_id: str
    status: str
    amount_requested: float | None = None
    amount_granted: float | None = None
    date: str | None = None
    reason: str | None = None
    note: str | None = None
    by: str | None = None

    @property
    def pair(self) -> tuple[str, str, str]:
        return (self.project_id, self.funder_id, self.call_id)


def amounts(status: str, amount: float | None) -> tuple[float | None, float | None]:
    """``amount`` as (requested, granted) for ``status``."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return None, None
    return (None, float(amount)) if status == GRANTED else (float(amount), None)


def current_states(events) -> dict[tuple[str, str, str], dict]:
    """The state of every pair from its events (dicts with the columns of ``decisions``), in id order."""
    states: dict[tuple[str, str, str], dict] = {}
    for e in events:
        pair = (e["project_id"], e["funder_id"], e["call_id"])
        state = states.get(pair)
        if state is None:
            state = states[pair] = {"project_id": pair[0], "funder_id": pair[1], "call_id": pair[2],
                                    "status": None, "amount_requested": None, "amount_granted": None,
                                    "date": None, "reason": None, "note": None, "by": None,
                                    "events": 0, "first_at": e["created_at"], "updated_at": None}
        state["status"] = e["status"]
        if e["amount_requested"] is not None:
            state["amount_requested"] = e["amount_requested"]
        if e["status"] == GRANTED:
            state["amount_granted"] = e["amount_granted"]
        elif e["status"] != "withdrawn":
            state["amount_granted"] = None
        for name in ("date", "reason", "note", "by"):
            state[name] = e[name]
        state["events"] += 1
        state["updated_at"] = e["created_at"]
    return states
