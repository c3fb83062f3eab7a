"""Type stub of the front door: the names :mod:`matcher` loads on first use."""

from funders.learn import learn_funders
from matcher.core.errors import (
    CoopmatchError,
    InputError,
    MappingError,
    MatchingError,
    VocabularyError,
)
from matcher.core.missing import is_missing
from matcher.engine.award import AwardModel
from matcher.engine.batch import BatchResult, run_batch
from matcher.engine.criteria import default_criteria
from matcher.engine.criterion import Criterion
from matcher.engine.eligibility import Rule, default_rules
from matcher.engine.explain import Explanation
from matcher.engine.history_record import successor_map
from matcher.engine.model import Matcher
from matcher.engine.purpose_affinity import PurposeAffinity
from matcher.engine.scoring import DEFAULT_WEIGHTS
from matcher.evaluation.evaluate import Evaluation
from matcher.evaluation.evaluate import evaluate_history as evaluate
from matcher.evaluation.ranking_weights import learn_ranking_weights
from matcher.evaluation.weights import learn_weights
from matcher.io.loading import (
    SAMPLE_FUNDERS,
    SAMPLE_HISTORY,
    SAMPLE_PROJECTS,
    read_funders,
    read_history,
    read_projects,
)
from matcher.io.writers import write_table
from matcher.normalize.pipeline import Normalized
from matcher.normalize.problems import Problem
from matcher.planning.allocate import AllocationOptions, AllocationResult, allocate_envelope, parse_share
from matcher.planning.plan import PlanningError, PlanOptions, PlanResult, plan_financing
from matcher.report.html import render_html, write_html
from matcher.report.model import Report, RunInfo, portfolio_balance
from matcher.report.xlsx import write_report_workbook as write_xlsx
from matcher.workspace.api import DecisionError, Workspace
from matcher.workspace.decisions import STATUSES
from matcher.workspace.store import WorkspaceError

__version__: str
__all__: list[str]
