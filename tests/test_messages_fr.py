"""Every error message a CLI user can meet has a French pattern (issue 16: "Error: …" in the run's language).

The library raises in English and ``matcher.cli.messages.translate`` turns a message into French through
``PATTERNS``; a message no pattern knows stays English in a French run. This test reads the source of
``matcher/`` with :mod:`ast` (not a regex), finds every exception built with a literal message (a string, an
f-string, a ``+`` of them, either branch of ``a if c else b``), renders the f-string's placeholders as sample
text, and requires ``translate(message, "fr") != message`` — unless the message is on the allowlist below,
each group with the reason a CLI user cannot meet it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from matcher.cli.messages import translate

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "matcher"

#: Exceptions a user can meet: the CLI turns them into ``Error: …`` (``Invalid``, ``NotFound``: the web app's).
USER_FACING = re.compile(r"(?:\w+Error|ClickException|UsageError|BadParameter|Invalid|NotFound)$")
#: Python's own exceptions: a bug if one escapes (``core/errors.py``: "anything else is a bug and keeps its
#: traceback"); programming errors and assertion-like checks, never a user's ``Error: …``.
BUILTIN = {"ValueError", "TypeError", "KeyError", "AttributeError", "NotImplementedError", "RuntimeError",
           "AssertionError", "IndexError", "LookupError", "OSError", "SystemExit"}

#: Messages a CLI user cannot reach, by group: (reason, path prefix, regex on the rendered message or None).
ALLOWLIST: list[tuple[str, str, str | None]] = [
    # The web app: its pages and API answer in the web app's own French chrome. Not web/accounts.py (the
    # `workspace user …` commands) nor web/app.py (`coopmatch serve` refusing to start): the CLI shows those.
    *(("web app only", f"matcher/web/{name}", None) for name in ("common.py", "routes.py", "service.py")),
    # unknown_message writes both languages itself (lang="fr"); the CLI reads its English back with
    # messages._unknown_fr, tested message by message in tests/test_suggest.py.
    ("written in both languages", "matcher/core/suggest.py", None),
    # The data shipped inside the package (vocab_*.yaml, headers.yaml, INSEE tables) is checked when it is
    # loaded; these can only fire on a broken install or a developer's edit, never on a user's file.
    ("package data", "matcher/referential/vocabularies.py",
     r"vocabulary .*: .*|vocabulary data file missing: .*|legal-form group .* names unknown forms .*"
     r"|insee_ranges: unknown legal form .*|insee_legal_categories\.csv: bad row for code .*"),
    ("package data", "matcher/normalize/headers.py", r"headers\.yaml \(.*\): .*"),
    # a codebook holds the ids of one shipped vocabulary (at most 64 by design)
    ("package data", "matcher/engine/features.py", r"too many .* ids to encode \(.* > 64\)"),
    # Library API misuse: argument types and values the CLI never passes (its options are typed: Choice,
    # IntRange, dates parsed by the CLI), so only a Python caller can meet them.
    ("library API", "matcher/engine/model.py",
     r"(projects|funders) must be a pandas DataFrame of canonical (project|funder) rows"
     r"|weights must be a mapping of criterion name to weight|criteria must be a non-empty list .*"
     r"|lang must be one of .*|top must be a whole number >= 1 .*|date must be an ISO date .*"
     r"|the matcher is not fitted: call fit\(funders\) first"),
    ("library API", "matcher/engine/award.py",
     r"calibration must be 'isotonic' or 'sigmoid', not .*|AwardModel is not fitted: call fit\(history\) first"),
    ("library API", "matcher/engine/batch.py", r"batch needs a top K|jobs must be a whole number >= 1, not .*"),
    ("library API", "matcher/engine/chunks.py", r"chunk size must be >= 1"),
    ("library API", "matcher/workspace/api.py", r"profiles: give keys or as_of, not both"),
    ("library API", "matcher/referential/vocabularies.py",
     r"unknown language .* \(use 'fr' or 'en'\)|unknown pillar .*; known: .*"),
    ("library API", "matcher/normalize/headers.py", r"unknown kind '.*'; expected one of .*"),
]

#: Sample texts for a placeholder, tried in turn (a message passes when one rendering is translated).
SAMPLES = ("3", "x.csv", "project", "funder", "a, b")


def _is_str(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _templates(node, names=None) -> list[list] | None:
    """The message of ``node`` as lists of parts (str, or the placeholder's node); None: not a literal.

    ``names``: the literal strings assigned to a local name in the enclosing function (``message = f"…"``).
    """
    names = names or {}
    if isinstance(node, ast.Name) and node.id in names:
        return [t for value in names[node.id] for t in (_templates(value) or [])] or None
    if _is_str(node):
        return [[node.value]]
    if isinstance(node, ast.JoinedStr):
        parts: list = [[]]
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else None
            if isinstance(inner, ast.Name) and inner.id in names and value.format_spec is None:
                parts = [p + t for p in parts for t in _templates(inner, names)]  # f"{message} ({hint})"
            else:
                parts = [p + [value.value if _is_str(value) else value] for p in parts]
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _templates(node.left, names), _templates(node.right, names)
        if left is None and right is None:
            return None
        left = left or [[node.left]]
        right = right or [[node.right]]
        return [a + b for a in left for b in right]
    if isinstance(node, ast.IfExp):
        found = [t for t in (_templates(node.body, names), _templates(node.orelse, names)) if t]
        return [t for ts in found for t in ts] or None
    return None


def _render(parts: list, sample: str) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, ast.FormattedValue) and part.conversion == ord("r"):
            out.append(repr(sample))
        else:
            out.append(sample)
    return "".join(out)


def _name(func) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _local_strings(function) -> dict[str, list]:
    """Name -> the literal strings assigned to it in ``function``."""
    names: dict[str, list] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if _templates(node.value) is not None:
                names.setdefault(node.targets[0].id, []).append(node.value)
    return names


def error_sites():
    """(path, line, exception name, renderings) of every exception built with a literal message.

    An exception class is a name that starts with a capital (``InputError``, ``click.ClickException``); a
    lower-case call (``limits.exceeded(where, …)``, ``parse_error(code)``) is a factory whose first argument is
    not the message: the factory's own ``InputError(f"…")`` is found where it is written. A ``*_message``
    helper's returned strings count as messages too (``_binary_message``, ``unknown_ids_message``).
    """
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(ROOT).as_posix()
        seen = set()
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in [*reversed(functions), tree]:  # the innermost function first: its local names
            names = _local_strings(function) if function is not tree else {}
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and node.args and id(node) not in seen:
                    name = _name(node.func)
                    if not (name[:1].isupper() and USER_FACING.search(name)):
                        continue
                    templates = _templates(node.args[0], names)
                elif (isinstance(node, ast.Return) and node.value is not None and function is not tree
                      and function.name.endswith("_message") and id(node) not in seen):
                    name, templates = function.name, _templates(node.value, names)
                else:
                    continue
                if templates is None:
                    continue
                seen.add(id(node))
                for parts in templates:
                    sites.append((relative, node.lineno, name, [_render(parts, s) for s in SAMPLES]))
    return sites


def allowlisted(path: str, name: str, messages: list[str]) -> str | None:
    if name in BUILTIN:
        return "builtin exception (programming error)"
    for reason, prefix, pattern in ALLOWLIST:
        if path.startswith(prefix) and (pattern is None or any(re.fullmatch(pattern, m, re.DOTALL)
                                                               for m in messages)):
            return reason
    return None


SITES = error_sites()


def test_the_scan_finds_the_raise_sites():
    # a guard on the scanner itself: it must see the well-known messages, else the test below proves nothing
    rendered = {m for *_, ms in SITES for m in ms}
    assert "x.csv: file not found" in rendered
    assert "duplicate project ids: 3" in rendered
    assert len(SITES) > 150


@pytest.mark.parametrize("path,line,name,messages", [s for s in SITES if not allowlisted(s[0], s[2], s[3])],
                         ids=lambda v: v if isinstance(v, str) and "/" in v else None)
def test_every_user_facing_message_has_a_french_pattern(path, line, name, messages):
    assert any(translate(m, "fr") != m for m in messages), \
        f"{path}:{line} {name}: no French pattern for {messages[0]!r}"


def test_every_allowlist_entry_is_used():
    # an entry nothing matches any more is dead weight: remove it
    used = set()
    for path, _line, _name, messages in SITES:
        for i, (_reason, prefix, pattern) in enumerate(ALLOWLIST):
            if path.startswith(prefix) and (pattern is None or any(re.fullmatch(pattern, m, re.DOTALL)
                                                                   for m in messages)):
                used.add(i)
    assert used == set(range(len(ALLOWLIST)))
