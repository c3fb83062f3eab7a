"""The front door: the public names import, and the README's Python example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import matcher

ROOT = Path(__file__).resolve().parents[1]


def test_the_public_names_import():
    from matcher import (  # noqa: F401
        CoopmatchError,
        Matcher,
        Problem,
        evaluate,
        read_funders,
        read_history,
        read_projects,
        run_batch,
    )

    for name in matcher.__all__:
        assert getattr(matcher, name) is not None, name
    assert issubclass(matcher.InputError, CoopmatchError)


def test_an_unknown_name_is_an_attribute_error():
    try:
        matcher.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_import_matcher_is_cheap():
    """``import matcher`` loads no engine (numba, scikit-learn): names load on first use."""
    code = "import sys, matcher; print(sorted(m for m in ('numba', 'sklearn', 'pandas') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_readme_python_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "36 rows read, 0 rejected"
    assert (tmp_path / "shortlist.html").stat().st_size > 10_000
    assert "P0" in done.stdout


def test_the_type_stub_lists_every_public_name():
    """``matcher/__init__.pyi`` (for editors and type checkers) names what ``__all__`` names."""
    import ast

    tree = ast.parse((ROOT / "matcher" / "__init__.pyi").read_text(encoding="utf-8"))
    names = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert names == set(matcher.__all__) - {"__version__"}
