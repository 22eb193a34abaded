"""`python -m benchmarks --quick` runs end to end and prints every row of the table.

No timing is asserted (the machine is shared); only that each workload ran, or says why it
was skipped, and that every library computed the same loss and gradient as torch.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ROWS = (
    "(1) chain 200 ops, 1 elem",
    "(2) chain 200 ops, 64x64",
    "(3) MLP 784-256-10 b128",
    "(4) MLP 1024-1024-1024-10 b256",
    "(5) conv LeNet-like b32",
    "(6) grad recording cost",
    "(7) viz.record() vs plain",
    "(7) %%autograd vs plain",
    "(8) DOT+SVG 300 nodes",
    "(8) DOT+SVG 10000 nodes",
    "memory 300-step loop",
    "GPU",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    pytest.importorskip("torch", reason="the benchmarks compare against torch")
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, out


def test_table_has_every_row(quick_run):
    stdout, _ = quick_run
    lines = stdout.splitlines()
    for row in ROWS:
        assert any(line.startswith(row) for line in lines), f"row {row!r} missing:\n{stdout}"


def test_every_library_matches_torch(quick_run):
    stdout, _ = quick_run
    assert "CHECK:" not in stdout, stdout


def test_markdown_written(quick_run):
    _, out = quick_run
    text = out.read_text()
    assert "# Benchmark results" in text
    assert "## GPU" in text and "## Memory" in text
    assert out.with_name("results.json").exists()


def test_render_committed_results_with_gpu_rows(tmp_path):
    """``--render`` rebuilds RESULTS.md from the committed results.json, GPU rows and the
    per-call launch table included (those were measured on a lent GPU machine)."""
    out = tmp_path / "RESULTS.md"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--render", str(ROOT / "benchmarks" / "results.json"),
         "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = out.read_text()
    gpu = text[text.index("## GPU"):]
    assert "| (3) MLP 784-256-10 b128 | autograd_viz (CuPy)" in gpu
    assert "| `x @ w (128x784 @ 784x256)` |" in gpu
    assert text == (ROOT / "benchmarks" / "RESULTS.md").read_text()
