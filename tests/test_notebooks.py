"""The notebooks run from top to bottom on the built-in sample, so they cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need the test extras (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need the test extras (nbclient, ipykernel)")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["01_find_funders.ipynb", "02_shortlist_a_call.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert ("score × weight = contribution" in text) if path.stem.startswith("01") else "shortlist.xlsx" in text
    plots = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
             if "image/png" in o.get("data", {})]
    assert plots, "each notebook shows at least one plot"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_public_names(path):
    """A notebook is a user of the library: it imports from ``matcher`` only, never its internals."""
    import re

    notebook = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    internal = re.findall(r"^\s*(?:from|import) matcher\.[\w.]+", source, flags=re.M)
    assert not internal
