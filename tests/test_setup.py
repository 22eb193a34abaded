"""The project set-up itself: packaging, Makefile, CI entry point, test configuration."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None


@pytest.fixture(scope="module")
def pyproject() -> dict:
    if tomllib is None:
        tomli = pytest.importorskip("tomli", reason="reading TOML on Python 3.10 needs tomli")
        return tomli.loads((ROOT / "pyproject.toml").read_text())
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_import_does_not_pull_in_ipython():
    proc = _run_python(
        "import sys, autograd_viz\n"
        "print('IPython' in sys.modules)\n"
        "print(list(autograd_viz.__path__)[0])\n"
    )
    assert proc.returncode == 0, proc.stderr
    in_modules, path = proc.stdout.split()
    assert in_modules == "False", "importing autograd_viz must not import IPython"
    assert Path(path).resolve().is_relative_to(ROOT / "autograd_viz"), (
        f"autograd_viz imported from {path}, not from this checkout"
    )


def test_ci_run_is_executable_and_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert ci.is_file()
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    text = ci.read_text()
    assert text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/bash")
    assert "set -euo pipefail" in text
    assert re.search(r"^\s*make test\s*$", text, re.M)


def test_makefile_targets():
    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.M))
    assert {"venv", "install", "test", "lab", "bench", "lint", "clean"} <= targets
    assert "$(PY) -m pytest tests" in text
    assert "--nbval-sanitize-with tests/nbval_sanitize.cfg" in text
    # the oracle is only ever the local CPU build
    assert re.search(r"^TORCH_SPEC\s*:?=\s*torch==2\.13\.0\+cpu\s*$", text, re.M)
    assert "--no-index" in text


def test_make_dry_run_knows_test_and_lab():
    if not _which("make"):
        pytest.skip("make not installed")
    for target in ("test", "lab"):
        # -n: print, don't run; -W pyproject.toml would force reinstall, so don't touch it
        proc = subprocess.run(
            ["make", "-n", "--no-print-directory", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "No rule to make target" not in proc.stderr


def test_pyproject_metadata(pyproject):
    project = pyproject["project"]
    assert project["name"] == "autograd_viz"
    assert project["requires-python"] == ">=3.10"
    deps = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert {"numpy", "graphviz", "ipython", "ipywidgets", "anywidget"} <= deps
    extras = project["optional-dependencies"]
    assert extras["cuda12"] == ["cupy-cuda12x"]
    assert extras["cuda13"] == ["cupy-cuda13x"]
    dev = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower() for d in extras["dev"]}
    assert {"pytest", "hypothesis", "nbval", "jupyterlab", "playwright", "ruff"} <= dev
    assert not any(d.startswith("torch") for group in extras.values() for d in group), (
        "torch must not be an extra: an unavailable pin would pull the CUDA build"
    )
    data = pyproject["tool"]["setuptools"]["package-data"]["autograd_viz"]
    assert "jupyter/widgets/*.js" in data and "jupyter/widgets/*.css" in data


def test_pytest_markers_registered(pyproject):
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    names = {m.split(":", 1)[0].strip() for m in markers}
    assert {"browser", "slow", "cuda", "oracle"} <= names


def test_nbval_sanitize_replaces_addresses():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg")
    rules = [(cfg[s]["regex"], cfg[s]["replace"]) for s in cfg.sections()]
    text = "<autograd_viz.Foo object at 0x7f3a2b1c9d10>"
    for regex, replace in rules:
        text = re.sub(regex, replace, text)
    assert text == "<autograd_viz.Foo object at 0xADDR>"


def test_device_list_has_cpu(device):
    assert device in ("cpu", "cuda")


@pytest.mark.slow
def test_slow_marker_only_runs_with_slow_flag(request):
    assert request.config.getoption("--slow")


def test_hypothesis_profile_loaded(request):
    settings = pytest.importorskip("hypothesis").settings
    name = os.environ["HYPOTHESIS_PROFILE"]
    assert request.config._hypothesis_profile_name == name
    if not request.config._hypothesis_profile_overridden:
        assert name == ("slow" if request.config.getoption("--slow") else "ci")
    if name in ("ci", "slow"):
        assert settings.default.deadline is None
    if name == "slow":
        assert settings.default.max_examples == 2000


def test_no_cuda_torch_pulled_in():
    """The oracle may only be the local CPU wheel; CUDA torch drags in nvidia-* packages."""
    names = {(d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions()}
    assert not sorted(n for n in names if n.startswith("nvidia-")), "CUDA packages installed"
    if "torch" in names:
        assert importlib.metadata.version("torch") == "2.13.0+cpu"


def test_jupyter_labextensions_found():
    paths = pytest.importorskip("jupyter_core.paths")
    if importlib.util.find_spec("anywidget") is None:
        pytest.skip("anywidget not installed")
    dirs = [Path(p) for p in paths.jupyter_path("labextensions")]
    for ext in ("anywidget", "@jupyter-widgets/jupyterlab-manager"):
        assert any((d / ext / "package.json").is_file() for d in dirs), f"{ext} not in {dirs}"


def _which(cmd: str) -> str | None:
    from shutil import which

    return which(cmd)
