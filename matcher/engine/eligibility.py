"""Hard eligibility, three-valued for every (project, funder row) pair.

Each rule is a named object evaluated over a whole
:class:`~matcher.engine.features.Block` (P projects x F funder rows) at once:
:meth:`Rule.write_bits` writes the rule's bit into the block's ``fail``,
``unknown`` and ``warning`` words (the built-in rules with one compiled loop
each over code bitmasks, amounts and the block's place relations:
:mod:`matcher.engine.kernels`), and :meth:`Rule.evaluate` gives the same as boolean
masks — together the status ``PASS``, ``UNKNOWN`` or ``FAIL`` of every pair
(:func:`status_of`). No Python code runs per pair; :func:`evaluate_rules`
gives each rule one bit, and the human reasons (:meth:`Rule.describe`) are
built afterwards, only for the pairs that are shown.

Convention, the same for every rule:

- a funder condition left empty (unknown or an empty list) means the funder
  sets **no condition**: the rule passes;
- a project fact that is **unknown** where the funder sets a condition makes
  the rule unknown, and its reason says which fact to provide;
- a condition that can only produce a warning (a non-strict ceiling, the
  share of budget) never makes a pair unknown.

Verdict: any fail -> ``ineligible``; else any unknown -> ``to_check``; else
``eligible``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.engine import explain, kernels
from matcher.engine.explain import (
    Bilingual,
    Reason,
    amount,
    date,
    join,
    percent,
    place_labels,
    vocab_label,
    vocab_labels,
)
from matcher.engine.features import (
    JUST,
    Block,
    as_condition,
    as_day,
    as_float,
    as_text,
    expense_parts,
    is_missing,
)

PASS, UNKNOWN, FAIL = 0, 1, 2
VERDICTS = ("eligible", "to_check", "ineligible")


@dataclass
class ReasonContext:
    """What reasons need besides the two records: the territory table and the run date."""

    territories: object
    day: int


def status_of(outcome, shape) -> np.ndarray:
    """The int8 status (PASS, UNKNOWN, FAIL) of a rule outcome over a block shape."""
    fail, unknown, _ = outcome
    out = np.zeros(shape, dtype=np.int8)
    if unknown is not None:
        out[np.broadcast_to(unknown, shape)] = UNKNOWN
    if fail is not None:
        out[np.broadcast_to(fail, shape)] = FAIL
    return out


class Rule:
    """One eligibility rule.

    Subclasses set ``name`` (also the key of their texts in ``messages.yaml``)
    and :meth:`describe` (one pair), and implement one of :meth:`evaluate`
    (boolean masks, vectorised) or :meth:`write_bits` (the rule's bit written
    straight into the block's words; the built-in rules do this with compiled
    loops, :mod:`matcher.engine.kernels`).
    """

    name = "rule"
    #: Project fields the reason depends on (None: no caching of reasons);
    #: ``jt_*`` stands for every just-transition level.
    project_fields: tuple[str, ...] | None = None
    #: Funder fields the reason depends on (None: any; each funder row is then described
    #: on its own). Rows with equal values share their reasons' texts.
    funder_fields: tuple[str, ...] | None = None
    #: When no project of a run states the rule's project fact (no such column in the file, or an
    #: empty one), the rule is said once for the run (``notices.unchecked.<name>``) instead of
    #: making every line "to check" (:meth:`matcher.engine.model.Matcher.waive_unstated`).
    said_once_when_unstated = False

    def evaluate(self, block: Block) -> tuple:
        """``(fail, unknown, warning)`` boolean arrays broadcastable to the block's shape.

        ``None`` stands for "nowhere". A pair fails when ``fail``; it is unknown
        when ``unknown`` and not ``fail``.
        """
        if type(self).write_bits is Rule.write_bits:
            raise NotImplementedError(f"{type(self).__name__} implements neither evaluate nor write_bits")
        words = [np.zeros(block.shape, dtype=np.uint8) for _ in range(3)]
        self.write_bits(block, np.uint8(1), *words)
        return tuple(w.view(bool) for w in words)

    def write_bits(self, block: Block, bit, fail: np.ndarray, unknown: np.ndarray,
                   warn: np.ndarray) -> None:
        """OR ``bit`` into the P x F words ``fail``, ``unknown`` and ``warn`` where this rule
        fails, is unknown (and does not fail) or warns."""
        if type(self).evaluate is Rule.evaluate:
            raise NotImplementedError(f"{type(self).__name__} implements neither evaluate nor write_bits")
        f, u, w = self.evaluate(block)
        if f is not None and u is not None:
            u = u & ~f
        for words, mask in ((fail, f), (unknown, u), (warn, w)):
            if mask is not None:
                # mask x bit then OR: much faster than a ufunc with where=
                words |= np.multiply(mask, bit, dtype=words.dtype)

    def describe(self, kind: str, project: dict, funder: dict, context: ReasonContext) -> Reason:
        """The reason for one pair whose status for this rule is ``kind``."""
        return Reason.build(self.name, kind)

    def describe_text(self, kind: str, project, funder, context: ReasonContext, lang: str) -> str:
        """``describe(...).text(lang)``. Rules whose reasons differ for most pairs (the amounts)
        write it without building the other language (the batch's reasons column)."""
        return self.describe(kind, project, funder, context).text(lang)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NotChecked(Rule):
    """A rule set aside for a whole run, because no project states its fact: it never sets its bit.

    It keeps the rule's name and position, so the bits of the other rules do not move.
    """

    def __init__(self, rule: Rule):
        self.rule = rule
        self.name = rule.name
        self.project_fields = rule.project_fields
        self.funder_fields = rule.funder_fields

    def write_bits(self, block, bit, fail, unknown, warn):
        return None

    def describe(self, kind, project, funder, context):
        return self.rule.describe(kind, project, funder, context)

    def __repr__(self) -> str:
        return f"NotChecked({self.rule!r})"


def unstated(rule: Rule, projects) -> bool:
    """No project of ``projects`` (a canonical frame) states the fact ``rule`` reads."""
    fields = rule.project_fields or ()
    if not fields or len(projects) == 0:
        return False
    return all(name not in projects.columns or projects[name].map(as_condition).isna().all() for name in fields)


class _ChoiceRule(Rule):
    """A project choice (or choices, as uint64 code masks) against a funder set: an accepted
    list must overlap (``fail_on_overlap`` False), an exclusion list must not."""

    fail_on_overlap = False
    warn_partial = False

    def masks(self, block: Block):  # -> (project mask, project known, funder mask, funder set)
        raise NotImplementedError

    def write_bits(self, block, bit, fail, unknown, warn):
        p_mask, p_known, f_mask, f_set = self.masks(block)
        if f_set.any():
            kernels.choice_bits(p_mask, p_known, f_mask, f_set, self.fail_on_overlap, self.warn_partial,
                                bit, fail, unknown, warn)


class LegalFormAccepted(_ChoiceRule):
    """The project's legal form is among the funder's eligible forms (groups expanded)."""

    name = "legal_form"
    project_fields = ("legal_form",)
    funder_fields = ("eligible_legal_forms",)

    def masks(self, block):
        return block.p.legal, block.p.legal_known, block.f.legal_ok, block.f.legal_set

    def describe(self, kind, project, funder, context):
        accepted = vocab_labels("legal_forms", as_condition(funder.get("eligible_legal_forms")))
        form = as_text(project.get("legal_form"))
        return Reason.build(self.name, kind, form=vocab_label("legal_forms", form or "?"), accepted=accepted)


class LegalFormNotExcluded(_ChoiceRule):
    """The project's legal form is not among the funder's excluded forms."""

    name = "excluded_legal_form"
    project_fields = ("legal_form",)
    funder_fields = ("excluded_legal_forms",)
    fail_on_overlap = True

    def masks(self, block):
        return block.p.legal, block.p.legal_known, block.f.legal_excluded, block.f.legal_excluded_set

    def describe(self, kind, project, funder, context):
        excluded = vocab_labels("legal_forms", as_condition(funder.get("excluded_legal_forms")))
        form = as_text(project.get("legal_form"))
        return Reason.build(self.name, kind, form=vocab_label("legal_forms", form or "?"), excluded=excluded)


class PlaceInPerimeter(Rule):
    """Every project place lies inside one of the perimeter codes.

    All places inside -> pass; every place outside (and not overlapping the
    perimeter) -> fail; otherwise (some places outside, or a place wider than
    the perimeter, such as a department for a perimeter of one commune) ->
    unknown "partly outside".
    """

    name = "perimeter"
    project_fields = ("territory",)
    funder_fields = ("perimeter",)

    def write_bits(self, block, bit, fail, unknown, warn):
        f = block.f
        # Every funder gives money somewhere: an unstated perimeter is a fact
        # to check, not an absence of condition.
        if not f.has_perimeter.any():
            kernels.row_bits(~f.has_perimeter, bit, unknown)
            return
        if block.perimeter_bits(bit, fail, unknown):
            return
        rel = block.place_flags
        kernels.perimeter_bits(f.has_perimeter, block.p.place_known, rel.all_inside, rel.all_outside,
                               bit, fail, unknown)

    def describe(self, kind, project, funder, context):
        places = as_condition(project.get("territory"))
        perimeter = as_condition(funder.get("perimeter")) or ()
        if not perimeter:
            return Reason.build(self.name, kind, "unknown_funder")
        shown = place_labels(context.territories, perimeter)
        if kind == explain.FAIL:
            return Reason.build(self.name, kind, places=place_labels(context.territories, places),
                                perimeter=shown)
        if not places:
            return Reason.build(self.name, kind, "unknown_missing", perimeter=shown)
        t = context.territories
        outside = [p for p in places if not any(_contains(t, c, p) for c in perimeter)]
        return Reason.build(self.name, kind, "unknown_partial", outside=place_labels(t, outside),
                            perimeter=shown)


class PlaceNotExcluded(Rule):
    """No project place lies in one of the funder's excluded places.

    Every place inside an excluded code -> fail; some place inside one, or an
    excluded code inside a project place -> unknown.
    """

    name = "excluded_places"
    project_fields = ("territory",)
    funder_fields = ("excluded_places",)

    def write_bits(self, block, bit, fail, unknown, warn):
        f = block.f
        if not f.has_excluded.any():
            return
        rel = block.place_flags
        kernels.exclusion_bits(f.has_excluded, block.p.place_known, rel.all_excluded, rel.any_excluded,
                               bit, fail, unknown)

    def describe(self, kind, project, funder, context):
        places = as_condition(project.get("territory"))
        excluded = as_condition(funder.get("excluded_places")) or ()
        t = context.territories
        if kind == explain.FAIL:
            return Reason.build(self.name, kind, places=place_labels(t, places),
                                excluded=place_labels(t, excluded))
        if not places:
            return Reason.build(self.name, kind, "unknown_missing", excluded=place_labels(t, excluded))
        touched = [e for e in excluded if any(_contains(t, e, p) or _contains(t, p, e) for p in places)]
        return Reason.build(self.name, kind, "unknown_partial", excluded=place_labels(t, touched or excluded))


def _contains(territories, container: str, code: str) -> bool:
    try:
        return bool(territories.contains(container, code))
    except Exception:  # noqa: BLE001 - unknown codes contain only themselves
        return container == code


class InstrumentOffered(_ChoiceRule):
    """At least one instrument the project seeks is one the funder offers."""

    name = "instruments"
    project_fields = ("instruments_sought",)
    funder_fields = ("instruments",)
    said_once_when_unstated = True

    def masks(self, block):
        return block.p.instruments, block.p.instruments_known, block.f.instruments, block.f.instruments_set

    def describe(self, kind, project, funder, context):
        return Reason.build(self.name, kind,
                            sought=vocab_labels("instruments", as_condition(project.get("instruments_sought"))),
                            offered=vocab_labels("instruments", as_condition(funder.get("instruments"))))


class StageAccepted(_ChoiceRule):
    """The project's stage is one the funder accepts."""

    name = "stage"
    project_fields = ("stage",)
    funder_fields = ("stages",)

    def masks(self, block):
        return block.p.stage, block.p.stage_known, block.f.stages, block.f.stages_set

    def describe(self, kind, project, funder, context):
        stage = as_text(project.get("stage"))
        return Reason.build(self.name, kind, stage=vocab_label("stages", stage or "?"),
                            accepted=vocab_labels("stages", as_condition(funder.get("stages"))))


class ExpenseTypeAccepted(_ChoiceRule):
    """The project's expense type is funded (``both`` overlaps investment and operating).

    A project with both kinds of expenses and a funder that funds only one
    passes with a warning.
    """

    name = "expense_type"
    project_fields = ("expense_type",)
    funder_fields = ("expense_types",)
    warn_partial = True

    def masks(self, block):
        return block.p.expenses, block.p.expenses_known, block.f.expenses, block.f.expenses_set

    def describe(self, kind, project, funder, context):
        expense = as_text(project.get("expense_type"))
        accepted = as_condition(funder.get("expense_types"))
        if kind == explain.WARNING:
            accepted = tuple(sorted(set(expense_parts(accepted)) & set(expense_parts((expense,)))))
        return Reason.build(self.name, kind, expense=vocab_label("expense_types", expense or "?"),
                            accepted=vocab_labels("expense_types", accepted))


class CallOpen(Rule):
    """The call is open on the run's date: ``call_opens <= date <= call_closes``.

    A missing bound leaves that side open; a funder row without a call is open
    all year.
    """

    name = "call_open"
    project_fields = ()
    funder_fields = ("call_opens", "call_closes")

    def write_bits(self, block, bit, fail, unknown, warn):
        f = block.f
        closed = (block.day < f.opens) | (block.day > f.closes)
        if closed.any():
            kernels.row_bits(closed, bit, fail)

    def describe(self, kind, project, funder, context):
        opens = as_day(funder.get("call_opens"))
        if opens is not None and context.day < opens:
            return Reason.build(self.name, kind, "fail_not_open", opens=date(funder.get("call_opens")))
        return Reason.build(self.name, kind, "fail_closed", closes=date(funder.get("call_closes")))


class EsusAccredited(_ChoiceRule):
    """A funder that requires the ESUS accreditation gets projects that have it."""

    name = "esus"
    project_fields = ()
    funder_fields = ()

    def masks(self, block):
        esus, f = block.p.esus, block.f
        return ((esus == 1).astype(np.uint64), esus >= 0, np.ones(f.n, dtype=np.uint64), f.requires_esus)


class JustTransitionMet(Rule):
    """Every required just-transition criterion is met (level >= 1).

    ``just`` is met when at least one ecological and one social criterion are
    at level 1 or more; it is unknown while that could still be so.
    """

    name = "just_transition"
    project_fields = ("jt_*",)
    funder_fields = ("just_transition_requirements",)

    def write_bits(self, block, bit, fail, unknown, warn):
        f = block.f
        if f.jt_required.any():
            kernels.requirement_bits(block.p.jt_met, block.p.jt_unknown, f.jt_required, bit, fail, unknown)

    def describe(self, kind, project, funder, context):
        required = as_condition(funder.get("just_transition_requirements")) or ()
        missing, unknown = [], []
        levels = {k[3:]: v for k, v in project.items() if k.startswith("jt_") and k != "jt_evidence"}
        for crit in required:
            state = _jt_state(crit, levels)
            if state is False:
                missing.append(crit)
            elif state is None:
                unknown.append(crit)
        if kind == explain.FAIL:
            return Reason.build(self.name, kind, missing=_jt_labels(missing))
        return Reason.build(self.name, kind, unknown=_jt_labels(unknown))


def _jt_labels(ids) -> Bilingual:
    from matcher.engine.explain import template

    just = template("labels", "just")
    return join([Bilingual(just["fr"], just["en"]) if i == JUST else vocab_label("jt_criteria", i)
                 for i in ids])


def _jt_state(criterion: str, levels: dict) -> bool | None:
    """Whether one requirement is met (True/False), or None when unknown."""
    from matcher.engine.features import jt_pillar

    if criterion != JUST:
        level = levels.get(criterion)
        return None if is_missing(level) else float(level) >= 1
    state = {}
    for pillar in ("ecological", "social"):
        values = [v for c, v in levels.items() if jt_pillar(c) == pillar]
        if any(not is_missing(v) and float(v) >= 1 for v in values):
            state[pillar] = True
        elif values and all(not is_missing(v) for v in values):
            state[pillar] = False
        else:
            state[pillar] = None
    if state["ecological"] and state["social"]:
        return True
    if state["ecological"] is False or state["social"] is False:
        return False
    return None


class _ValuesRule(Rule):
    """A rule whose reason is its template filled with :meth:`reason_values` (project and funder
    values only): :meth:`describe` and the one-language :meth:`describe_text` both fill it."""

    @staticmethod
    def reason_values(project, funder) -> dict:
        raise NotImplementedError

    def describe(self, kind, project, funder, context):
        return Reason.build(self.name, kind, **self.reason_values(project, funder))

    def describe_text(self, kind, project, funder, context, lang):
        return Reason.build_text(self.name, kind, lang, **self.reason_values(project, funder))


class TicketMinimum(_ValuesRule):
    """The amount requested is at least the funder's ``ticket_min``."""

    name = "ticket_min"
    project_fields = ("amount_requested",)
    funder_fields = ("ticket_min",)

    def write_bits(self, block, bit, fail, unknown, warn):
        minimum = block.f.ticket_min_rule  # a learned minimum is a habit, not a rule
        if not np.isnan(minimum).all():
            kernels.minimum_bits(block.p.amount, minimum, bit, fail, unknown)

    @staticmethod
    def reason_values(project, funder) -> dict:
        return {"amount": amount(project.get("amount_requested")), "minimum": amount(funder.get("ticket_min"))}


class TicketMaximum(_ValuesRule):
    """Above ``ticket_max``: ineligible only when ``ticket_max_strict``; else a
    partial-coverage warning ("covers 40 % of the 120 000 € asked").

    ``ticket_max_strict`` unknown counts as not strict (the default of most
    funders: they may fund part of a larger request).
    """

    name = "ticket_max"
    project_fields = ("amount_requested",)
    funder_fields = ("ticket_max",)

    def write_bits(self, block, bit, fail, unknown, warn):
        f = block.f
        if not np.isnan(f.ticket_max).all():
            kernels.maximum_bits(block.p.amount, f.ticket_max, f.strict, bit, fail, unknown, warn)

    @staticmethod
    def reason_values(project, funder) -> dict:
        requested = as_float(project.get("amount_requested"))
        maximum = as_float(funder.get("ticket_max"))
        coverage = maximum / requested if requested > 0 else np.nan
        return {"amount": amount(requested), "maximum": amount(maximum), "coverage": percent(coverage)}


class BudgetShare(_ValuesRule):
    """Warn when the request exceeds ``max_share_of_budget x total_budget`` (never a fail)."""

    name = "budget_share"
    project_fields = ("amount_requested", "total_budget")
    funder_fields = ("max_share_of_budget",)

    def write_bits(self, block, bit, fail, unknown, warn):
        share = block.f.max_share
        if not np.isnan(share).all():
            kernels.share_bits(block.p.amount, block.p.budget, share, bit, warn)

    @staticmethod
    def reason_values(project, funder) -> dict:
        requested = as_float(project.get("amount_requested"))
        budget = as_float(project.get("total_budget"))
        share = requested / budget if budget > 0 else np.nan  # a budget of 0 says nothing of the share
        return {"share": percent(share), "budget": amount(budget),
                "max_share": percent(as_float(funder.get("max_share_of_budget")))}


def default_rules() -> list[Rule]:
    """The rules in the order their reasons are listed."""
    return [LegalFormAccepted(), LegalFormNotExcluded(), PlaceInPerimeter(), PlaceNotExcluded(),
            InstrumentOffered(), StageAccepted(), ExpenseTypeAccepted(), CallOpen(), EsusAccredited(),
            JustTransitionMet(), TicketMinimum(), TicketMaximum(), BudgetShare()]


@dataclass
class EligibilityBlock:
    """Verdicts of a block and, per pair, which rules failed, were unknown or warned (bit i = rule i)."""

    verdict: np.ndarray | None  # int8 P x F: 0 eligible, 1 to_check, 2 ineligible
    fail_bits: np.ndarray  # uint16 (uint32 beyond 16 rules) P x F
    unknown_bits: np.ndarray
    warn_bits: np.ndarray


def evaluate_rules(rules: list[Rule], block: Block, verdict: bool = True) -> EligibilityBlock:
    """Run every rule over the block; with ``verdict`` False the verdicts are left to the
    caller (:func:`matcher.engine.scoring.score_block` makes them in its compiled pass)."""
    if len(rules) > 32:
        raise ValueError("at most 32 eligibility rules")
    shape = block.shape
    dtype = np.uint16 if len(rules) <= 16 else np.uint32
    fail_bits = np.zeros(shape, dtype=dtype)
    unknown_bits = np.zeros(shape, dtype=dtype)
    warn_bits = np.zeros(shape, dtype=dtype)
    for i, rule in enumerate(rules):
        rule.write_bits(block, dtype(1 << i), fail_bits, unknown_bits, warn_bits)
    verdicts = None
    if verdict:
        verdicts = np.maximum((fail_bits != 0).view(np.int8) * np.int8(2), (unknown_bits != 0).view(np.int8))
    return EligibilityBlock(verdicts, fail_bits, unknown_bits, warn_bits)


def describe_pair(rules: list[Rule], fail_bits: int, unknown_bits: int, warn_bits: int,
                  project: dict, funder: dict, context: ReasonContext,
                  cache: dict | None = None, funder_key=None) -> list[Reason]:
    """The reasons of one pair: fails, then unknowns, then warnings, each in rule order; a fact two
    rules miss is said once (:func:`~matcher.engine.explain.merge_reasons`).

    With a ``cache`` dict and a ``funder_key`` (the funder row's index), a
    reason already written for the same funder row and the same project
    values is reused.
    """
    reasons = []
    for kind, bits in ((explain.FAIL, fail_bits), (explain.UNKNOWN, unknown_bits), (explain.WARNING, warn_bits)):
        bits = int(bits)
        for i, rule in enumerate(rules):
            if not bits >> i & 1:
                continue
            key = None
            if cache is not None and rule.project_fields is not None:
                memo = ("values", id(project), rule.project_fields)
                values = cache.get(memo)
                if values is None:
                    values = cache[memo] = _values_key(rule.project_fields, project)
                key = (i, kind, funder_key, values)
            reason = cache.get(key) if key is not None else None
            if reason is None:
                reason = rule.describe(kind, project, funder, context)
                if key is not None:
                    try:
                        cache[key] = reason
                    except TypeError:  # an unhashable value: no caching
                        pass
            reasons.append(reason)
    return explain.merge_reasons(reasons)


def _values_key(fields: tuple[str, ...], project: dict) -> tuple:
    values = []
    for name in fields:
        if name == "jt_*":
            values.append(tuple(sorted((k, None if is_missing(v) else float(v)) for k, v in project.items()
                                       if k.startswith("jt_") and k != "jt_evidence")))
        else:
            value = project.get(name)
            values.append(None if is_missing(value) else value)
    return tuple(values)
