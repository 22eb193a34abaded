"""Layering rules: the engine never imports viz or jupyter; viz never imports IPython;
IPython/ipywidgets/anywidget only under autograd_viz/jupyter/."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "autograd_viz"


def _imports(path: Path) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            mods.add("." * node.level + mod)
    return mods


def _files(*parts: str) -> list[Path]:
    return [p for p in PKG.joinpath(*parts).rglob("*.py")]


def test_engine_and_ops_never_import_viz_or_jupyter():
    core = _files("autograd") + _files("ops") + [PKG / "tensor.py", PKG / "_backend.py"]
    for f in core:
        for m in _imports(f):
            assert "viz" not in m.split(".") and "jupyter" not in m.split("."), (f, m)


def test_only_jupyter_imports_ipython_and_widgets():
    for f in PKG.rglob("*.py"):
        if "jupyter" in f.relative_to(PKG).parts:
            continue
        for m in _imports(f):
            top = m.lstrip(".").split(".")[0]
            assert top not in ("IPython", "ipywidgets", "anywidget", "traitlets"), (f, m)


def test_import_is_light():
    code = ("import sys, autograd_viz as av; av.ones(1); "
            "print(sorted(m for m in ('IPython','ipywidgets','graphviz','cupy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
