"""The printed table and ``RESULTS.md``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NAMES = {"autograd_viz": "autograd_viz", "torch": "torch", "mygrad": "MyGrad",
         "hips": "HIPS autograd", "numpy": "plain NumPy"}
SHORT = {"autograd_viz": "av", "torch": "torch", "mygrad": "mygrad", "hips": "hips",
         "numpy": "numpy"}


def _f(x: float | None, nd: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:.{nd}f}" if abs(x) < 1000 else f"{x:.0f}"


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def _before_ratio(before: dict | None, key: str) -> float | None:
    if not before:
        return None
    for r in before.get("workloads", []):
        if r.get("key") == key:
            return r.get("ratios", {}).get("autograd_viz")
    return None


def summary_rows(R: dict, before: dict | None = None) -> list[dict[str, Any]]:
    """One dict per table row: label, value text, ratio, target, met, before."""
    rows = []
    for w in R["workloads"]:
        ratio = w["ratios"].get("autograd_viz")
        rows.append({"label": w["label"], "unit": w["unit"], "w": w, "ratio": ratio,
                     "target": f"<= {w['target']:.2f}x", "met": ratio <= w["target"],
                     "before": _before_ratio(before, w["key"])})
    g = R["grad_cost"]
    cost = g["cost"]["autograd_viz"]
    b = before.get("grad_cost", {}).get("cost", {}).get("autograd_viz") if before else None
    rows.append({"label": "(6) grad recording cost", "unit": "us/op",
                 "value": f"av {cost:.2f}, torch {g['cost']['torch']:.2f}",
                 "ratio": None, "target": f"<= {g['target_us']} us", "met":
                 cost <= g["target_us"], "before": b, "before_unit": "us"})
    for name, label in (("record", "(7) viz.record() vs plain"),
                        ("record_64", "(7) viz.record(), 64x64"),
                        ("magic", "(7) %%autograd vs plain"),
                        ("magic_rerun", "(7) %%autograd, cell re-run"),
                        ("magic_loop", "(7) %%autograd, training loop"),
                        ("magic_loop_long", "(7) %%autograd, 1000-step loop"),
                        ("magic_loop_mnist", "(7) %%autograd, MNIST-size loop")):
        v = R["viz_overhead"].get(name, {"skipped": "not run"})
        b = before.get("viz_overhead", {}).get(name, {}).get("ratio") if before else None
        if "skipped" in v:
            rows.append({"label": label, "unit": "x plain", "value": f"skipped: {v['skipped']}",
                         "ratio": None, "target": "<= 1.25x", "met": None, "before": b})
        else:
            per = "us/step" if name.startswith("magic_loop") else "us/op"
            rows.append({"label": label, "unit": "x plain",
                         "value": f"{v['us']:.2f} vs {v['plain_us']:.2f} {per}",
                         "ratio": v["ratio"], "target": "<= 1.25x",
                         "met": v["ratio"] <= 1.25, "before": b})
    for n, d in R["dot"].items():
        label = f"(8) DOT+SVG {int(n)} nodes"
        if "skipped" in d:
            rows.append({"label": label, "unit": "ms", "value": f"skipped: {d['skipped']}",
                         "ratio": None, "target": "-", "met": None, "before": None})
            continue
        svg = d["svg_note"] if d["svg_s"] is None else f"{d['svg_s'] * 1e3:.0f}"
        if d.get("svg_pipe_s") is not None:
            svg += f" (long-lived dot {d['svg_pipe_s'] * 1e3:.1f})"
        rows.append({"label": label, "unit": "ms",
                     "value": f"DOT {d['dot_s'] * 1e3:.1f}, SVG {svg} ({d['nodes']} nodes)",
                     "ratio": None, "target": "DOT < 1000 ms" if int(n) > 1000 else "-",
                     "met": d["dot_s"] < 1.0 if int(n) > 1000 else None, "before": None})
    m = R["memory"]
    mib = 2**20
    rows.append({"label": f"memory {m['steps']}-step loop", "unit": "MiB",
                 "value": f"peak RSS at step 100: {m['peak_at_100'] / mib:.1f}, at step "
                          f"{m['steps']}: {m['peak_at_end'] / mib:.1f} (RSS "
                          f"{m['rss_at_100'] / mib:.1f} -> {m['rss_at_end'] / mib:.1f})",
                 "ratio": None, "target": "flat",
                 "met": m["growth"] < 8 * mib and m["peak_growth"] < 8 * mib, "before": None})
    gpu = R["gpu"]
    if "skipped" in gpu:
        rows.append({"label": "GPU (CuPy vs torch CUDA)", "unit": "-",
                     "value": gpu["skipped"], "ratio": None, "target": "<= 1.5x",
                     "met": None, "before": None})
    else:
        for r in gpu["rows"]:
            rows.append({"label": f"GPU {r['label']}" + (" (earlier run)" if gpu.get("carried")
                                                         else ""), "unit": "ms/step",
                         "value": ", ".join(f"{k} {v:.2f}" for k, v in r["ms"].items()),
                         "ratio": r["ratio"], "target": "<= 1.5x",
                         "met": None if r["ratio"] is None else r["ratio"] <= 1.5,
                         "before": None})
    return rows


def text_table(R: dict, before: dict | None = None) -> str:
    impls = list(R["workloads"][0]["values"]) if R["workloads"] else []
    lines = []
    hdr = f"{'workload':34} {'unit':8}" + "".join(f"{SHORT[i]:>9}" for i in impls)
    hdr += f" | {'av/torch':>8} {'before':>7} {'target':>9} {'met':>4} |" + \
        "".join(f"{SHORT[i] + '/t':>9}" for i in impls if i not in ("autograd_viz", "torch"))
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for row in summary_rows(R, before):
        w = row.get("w")
        b = "-" if row["before"] is None else f"{row['before']:.2f}"
        if w is not None:
            s = f"{row['label']:34} {row['unit']:8}" + "".join(
                f"{_f(w['values'][i]):>9}" for i in impls)
            s += f" | {_f(row['ratio']):>8} {b:>7} {row['target']:>9} {_met(row['met']):>4} |"
            s += "".join(f"{_f(w['ratios'][i]):>9}" for i in impls
                         if i not in ("autograd_viz", "torch"))
            bad = [i for i, c in w["checks"].items() if c != "ok"]
            if bad:
                s += "  CHECK: " + ", ".join(f"{i} {w['checks'][i]}" for i in bad)
        else:
            s = f"{row['label']:34} {row['unit']:8} {row['value']}"
            extra = []
            if row["ratio"] is not None:
                extra.append(f"ratio {row['ratio']:.2f}")
            if row["before"] is not None:
                extra.append(f"before {row['before']:.2f}")
            extra.append(f"target {row['target']}")
            extra.append(f"met {_met(row['met'])}")
            s += "  [" + ", ".join(extra) + "]"
        lines.append(s)
    la, lb = R["load_start"], R["load_end"]
    lines.append(f"load average {la[0]:.2f} at start, {lb[0]:.2f} at end; "
                 f"{R['machine']['usable_cores']} cores; wall {R['wall_s']:.0f} s"
                 + (" (QUICK: few repeats, numbers are rough)" if R["quick"] else ""))
    return "\n".join(lines)


def markdown(R: dict, before: dict | None = None) -> str:
    m = R["machine"]
    impls = list(R["workloads"][0]["values"]) if R["workloads"] else []
    out = ["# Benchmark results", "",
           "Written by `python -m benchmarks` (`make bench`); do not edit by hand. "
           "All numbers come from ONE process, with interleaved repeats (each library runs "
           "once per round, in rotating order) and medians over rounds. Ratios are to torch "
           "measured in the same run.", ""]
    if R["quick"]:
        out += ["**QUICK run** (`--quick`): few repeats; numbers are rough.", ""]
    out += ["## Machine and versions", "",
            f"- date: {m['date']}; commit `{m['commit']}`" + (" (+ uncommitted changes)"
                                                              if m["dirty"] else ""),
            f"- CPU: {m['cpu']}; {m['cores']} cores ({m['usable_cores']} usable); "
            f"memory {m['mem_gib']:.0f} GiB" if m["mem_gib"] else f"- CPU: {m['cpu']}",
            f"- {m['platform']}; Python {m['python']}",
            f"- numpy {m['numpy']} ({m['numpy_blas']}); torch {m['torch']} "
            f"({m['torch_threads']} threads); MyGrad {m['mygrad']}; HIPS autograd "
            f"{m['hips_autograd']}; autograd_viz {m['autograd_viz']}; IPython {m['ipython']}; "
            f"{m['dot']}",
            f"- threads: {R['threads']} for torch (`torch.set_num_threads`) and NumPy's "
            "BLAS (`threadpoolctl`), the same for every library; with the 2 cores shared, "
            "multi-threaded OpenMP in torch stalls whenever another process runs, which "
            "would make every ratio noise.",
            f"- clock: {R['clock']}: "
            + ("medians of `time.process_time()` (CPU seconds of this process: on the shared "
               "machine this leaves out the time the scheduler gives to other processes; with "
               "one thread per library it equals the wall time of an idle machine). Wall-clock "
               "medians are in `results.json` (`values_wall`)." if R["clock"] == "cpu" else
               "medians of `time.perf_counter()` wall time."),
            f"- load average (1 min) {R['load_start'][0]:.2f} at start, "
            f"{R['load_end'][0]:.2f} at end: the machine is shared with other engineers "
            "running tests, so absolute numbers wander; ratios within a run are what to read. "
            f"Whole run: {R['wall_s']:.0f} s.", ""]

    out += ["## Summary", "",
            "| workload | unit | result | autograd_viz / torch | before | target | met |",
            "|---|---|---|---|---|---|---|"]
    for row in summary_rows(R, before):
        w = row.get("w")
        val = (f"av {_f(w['values']['autograd_viz'])}, torch {_f(w['values']['torch'])}"
               if w is not None else row["value"])
        b = "-" if row["before"] is None else f"{row['before']:.2f}"
        out.append(f"| {row['label']} | {row['unit']} | {val} | {_f(row['ratio'])} | {b} | "
                   f"{row['target']} | {_met(row['met'])} |")
    out += ["", "`before`: the same benchmark on the engine before the optimisations below "
            "(`benchmarks/baseline.json`)." if before else "", ""]

    out += ["## (1)-(5) all libraries", "",
            "| workload | unit | " + " | ".join(NAMES[i] for i in impls) + " | "
            + " | ".join(f"{NAMES[i]} / torch" for i in impls if i != "torch")
            + " | spread (IQR/median) av, torch | same result as torch |",
            "|" + "---|" * (2 + len(impls) + len(impls) - 1 + 2)]
    for w in R["workloads"]:
        checks = ", ".join(f"{SHORT[i]} {c}" for i, c in w["checks"].items() if c != "ok")
        out.append(f"| {w['label']} | {w['unit']} | "
                   + " | ".join(_f(w["values"][i]) for i in impls) + " | "
                   + " | ".join(_f(w["ratios"][i]) for i in impls if i != "torch")
                   + f" | {w['spread']['autograd_viz']:.0%}, {w['spread']['torch']:.0%} | "
                   + (checks or "all ok") + " |")
    out += ["",
            "- (1)/(2): `y = tanh(y * a + b) - c` fifty times (200 elementwise ops), `sum`, "
            "backward to all four leaves (µs per op, forward+backward, float32).",
            "- (3)/(4): `h = x @ W + b`, ReLU, softmax cross-entropy (mean), backward, SGD "
            "(lr 0.01), grads set to None: ms per step, float32; torch uses "
            "`F.cross_entropy`, MyGrad `softmax_crossentropy`.",
            "- (5): conv 6@5x5 on 1x28x28 (batch 32) + bias, ReLU, 2x2 max-pool, flatten, "
            "linear to 10, cross-entropy, SGD. torch: `F.conv2d`/`F.max_pool2d`; MyGrad: "
            "`conv_nd`/`max_pool`; HIPS and plain NumPy: im2col + one matmul.",
            "- plain NumPy: hand-written forward and backward, no engine (the limit).",
            "- every library starts from the same arrays; a first probing step checks that "
            "loss and the first weight's gradient match torch (column 'same result').", ""]
    if R.get("conv_note"):
        out += [f"- note: {R['conv_note']}.", ""]

    g = R["grad_cost"]
    out += ["## (6) Graph-recording cost (forward only, 1-element chain)", "",
            "| | grad on µs/op | grad off µs/op | recording cost µs/op |", "|---|---|---|---|"]
    for i in ("autograd_viz", "torch"):
        out.append(f"| {i} | {g['us_per_op'][i + ' on']:.2f} | {g['us_per_op'][i + ' off']:.2f}"
                   f" | {g['cost'][i]:.2f} |")
    out += ["", f"Target: autograd_viz ≤ {g['target_us']} µs per op.", ""]

    out += ["## (7) Recording under `viz.record()` and `%%autograd`", "",
            "The 1-element chain forward+backward (as in (1)) inside `with viz.record():` "
            "(recording only; `rec.graph()` is not called), the same on 64×64 tensors "
            "(whose values the recorder copies and summarises later, at `graph()`), and as an "
            "IPython cell run by a real `InteractiveShell` with `%load_ext autograd_viz`, plain "
            "vs `%%autograd` (output swallowed for both; the `%%autograd` cell also builds the "
            "graph model, lays it out and builds the explorer widget: a fixed cost per cell, "
            "large next to this 200-op cell's 2-3 ms of work). `%%autograd` is a new cell each "
            "time (a new explorer; the SVG cache emptied first, so `dot` runs); the re-run is "
            "the same cell run again as a kernel does it (the request names the cell: its "
            "explorer is updated in place and the unchanged drawing comes from the SVG cache). "
            "The wall column is per cell and includes the `dot` processes, which the CPU clock "
            "of this process does not see. The training loop is another cell: 100 SGD steps "
            "of an MLP 20-32-3 on a batch of 64 with cross-entropy, plain vs `%%autograd` as a "
            "new cell (µs per step, not per op; recorded, the cell also keeps every step's "
            "values, summarised, for the explorer); the 1000-step loop is the same cell with "
            "1000 steps, which shows whether the cost per step stays flat as a recording "
            "grows; the MNIST-size loop is the 100-step cell with an MLP 784-128-10 (batch "
            "64), whose weights, activations and gradients are large values that the "
            "recording copies and summarises every step.", "",
            "| | plain µs/op | recorded µs/op | ratio | wall ms per cell, plain → recorded "
            "| target |", "|---|---|---|---|---|---|"]
    for name in ("record", "record_64", "magic", "magic_rerun", "magic_loop",
                 "magic_loop_long", "magic_loop_mnist"):
        v = R["viz_overhead"].get(name, {"skipped": "not run"})
        if name.startswith("magic_loop_") and name not in R["viz_overhead"]:
            continue  # (results from before the row existed)
        label = {"record": "viz.record()", "record_64": "viz.record(), 64×64",
                 "magic": "%%autograd, new cell", "magic_rerun": "%%autograd, re-run",
                 "magic_loop": "%%autograd, training loop (µs/step)",
                 "magic_loop_long": "%%autograd, 1000-step loop (µs/step)",
                 "magic_loop_mnist": "%%autograd, MNIST-size loop (µs/step)"}[name]
        if "skipped" in v:
            out.append(f"| {label} | - | - | skipped: {v['skipped']} | - | ≤ 1.25× |")
        else:
            wall = (f"{v['plain_wall_ms']:.1f} → {v['wall_ms']:.1f}" if "wall_ms" in v
                    and name.startswith("magic") else "-")
            out.append(f"| {label} | {v['plain_us']:.2f} | {v['us']:.2f} | {v['ratio']:.2f} | "
                       f"{wall} | ≤ 1.25× |")
    out += ["", "## (8) DOT + SVG", "",
            "A recorded chain graph of about N nodes (tensors + ops); DOT = `viz.dot_source` "
            "with default options (above 300 nodes long chains collapse into summary nodes); "
            "SVG = Graphviz `dot -Tsvg` on that source, one new process per drawing; "
            "long-lived: the same SVG from a `dot` process already running (as drawings are "
            "made now, `viz/_dotpipe.py`).", "",
            "| graph | nodes | DOT lines | record + graph() s | DOT ms | SVG ms | SVG ms, "
            "long-lived dot |",
            "|---|---|---|---|---|---|---|"]
    for n, d in R["dot"].items():
        if "skipped" in d:
            out.append(f"| {n} | skipped: {d['skipped']} | | | | | |")
        else:
            svg = d["svg_note"] if d["svg_s"] is None else f"{d['svg_s'] * 1e3:.0f}"
            pipe = d.get("svg_pipe_s")
            pipe = "-" if pipe is None else f"{pipe * 1e3:.1f}"
            out.append(f"| ~{n} | {d['nodes']} | {d['dot_lines']} | "
                       f"{d['record_and_graph_s']:.2f} | {d['dot_s'] * 1e3:.1f} | {svg} | "
                       f"{pipe} |")
    mem = R["memory"]
    mib = 2**20
    out += ["", "## Memory", "",
            f"autograd_viz MLP 784-256-10 (batch 64) SGD training loop, {mem['steps']} steps "
            f"({mem['ms_per_step']:.2f} ms/step), run first in the process (after the "
            "imports), so the process's peak RSS (`ru_maxrss`) is the loop's; the current RSS "
            "is sampled every 100 steps too.", "",
            "| | step 100 | last step | growth |", "|---|---|---|---|",
            f"| peak RSS | {mem['peak_at_100'] / mib:.1f} MiB | {mem['peak_at_end'] / mib:.1f} "
            f"MiB | {mem['peak_growth'] / mib:+.1f} MiB |",
            f"| RSS | {mem['rss_at_100'] / mib:.1f} MiB | {mem['rss_at_end'] / mib:.1f} MiB | "
            f"{mem['growth'] / mib:+.1f} MiB |", ""]
    gpu = R["gpu"]
    out += ["## GPU", ""]
    if "skipped" in gpu:
        out += [gpu["skipped"] + ". The runner adds CuPy-vs-torch-CUDA rows for (3), (4) "
                "and (5) by itself when `autograd_viz.cuda.is_available()`.", ""]
    else:
        if gpu.get("carried"):
            out += [f"This run: {gpu['carried']}. The rows below are kept from the earlier "
                    "run whose `results.json` this run replaced (measured at commit "
                    f"`{gpu.get('commit', '?')}`), so their numbers predate the CPU rows "
                    "above.", ""]
        out += [f"Device: {gpu['device']}. {gpu['note']}", "",
                "| workload | ms/step | autograd_viz / torch CUDA (goal ≤ 1.5×) |",
                "|---|---|---|"]
        for r in gpu["rows"]:
            out.append(f"| {r['label']} | "
                       + ", ".join(f"{k} {v:.2f}" for k, v in r["ms"].items())
                       + f" | {_f(r['ratio'])} |")
        out.append("")
        if gpu.get("launch_us"):
            out += ["Host cost of one call (wall µs, issued back to back, (128, 256) float32): "
                    "what these small steps are made of.", "",
                    "| call | CuPy µs | torch CUDA µs | CuPy / torch |", "|---|---|---|---|"]
            for k, v in gpu["launch_us"].items():
                out.append(f"| `{k}` | {v['cupy']:.1f} | {v['torch']:.1f} | "
                           f"{v['cupy'] / v['torch']:.2f} |")
            out.append("")
    notes = HERE / "OPTIMISATIONS.md"
    if notes.exists():
        out += [notes.read_text().strip(), ""]
    return "\n".join(out)
