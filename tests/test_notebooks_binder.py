"""The tutorial notebooks (``notebooks/``) and their Binder set-up (``binder/``).

``make test`` runs the notebooks themselves with nbval (``pytest notebooks --nbval``). These
tests check what nbval cannot see:

* fast: the saved notebooks are generated from ``notebooks/_src`` and executed top to bottom;
  graph cells are tagged, carry a static SVG, and are followed by a checked cell; the seeds'
  numbers are in checked outputs; ``binder/`` is complete and its pins are consistent with
  ``pyproject.toml``; the README's Tutorials section has its badge and picture; ``make lab``
  opens the first notebook.
* slow (``--slow``): what Binder would do, minus Docker: a fresh venv from
  ``binder/requirements.txt`` (which also installs the package itself), then nbval on a copy of
  the notebooks inside it. It needs the package index and takes a few minutes.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
BINDER = ROOT / "binder"
SERIES = [
    "01_tensors",
    "02_autograd_basics",
    "03_nonleaf_grads",
    "04_retain_graph_and_accumulation",
    "05_custom_function_and_higher_order",
    "06_nn_and_training",
    "07_gpu",
]
IGNORE = "nbval-ignore-output"
RAISES = "raises-exception"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Python module imported by a notebook -> the distribution Binder must install.
MODULE_DIST = {"numpy": "numpy", "sklearn": "scikit-learn", "autograd_viz": "."}


def _build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NB_DIR / "_build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _text(outputs) -> str:
    """Everything a reader sees as text in these outputs (streams, text/plain, errors)."""
    parts = []
    for o in outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        else:
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _checked_text(nb) -> str:
    """The text outputs nbval compares (cells not tagged to ignore their output)."""
    return "".join(_text(c.outputs) for c in _code_cells(nb) if IGNORE not in _tags(c))


# --------------------------------------------------------------------------- notebooks


def test_series_is_complete():
    sources = sorted(p.stem for p in (NB_DIR / "_src").glob("[0-9][0-9]_*.py"))
    notebooks = sorted(p.stem for p in NB_DIR.glob("*.ipynb"))
    assert sources == SERIES
    assert notebooks == SERIES


@pytest.mark.parametrize("name", SERIES)
def test_notebook_matches_its_source(name):
    """The .ipynb was generated from notebooks/_src (edit there, then run _build.py)."""
    build = _build_module()
    expected = build.build(NB_DIR / "_src" / f"{name}.py")
    saved = _notebook(name)
    got = [(c.cell_type, c.source, sorted(_tags(c))) for c in saved.cells]
    want = [(c.cell_type, c.source, sorted(_tags(c))) for c in expected.cells]
    assert got == want, (
        f"{name}.ipynb is stale: run .venv/bin/python notebooks/_build.py {name[:2]}")
    assert [c.id for c in saved.cells] == [c.id for c in expected.cells]


@pytest.mark.parametrize("name", SERIES)
def test_notebook_is_executed_top_to_bottom(name):
    nb = _notebook(name)
    cells = _code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), (
        "not saved from one clean top-to-bottom run")
    for c in cells:
        errors = [o for o in c.outputs if o.output_type == "error"]
        if RAISES in _tags(c):
            assert errors, f"cell {c.id} is tagged {RAISES} but did not raise"
        else:
            assert not errors, f"cell {c.id} raised: {errors[0].ename}: {errors[0].evalue}"
    assert "widgets" not in nb.metadata  # no random widget-state ids in the saved file
    for c in cells:
        assert "execution" not in c.metadata  # no timestamps


@pytest.mark.parametrize("name", SERIES)
def test_graph_cells_are_static_tagged_and_followed_by_checked_facts(name):
    nb = _notebook(name)
    cells = _code_cells(nb)
    magic = [i for i, c in enumerate(cells) if c.source.startswith("%%autograd")]
    assert magic, f"{name} shows no graph with %%autograd"
    assert any(c.source.strip() == "%load_ext autograd_viz" for c in cells[: magic[0]])
    for i in magic:
        cell = cells[i]
        assert IGNORE in _tags(cell), f"{cell.id}: graph cells must be tagged {IGNORE}"
        bundles = [o.get("data", {}) for o in cell.outputs if o.output_type == "display_data"]
        svgs = [b["image/svg+xml"] for b in bundles if "image/svg+xml" in b]
        assert len(svgs) == 1 and "<svg" in svgs[0], f"{cell.id}: no static SVG saved"
        assert all(WIDGET_VIEW not in b for b in bundles), f"{cell.id}: saved a widget view"
        assert any("text/plain" in b for b in bundles)
        if RAISES not in _tags(cell):
            after = cells[i + 1] if i + 1 < len(cells) else None
            assert after is not None and IGNORE not in _tags(after) and after.outputs, (
                f"{cell.id}: a graph cell must be followed by a checked cell printing its facts")


@pytest.mark.parametrize("name", SERIES)
def test_outputs_are_machine_independent(name):
    text = _checked_text(_notebook(name))
    for needle in (str(ROOT), "/tmp/ipykernel", "/root/", "site-packages", "Warning:"):
        assert needle not in text, f"{name}: checked output contains {needle!r}"
    uses_random = re.search(r"\bav\.(rand|randn|randint|randperm)\(|nn\.\w+\(",
                            "\n".join(c.source for c in _code_cells(_notebook(name))))
    if uses_random:
        first = next(c for c in _code_cells(_notebook(name)))
        assert "av.manual_seed(" in first.source, f"{name}: seed the RNG in the first cell"


# The numbers the seed tutorials print, as they must appear in checked outputs.
SEED_NUMBERS = {
    "01_tensors": [
        "tensor([[ 8., 10., 12.],\n        [14., 16., 18.]])",
        "[2. 2. 2. 2. 2.]\n[1. 1. 1. 1. 1.]",
        "tensor([[ 1.0000,  0.5403, -0.4161],\n        [-0.9900, -0.6536,  0.2837]])",
        "Only Tensors of floating point and complex dtype can require gradients",
    ],
    "02_autograd_basics": [
        "tensor([8.])",
        "tensor([[-1., -1., -1., -1.],\n        [-1., -1., -1., -1.]])",
        "tensor([[-2.],\n        [-2.],\n        [-2.],\n        [-2.]])",
        "w.grad: None",
        "tensor(18., grad_fn=<MeanBackward0>)",
        "tensor(3.) tensor(6.)",
        "tensor([1.2000, 1.2000, 1.2000, 1.2000, 1.2000])",
        "grad can be implicitly created only for scalar outputs",
    ],
    "03_nonleaf_grads": [
        "tensor([0.6000, 0.6000, 0.6000, 0.6000, 0.6000]) <MulBackward0",
        "tensor([0.6000, 0.6000, 0.6000, 0.6000, 0.6000]) <AddBackward0",
        "hook gradient output:\n tensor([1., 1., 1.])\n"
        "autograd.grad output:\n (tensor([1., 1., 1.]),)",
    ],
    "04_retain_graph_and_accumulation": [
        "w.grad after two backward calls: tensor([2., 2., 2.])",
        "Trying to backward through the graph a second time",
        "x.grad = tensor([9., 9.])",
    ],
    "05_custom_function_and_higher_order": [
        "node: lineBackward | w.grad == x: True | x.grad == w: True",
        "None tensor([1.]) tensor([1.])",
        "(tensor([10.], grad_fn=<MulBackward0>),)\n(tensor([2.]),)",
    ],
    "06_nn_and_training": [
        "average over the last 4000 steps: w = 2.0",
        "total 61706",
        "held-out accuracy above 90%: True",
        "same as RNN: True",
    ],
    "07_gpu": ["tensor([8.])", "dtype=autograd_viz.float64)"],
}


@pytest.mark.parametrize("name", SERIES)
def test_seed_numbers_are_printed_and_checked(name):
    text = _checked_text(_notebook(name))
    for expected in SEED_NUMBERS[name]:
        assert expected in text, f"{name}: {expected!r} is not in a checked output"


def test_gpu_notebook_checks_only_device_independent_output():
    nb = _notebook("07_gpu")
    for c in _code_cells(nb):
        if IGNORE not in _tags(c):
            assert "cuda:0" not in _text(c.outputs)
            assert "No CUDA GPU" not in _text(c.outputs)


# --------------------------------------------------------------------------- make lab, README


def test_make_lab_opens_the_first_notebook():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lab = makefile[makefile.index("\nlab:"):]
    lab = lab[: lab.index("\n\n")]
    assert "notebooks/01_tensors.ipynb" in lab


def _tutorials_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Tutorials\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert m, "README has no '## Tutorials' section"
    return m.group(1)


def test_readme_tutorials_section_has_badge_picture_and_every_notebook():
    section = _tutorials_section()
    badge = re.search(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/HEAD\?labpath=([\w%.-]+)",
                      section)
    assert badge, "no Binder badge link"
    assert (ROOT / badge.group(1).replace("%2F", "/")).is_file()
    assert "https://mybinder.org/badge_logo.svg" in section
    pictures = re.findall(r"\]\((docs/[\w./-]+\.png)\)", section)
    assert pictures and all((ROOT / p).is_file() for p in pictures)
    for name in SERIES:
        assert f"notebooks/{name}.ipynb" in section, f"README does not link {name}"


# --------------------------------------------------------------------------- binder


def _pins() -> tuple[dict[str, str], list[str]]:
    pins, local = {}, []
    for raw in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == ".":
            local.append(line)
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert m, f"binder/requirements.txt: not an exact pin: {line!r}"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"duplicate pin {name}"
        pins[name] = m.group(2)
    return pins, local


def test_binder_files():
    apt = (BINDER / "apt.txt").read_text(encoding="utf-8").split()
    assert "graphviz" in apt  # Graphviz's `dot` draws the graphs
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    m = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert m and int(m.group(1)) >= 10, f"binder/runtime.txt: {runtime!r}"


def test_binder_requirements_are_complete_and_consistent():
    pins, local = _pins()
    assert local == ["."], "the package itself must be installed (a final '.' line)"
    assert "torch" not in pins and "autograd-viz" not in pins
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"binder does not pin the package's dependency {name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"binder pins {name}=={pins[name]}, outside pyproject's {req.specifier}")
    for needed in ("ipykernel", "jupyterlab", "notebook", "scikit-learn", "jupyterlab-widgets"):
        assert needed in pins, f"binder does not pin {needed}"
    # every module the notebooks import is installed by binder/requirements.txt
    sources = "\n".join((NB_DIR / "_src" / f"{n}.py").read_text(encoding="utf-8")
                        for n in SERIES)
    imported = set(re.findall(r"^\s*(?:from|import) (\w+)", sources, re.M))
    for module in sorted(imported - set(sys.stdlib_module_names)):
        dist = MODULE_DIST.get(module)
        assert dist is not None, f"notebooks import {module}: add it to MODULE_DIST and binder"
        assert dist == "." or canonicalize_name(dist) in pins, f"binder lacks {dist}"


def test_binder_pins_are_the_tested_versions():
    """binder/requirements.txt pins what this environment (where nbval ran) has installed.

    A newer environment is not an error of the notebooks, so drift skips with the list and the
    command that regenerates the pins; the slow test below is the real check of the pins."""
    pins, _ = _pins()
    drift = []
    for name, version in sorted(pins.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            drift.append(f"{name}=={version} (not installed here)")
            continue
        if installed != version:
            drift.append(f"{name}=={version} (here {installed})")
    if drift:
        pytest.skip("binder pins differ from this environment, regenerate them with "
                    f"`.venv/bin/python binder/freeze_requirements.py`: {', '.join(drift[:8])}"
                    + (f" and {len(drift) - 8} more" if len(drift) > 8 else ""))


def _copy_project(dest: Path) -> None:
    """What repo2docker would copy: the package, its metadata (with ``setup.py``, which
    builds the C helper), binder/, the notebooks; no build outputs (a clone has none)."""
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.so")
    for name in ("autograd_viz", "binder", "notebooks"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    (dest / "tests").mkdir()
    shutil.copy2(ROOT / "tests" / "nbval_sanitize.cfg", dest / "tests" / "nbval_sanitize.cfg")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_binder_environment_runs_the_notebooks(tmp_path):
    """A fresh venv from binder/requirements.txt (+ nbval and pytest, at the versions used
    here), then ``pytest --nbval`` over the notebooks in it: Binder's build, minus Docker."""
    project = tmp_path / "repo"
    project.mkdir()
    _copy_project(project)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    test_tools = [f"{d}=={metadata.version(d)}" for d in ("nbval", "pytest")]
    pip = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt", *test_tools],
        cwd=project, capture_output=True, text=True, timeout=1200,
    )
    assert pip.returncode == 0, f"pip install failed:\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}"

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run(
        [str(py), "-m", "pytest", "notebooks", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider", "-q"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, f"nbval in the Binder venv failed:\n{run.stdout[-6000:]}"
    where = subprocess.run([str(py), "-c", "import autograd_viz; print(autograd_viz.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert str(venv) in where.stdout, "the notebooks must have used the venv's installed package"
