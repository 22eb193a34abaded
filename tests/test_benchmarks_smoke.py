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
    "(7) %%autograd, training loop",
    "(7) %%autograd, 1000-step loop",
    "(7) %%autograd, MNIST-size loop",
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


def test_recorded_training_loop_ran(quick_run):
    """The training-loop row measured both cells (a skip would say why instead)."""
    stdout, _ = quick_run
    row = next(line for line in stdout.splitlines()
               if line.startswith("(7) %%autograd, training loop"))
    assert "us/step" in row and "skipped" not in row, row


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


def test_a_run_without_gpu_keeps_the_gpu_rows_it_replaces(tmp_path, monkeypatch):
    """Without a GPU, a full run keeps the GPU rows of the results.json it overwrites (marked
    as carried over, with the earlier commit named), instead of dropping them."""
    import json

    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import report, runner

    committed = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert committed["gpu"].get("rows"), "the committed results hold GPU rows"
    previous = tmp_path / "results.json"
    previous.write_text(json.dumps(committed))
    why = "not measured (no GPU here)"  # (as gpu.available() says it)
    R = dict(committed, gpu={"skipped": why})
    runner.carry_gpu(R, previous)
    assert R["gpu"]["rows"] == committed["gpu"]["rows"]
    assert R["gpu"]["carried"] == committed["gpu"].get("carried", why)
    text = report.markdown(R, None)
    gpu = text[text.index("## GPU"):]
    assert "This run: not measured" in gpu and committed["gpu"]["commit"] in gpu
    assert "| GPU (3) MLP 784-256-10 b128 (earlier run) |" in text
    # nothing earlier to keep, or a run that measured its own: left as it is
    R2 = dict(committed, gpu={"skipped": why})
    runner.carry_gpu(R2, tmp_path / "absent.json")
    assert R2["gpu"] == {"skipped": why}
    own = {"device": "d", "rows": [], "note": ""}
    R3 = dict(committed, gpu=own)
    runner.carry_gpu(R3, previous)
    assert R3["gpu"] is own
