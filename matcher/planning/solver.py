"""One thin wrapper around ``scipy.optimize.milp`` (HiGHS): silent, time-limited, maximising.

Every planning model is written as *maximise c·x* subject to sparse rows
``lower <= A x <= upper`` and bounds; this module solves it once and says how
sure the answer is (optimal, or the best found within the time limit).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

#: Default time limit of one solve, in seconds (the answer is then the best found, and says so).
TIME_LIMIT = 20.0
#: Relative optimality gap accepted by the MILP search (0: proven optimum).
MIP_GAP = 1e-7


@dataclass(frozen=True)
class Solution:
    """The answer of one solve: ``x`` (None when there is none), the objective, and its status."""

    x: np.ndarray | None
    objective: float
    status: str  # "optimal", "time_limit", "infeasible", "error"
    message: str = ""

    @property
    def found(self) -> bool:
        return self.x is not None


@dataclass
class Model:
    """A maximisation model: objective ``c``, rows ``lower <= A x <= upper``, bounds, integrality (1 = integer)."""

    c: np.ndarray
    rows: list[sp.spmatrix]
    lower: list[np.ndarray]
    upper: list[np.ndarray]
    var_lower: np.ndarray
    var_upper: np.ndarray
    integrality: np.ndarray

    def add_rows(self, matrix, lower, upper) -> None:
        matrix = sp.csr_matrix(matrix)
        n = matrix.shape[0]
        self.rows.append(matrix)
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy())

    def copy(self) -> Model:
        return Model(self.c.copy(), list(self.rows), list(self.lower), list(self.upper),
                     self.var_lower.copy(), self.var_upper.copy(), self.integrality.copy())


def new_model(c, var_lower, var_upper, integrality) -> Model:
    return Model(np.asarray(c, dtype=float), [], [], [], np.asarray(var_lower, dtype=float),
                 np.asarray(var_upper, dtype=float), np.asarray(integrality, dtype=np.uint8))


def solve(model: Model, time_limit: float | None = None, relax: bool = False, gap: float = MIP_GAP) -> Solution:
    """Maximise ``model``; ``relax`` solves the LP relaxation (no integrality)."""
    n = model.c.shape[0]
    constraints = []
    if model.rows:
        matrix = sp.vstack(model.rows, format="csr") if len(model.rows) > 1 else model.rows[0]
        constraints.append(LinearConstraint(matrix, np.concatenate(model.lower), np.concatenate(model.upper)))
    options = {"disp": False, "time_limit": float(time_limit or TIME_LIMIT), "mip_rel_gap": gap,
               "presolve": True}
    integrality = np.zeros(n, dtype=np.uint8) if relax else model.integrality
    with _quiet():
        result = milp(-model.c, integrality=integrality, bounds=Bounds(model.var_lower, model.var_upper),
                      constraints=constraints, options=options)
    if result.status == 0:
        return Solution(np.asarray(result.x), float(-result.fun), "optimal")
    if result.status == 1 and result.x is not None:
        return Solution(np.asarray(result.x), float(-result.fun), "time_limit", result.message)
    if result.status == 2:
        return Solution(None, float("nan"), "infeasible", result.message)
    return Solution(None, float("nan"), "error", result.message)


class _quiet:
    """Silence anything HiGHS writes straight to the process's stdout/stderr (file descriptors 1 and 2)."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = []
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
        except OSError:  # pragma: no cover
            return self
        for fd in (1, 2):
            try:
                self.saved.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:  # pragma: no cover - no such descriptor
                pass
        os.close(devnull)
        return self

    def __exit__(self, *exc):
        for fd, copy in self.saved:
            os.dup2(copy, fd)
            os.close(copy)
        return False


#: Above this many binary variables, :func:`solve_core` works on a core of the binaries nearest the margin.
CORE_SIZE = 40


@dataclass(frozen=True)
class CoreSolution:
    """A solution with the LP bound beside it: ``gap`` is how far below the proven bound it may be (share)."""

    solution: Solution
    bound: float
    core: int  # binaries left free in the final MILP (all of them when the model was small)

    @property
    def gap(self) -> float:
        if not self.solution.found or not np.isfinite(self.bound) or self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.solution.objective) / abs(self.bound))


def relaxation(model: Model, with_duals: bool = False):
    """The LP relaxation of ``model`` and the reduced cost of each variable (HiGHS through linprog).

    With ``with_duals`` also the dual value of each row of the model (in the order
    the rows were added; zero when the row is slack), as a third item.
    """
    from scipy.optimize import linprog

    matrix = sp.vstack(model.rows, format="csr") if model.rows else sp.csr_matrix((0, model.c.shape[0]))
    lower, upper = (np.concatenate(model.lower), np.concatenate(model.upper)) if model.rows else (np.zeros(0),) * 2
    equal = np.isfinite(lower) & np.isfinite(upper) & (lower == upper)
    up = np.isfinite(upper) & ~equal
    low = np.isfinite(lower) & ~equal
    a_ub = sp.vstack([matrix[up], -matrix[low]], format="csr")
    b_ub = np.concatenate([upper[up], -lower[low]])
    kwargs = {"A_ub": a_ub, "b_ub": b_ub} if a_ub.shape[0] else {}
    if equal.any():
        kwargs.update(A_eq=matrix[equal], b_eq=lower[equal])
    with _quiet():
        result = linprog(-model.c, bounds=np.column_stack([model.var_lower, model.var_upper]), method="highs",
                         **kwargs)
    if result.status != 0:
        failed = Solution(None, float("nan"), "infeasible" if result.status == 2 else "error", result.message)
        return (failed, None, None) if with_duals else (failed, None)
    reduced = np.asarray(result.lower.marginals) + np.asarray(result.upper.marginals)
    solution = Solution(np.asarray(result.x), float(-result.fun), "optimal")
    if not with_duals:
        return solution, reduced
    duals = np.zeros(matrix.shape[0])
    if a_ub.shape[0]:
        marginals = np.asarray(result.ineqlin.marginals)
        n_up = int(up.sum())
        duals[np.flatnonzero(up)] += marginals[:n_up]
        duals[np.flatnonzero(low)] -= marginals[n_up:]
    if equal.any():
        duals[np.flatnonzero(equal)] += np.asarray(result.eqlin.marginals)
    return solution, reduced, duals


def solve_core(model: Model, time_limit: float | None = None, core_size: int = CORE_SIZE) -> CoreSolution:
    """Solve a large 0/1 model fast: LP relaxation, then the MILP over the binaries nearest the margin.

    The binaries whose reduced cost is far from zero keep their LP value (0 or 1);
    the ``core_size`` nearest the margin (every fractional one among them) stay
    free, and the MILP over them is solved exactly. When that restricted model has
    no integer solution, the binaries the LP funds are freed too, then all of them. The LP optimum is
    an upper bound, so the answer says how close to the optimum it is at worst.
    """
    binaries = np.flatnonzero(model.integrality == 1)
    if binaries.size <= core_size:
        solution = solve(model, time_limit)
        return CoreSolution(solution, solution.objective, int(binaries.size))
    lp, reduced = relaxation(model)
    if not lp.found:
        return CoreSolution(lp, float("nan"), 0)
    values = lp.x[binaries]
    distance = np.abs(reduced[binaries])
    fractional = (values > 1e-6) & (values < 1 - 1e-6)
    distance[fractional] = -1.0
    order = np.argsort(distance, kind="stable")
    core = binaries[order[:max(core_size, int(fractional.sum()))]]
    ones = binaries[values > 1 - 1e-6]
    # the core alone; then the core with every binary the LP funds free too; then everything
    rounded = round_greedy(model, lp.x)
    for free in (core, np.union1d(core, ones)):
        fixed = np.setdiff1d(binaries, free)
        restricted = model.copy()
        at = np.round(lp.x[fixed])
        restricted.var_lower[fixed] = at
        restricted.var_upper[fixed] = at
        solution = solve(restricted, time_limit)
        if solution.found:
            return CoreSolution(solution, lp.objective, int(free.size))
    if rounded is not None:
        return CoreSolution(Solution(rounded, float(model.c @ rounded), "rounded"), lp.objective, 0)
    solution = solve(model, time_limit)
    return CoreSolution(solution, lp.objective, int(binaries.size))


def round_greedy(model: Model, x: np.ndarray) -> np.ndarray | None:
    """A pure 0/1 model's LP solution rounded down, repaired and filled greedily (best objective first).

    First the unchosen variables that help a row still below its lower bound are
    added, best first, as long as no upper bound breaks; then any that fits and
    improves the objective. None when a lower bound stays unmet (or the model has
    continuous variables).
    """
    if not np.all(model.integrality == 1):
        return None
    matrix = sp.vstack(model.rows, format="csc")
    lower, upper = np.concatenate(model.lower), np.concatenate(model.upper)
    y = np.floor(x + 1e-9)
    y = np.clip(y, model.var_lower, model.var_upper)
    level = matrix @ y
    order = np.argsort(-model.c, kind="stable")
    for phase in ("repair", "fill"):
        for j in order:
            if y[j] >= model.var_upper[j]:
                continue
            column = matrix.getcol(j).toarray().ravel()
            after = level + column
            if np.any(after > upper + 1e-9):
                continue
            if phase == "repair" and not np.any((level < lower - 1e-9) & (column > 0)):
                continue
            if phase == "fill" and model.c[j] <= 0:
                continue
            y[j] += 1
            level = after
    if np.any(level < lower - 1e-9):
        return None
    return y
