"""Write the tutorial notebooks from their readable sources and execute them reproducibly.

Sources live in ``notebooks/_src/NN_name.py`` in the "percent" format that Jupytext,
VS Code and Spyder understand::

    # %% [markdown]
    # # A heading
    # Prose, one comment line per Markdown line.

    # %%
    x = av.ones(3)

    # %% tags=["nbval-ignore-output"]
    # %%autograd
    y = (x + 2) ** 2

A code line that is a commented IPython magic (``# %%autograd``, ``# %load_ext ...``) becomes
the magic itself, so the sources stay valid Python while the notebook gets a real magic as
the first line of its cell (nbval markers for such cells go in tags, never in comments).

Usage (from the repository root, with the project's venv)::

    .venv/bin/python notebooks/_build.py              # all notebooks, executed
    .venv/bin/python notebooks/_build.py 03 04        # only those whose name starts so
    .venv/bin/python notebooks/_build.py --no-execute # sources -> .ipynb without outputs
    .venv/bin/python notebooks/_build.py --check      # exit 1 if a notebook's cells differ
                                                      # from its source (no execution)

Execution is reproducible: ``NotebookClient(store_widget_state=False, record_timing=False)``,
fixed cell ids, and a temporary IPython/Jupyter home, so regenerating without changes to the
library gives the same files (graph SVGs aside, which depend on the Graphviz version). The
saved ``%%autograd`` outputs keep their static SVG + text and drop the widget view, which a
saved notebook cannot show without its kernel (see ``_static_only``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SRC = HERE / "_src"
ROOT = HERE.parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}

_MARKER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
_MAGIC = re.compile(r"^# (?P<magic>%{1,2}[A-Za-z_].*)$")
_TIMEOUT_S = 300
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def sources(selected: list[str] | None = None) -> list[Path]:
    files = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if selected:
        files = [f for f in files if any(f.stem.startswith(s) for s in selected)]
    return files


def parse(path: Path) -> list[dict]:
    """The cells of one percent-format source: dicts with kind, source and tags."""
    cells: list[dict] = []
    current: dict | None = None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _MARKER.match(line)
        if m:
            current = {
                "kind": "markdown" if m.group("md") else "code",
                "tags": json.loads(m.group("tags")) if m.group("tags") else [],
                "lines": [],
                "line": lineno,
            }
            cells.append(current)
            continue
        if current is None:
            if line.strip() and not line.startswith("#"):
                raise SystemExit(f"{path}:{lineno}: code before the first '# %%' marker")
            continue  # a header comment before the first cell
        current["lines"].append(line)
    out = []
    for c in cells:
        lines = c["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if c["kind"] == "markdown":
            bad = [s for s in lines if s and not (s == "#" or s.startswith("# "))]
            if bad:
                raise SystemExit(f"{path}:{c['line']}: markdown line without '# ': {bad[0]!r}")
            text = "\n".join(s[2:] for s in lines)
        else:
            text = "\n".join(_uncomment_magic(s) for s in lines)
            if "%%" in text and not text.startswith("%%") and re.search(r"^%%", text, re.M):
                raise SystemExit(f"{path}:{c['line']}: a cell magic must be the cell's first line")
        if not text.strip():
            raise SystemExit(f"{path}:{c['line']}: empty cell")
        out.append({"kind": c["kind"], "source": text, "tags": c["tags"]})
    return out


def _uncomment_magic(line: str) -> str:
    m = _MAGIC.match(line)
    return m.group("magic") if m else line


def build(path: Path) -> nbformat.NotebookNode:
    nb = new_notebook(metadata={"kernelspec": dict(KERNELSPEC),
                                "language_info": dict(LANGUAGE_INFO)})
    for i, c in enumerate(parse(path), 1):
        meta = {"tags": c["tags"]} if c["tags"] else {}
        make = new_markdown_cell if c["kind"] == "markdown" else new_code_cell
        cell = make(c["source"], metadata=meta)
        cell["id"] = f"{path.stem[:2]}-{i:03d}"  # stable ids: no random churn in diffs
        nb.cells.append(cell)
    return nb


def _isolated_env(tmp: Path) -> None:
    """Kernels inherit os.environ: keep IPython/Jupyter state out of $HOME, import the
    checkout's package (the same set-up as tests/conftest.py gives nbval's kernels)."""
    for var, sub in {"IPYTHONDIR": "ipython", "JUPYTER_CONFIG_DIR": "jupyter-config",
                     "JUPYTER_DATA_DIR": "jupyter-data",
                     "JUPYTER_RUNTIME_DIR": "jupyter-runtime"}.items():
        os.environ[var] = str(tmp / sub)
    share = str(Path(sys.prefix) / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [share, *[p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]])


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, kernel_name="python3", timeout=_TIMEOUT_S, store_widget_state=False,
        record_timing=False, resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)  # drop the kernel's version string
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            _static_only(out)
    return nb


def _static_only(output: dict) -> None:
    """Keep the static SVG + text of a ``%%autograd`` output, not its widget view.

    The saved widget view would need the kernel-side widget, which a saved notebook does not
    have: JupyterLab would show "Error displaying widget: model not found" instead of the
    graph. Without it, GitHub, nbconvert and JupyterLab all show the SVG that the magic puts
    in the same output; re-running the cell brings the interactive explorer back. (nbval
    never compares widget views, so the tests are unaffected.)
    """
    data = output.get("data")
    if data and WIDGET_VIEW in data and len(data) > 1:
        del data[WIDGET_VIEW]


def _cells_of(nb: nbformat.NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="notebook name prefixes (default: all)")
    ap.add_argument("--no-execute", action="store_true", help="write without outputs")
    ap.add_argument("--check", action="store_true",
                    help="only check that the .ipynb cells match their sources")
    args = ap.parse_args(argv)

    files = sources(args.names)
    if not files:
        print("no sources matched", file=sys.stderr)
        return 2
    if args.check:
        stale = []
        for f in files:
            target = HERE / f"{f.stem}.ipynb"
            if not target.exists() or _cells_of(build(f)) != _cells_of(nbformat.read(target, 4)):
                stale.append(target.name)
        for name in stale:
            print(f"stale: {name} (run: .venv/bin/python notebooks/_build.py)")
        return 1 if stale else 0

    with tempfile.TemporaryDirectory(prefix="autograd-viz-nb-") as tmp:
        _isolated_env(Path(tmp))
        total = time.perf_counter()
        for f in files:
            nb = build(f)
            t0 = time.perf_counter()
            if not args.no_execute:
                nb = execute(nb)
            nbformat.validate(nb)
            target = HERE / f"{f.stem}.ipynb"
            nbformat.write(nb, target)
            print(f"wrote {target.relative_to(ROOT)} ({len(nb.cells)} cells, "
                  f"{time.perf_counter() - t0:.1f} s)")
        print(f"total {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
