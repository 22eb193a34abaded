"""Shared pytest set-up for autograd_viz.

- ``--slow``: run tests marked ``slow`` and use the "slow" Hypothesis profile (2000 examples).
  Without it those tests skip ("needs --slow") and the "ci" profile is loaded. The env var
  ``HYPOTHESIS_PROFILE`` overrides the choice and is set to the profile in use.
- ``device`` fixture: parametrised over ``DEVICES`` ("cpu", and "cuda" which skips with a
  visible reason where ``autograd_viz.cuda.is_available()`` is False or cannot be asked).
- ``torch`` fixture: the PyTorch oracle, or a skip with the reason and the install command.
  Tests using it get the ``oracle`` marker automatically.
- Kernels (nbval, nbclient, Jupyter servers) get temp IPython/Jupyter dirs, not ``$HOME``'s.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Notebooks under tests/ are fixtures (e.g. for browser tests), not nbval targets.
collect_ignore_glob = ["*.ipynb", "artifacts"]  # fnmatch: "*" spans "/"

TORCH_SKIP_REASON = "PyTorch oracle not installed (pip install torch==2.13.0+cpu)"


# --------------------------------------------------------------------------- options


def pytest_addoption(parser):
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="run tests marked slow and use the 'slow' Hypothesis profile (more examples)",
    )


def _register_hypothesis_profiles(config) -> str | None:
    config._hypothesis_profile_overridden = bool(os.environ.get("HYPOTHESIS_PROFILE"))
    try:
        from hypothesis import settings
    except ImportError:
        return None
    # CI runs the same examples every time (a red CI is reproducible); --slow explores
    settings.register_profile("ci", deadline=None, derandomize=True, database=None)
    settings.register_profile("slow", max_examples=2000, deadline=None)
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("slow" if config.getoption("--slow") else "ci")
    settings.load_profile(name)
    os.environ["HYPOTHESIS_PROFILE"] = name
    return name


def pytest_configure(config):
    config._hypothesis_profile_name = _register_hypothesis_profiles(config)

    # Keep IPython/Jupyter state of every kernel we start (nbval, nbclient, Lab servers) out
    # of $HOME; children inherit os.environ. Only set what the user has not set.
    home = Path(tempfile.mkdtemp(prefix="autograd-viz-test-"))
    config._autograd_viz_tmp_home = home
    for var, sub in {
        "IPYTHONDIR": "ipython",
        "JUPYTER_CONFIG_DIR": "jupyter-config",
        "JUPYTER_DATA_DIR": "jupyter-data",
        "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    }.items():
        os.environ.setdefault(var, str(home / sub))
    # The environment's share/jupyter (labextensions: anywidget, jupyterlab-manager; kernels)
    # stays on JUPYTER_PATH, first, so it is found whatever JUPYTER_DATA_DIR says.
    share = str(Path(sys.prefix) / "share" / "jupyter")
    parts = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if share not in parts:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([share, *parts])


def pytest_unconfigure(config):
    home = getattr(config, "_autograd_viz_tmp_home", None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


def pytest_report_header(config):
    profile = getattr(config, "_hypothesis_profile_name", None)
    return [
        f"autograd_viz devices: {', '.join(_device_summary())}",
        f"hypothesis profile: {profile or 'hypothesis not installed'}",
    ]


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--slow")
    skip_slow = pytest.mark.skip(reason="needs --slow")
    for item in items:
        if not run_slow and "slow" in item.keywords:
            item.add_marker(skip_slow)
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.oracle)


# --------------------------------------------------------------------------- devices


@cache
def _cuda_unavailable_reason() -> str | None:
    """None if CUDA can be used, else why not. Imports autograd_viz lazily and defensively."""
    try:
        import autograd_viz

        available = bool(autograd_viz.cuda.is_available())
    except Exception as exc:  # package partially written, no CuPy, driver trouble, ...
        return f"CUDA unknown: autograd_viz.cuda.is_available() failed: {type(exc).__name__}: {exc}"
    if not available:
        return "CUDA not available (autograd_viz.cuda.is_available() is False: no GPU or CuPy)"
    return None


def _device_params() -> list:
    reason = _cuda_unavailable_reason()
    cuda_marks = [pytest.mark.cuda]
    if reason is not None:
        cuda_marks.append(pytest.mark.skip(reason=reason))
    return ["cpu", pytest.param("cuda", marks=cuda_marks, id="cuda")]


def _device_summary() -> list[str]:
    reason = _cuda_unavailable_reason()
    return ["cpu", "cuda" if reason is None else f"cuda (skipped: {reason})"]


# Usable as @pytest.mark.parametrize("device", DEVICES) too.
DEVICES = devices = _device_params()


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


# --------------------------------------------------------------------------- oracle


@pytest.fixture(scope="session")
def torch():
    return pytest.importorskip("torch", reason=TORCH_SKIP_REASON)
