"""coopmatch — funding matching for the just ecological transition.

The front door of the library: everything a notebook or another program needs
is importable from here, and nothing else is promised (the internals may move).

>>> from matcher import Matcher, read_projects, read_funders, SAMPLE_PROJECTS, SAMPLE_FUNDERS
>>> projects = read_projects(SAMPLE_PROJECTS)          # frame, rejects, summary
>>> funders = read_funders(SAMPLE_FUNDERS)
>>> matcher = Matcher(date="2026-12-01").fit(funders.frame)
>>> ranked = matcher.rank_funders(projects.frame, top=3)

Layers, bottom to top (each imports only from those below it): ``core`` →
``referential`` → ``normalize`` → the ``projects`` and ``funders`` packages →
``io`` → ``engine`` → ``report`` → ``evaluation`` → ``cli``. See ARCHITECTURE.md.

Names are loaded on first use, so ``import matcher`` stays cheap.
"""

from __future__ import annotations

import importlib

from matcher.core.version import VERSION as __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    # errors and problems
    "CoopmatchError": "matcher.core.errors",
    "InputError": "matcher.core.errors",
    "MappingError": "matcher.core.errors",
    "MatchingError": "matcher.core.errors",
    "VocabularyError": "matcher.core.errors",
    "Problem": "matcher.normalize.problems",
    "Normalized": "matcher.normalize.pipeline",
    "is_missing": "matcher.core.missing",
    # reading and writing
    "read_projects": "matcher.io.loading",
    "read_funders": "matcher.io.loading",
    "read_history": "matcher.io.loading",
    "SAMPLE_PROJECTS": "matcher.io.loading",
    "SAMPLE_FUNDERS": "matcher.io.loading",
    "SAMPLE_HISTORY": "matcher.io.loading",
    "write_table": "matcher.io.writers",
    "learn_funders": "funders.learn",
    # matching
    "Matcher": "matcher.engine.model",
    "Criterion": "matcher.engine.criterion",
    "default_criteria": "matcher.engine.criteria",
    "Rule": "matcher.engine.eligibility",
    "default_rules": "matcher.engine.eligibility",
    "DEFAULT_WEIGHTS": "matcher.engine.scoring",
    "Explanation": "matcher.engine.explain",
    "run_batch": "matcher.engine.batch",
    "BatchResult": "matcher.engine.batch",
    "AwardModel": "matcher.engine.award",
    "PurposeAffinity": "matcher.engine.purpose_affinity",
    "successor_map": "matcher.engine.history_record",
    # reports
    "Report": "matcher.report.model",
    "RunInfo": "matcher.report.model",
    "portfolio_balance": "matcher.report.model",
    "render_html": "matcher.report.html",
    "write_html": "matcher.report.html",
    "write_xlsx": "matcher.report.xlsx",
    # evaluation
    "evaluate": "matcher.evaluation.evaluate",
    "Evaluation": "matcher.evaluation.evaluate",
    "learn_weights": "matcher.evaluation.weights",
    "learn_ranking_weights": "matcher.evaluation.ranking_weights",
    # workspaces (a call's profiles, runs, decisions and outcomes in one database)
    "Workspace": "matcher.workspace.api",
    "WorkspaceError": "matcher.workspace.store",
    "DecisionError": "matcher.workspace.api",
    "STATUSES": "matcher.workspace.decisions",
    # planning (co-financing plans, envelope allocation)
    "PlanningError": "matcher.planning.plan",
    "PlanOptions": "matcher.planning.plan",
    "PlanResult": "matcher.planning.plan",
    "plan_financing": "matcher.planning.plan",
    "AllocationOptions": "matcher.planning.allocate",
    "AllocationResult": "matcher.planning.allocate",
    "allocate_envelope": "matcher.planning.allocate",
    "parse_share": "matcher.planning.allocate",
}
#: Public names whose definition has another name in its module.
_RENAMED = {"evaluate": "evaluate_history", "write_xlsx": "write_report_workbook"}

__all__ = [
    "__version__",
    "AllocationOptions",
    "AllocationResult",
    "AwardModel",
    "BatchResult",
    "CoopmatchError",
    "Criterion",
    "DEFAULT_WEIGHTS",
    "DecisionError",
    "Evaluation",
    "Explanation",
    "InputError",
    "MappingError",
    "Matcher",
    "MatchingError",
    "Normalized",
    "PlanOptions",
    "PlanResult",
    "PlanningError",
    "Problem",
    "PurposeAffinity",
    "Report",
    "Rule",
    "RunInfo",
    "SAMPLE_FUNDERS",
    "SAMPLE_HISTORY",
    "SAMPLE_PROJECTS",
    "STATUSES",
    "VocabularyError",
    "Workspace",
    "WorkspaceError",
    "allocate_envelope",
    "default_criteria",
    "default_rules",
    "evaluate",
    "is_missing",
    "learn_funders",
    "learn_ranking_weights",
    "learn_weights",
    "parse_share",
    "plan_financing",
    "portfolio_balance",
    "read_funders",
    "read_history",
    "read_projects",
    "render_html",
    "run_batch",
    "successor_map",
    "write_html",
    "write_table",
    "write_xlsx",
]


assert sorted(__all__[1:]) == sorted(_EXPORTS)  # one list of public names


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'matcher' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
