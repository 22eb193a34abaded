"""``%%autograd`` in a real kernel (nbclient), and the saved notebook without a kernel.

The demo notebook (``tests/browser/autograd_demo.ipynb``) runs top to bottom in a fresh
ipykernel. Its saved outputs must show the graph anywhere a notebook is read without a
kernel or widget state (nbconvert HTML, GitHub, nbval): every graph output carries
``image/svg+xml`` and a deterministic ``text/plain`` next to the widget view.
"""
from __future__ import annotations

import base64
import re

pytest_plugins = ("browser.lab",)  # the executed_demo fixture (no browser needed)

WIDGET = "application/vnd.jupyter.widget-view+json"
SVG = "image/svg+xml"


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_failing_cell_fails_like_without_the_magic(executed_demo):
    nb, error = executed_demo
    assert error is not None and error.ename == "NameError"  # Run All stops there
    cells = _code_cells(nb)
    failing = cells[-1]
    errors = [o for o in failing.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "NameError"  # one traceback, not two
    tb = "".join(errors[0].traceback)
    assert "run_cell_magic" not in tb
    assert f"In[{failing.execution_count}]" in tb  # the cell's own number, as without magic
    (graph,) = [o for o in failing.outputs if o.output_type == "display_data"]
    assert WIDGET in graph.data and "incomplete" in graph.data[SVG]
    assert "MulBackward0" in graph.data[SVG] and "incomplete" in graph.data["text/plain"]


def test_saved_outputs_carry_svg_and_text(executed_demo):
    nb, _ = executed_demo
    load, main, static, failing = _code_cells(nb)
    assert load.outputs == []
    streams = "".join(o.text for o in main.outputs if o.output_type == "stream")
    assert "hook on l2 got tensor([0.6000" in streams and "tensor(3.) tensor(6.)" in streams
    (graph,) = [o for o in main.outputs if o.output_type == "display_data"]
    assert set(graph.data) == {WIDGET, SVG, "text/plain"}
    svg, text = graph.data[SVG], graph.data["text/plain"]
    for word in ("MulBackward0", "AddBackward0", "MeanBackward0", ">w1<", ">l2<", ">y<",
                 "hook on l2 got"):
        assert word in svg, word
    assert "hook on l2 got" in text and "retain_grad l1" in text
    assert not re.search(r"0x[0-9a-fA-F]{4,}", text)
    # the output order: the cell's own prints first, the graph last
    assert main.outputs[-1] is graph

    kinds = [o.output_type for o in static.outputs]
    assert kinds == ["execute_result", "display_data"]  # `a.grad`, then the graph
    assert static.outputs[0].data["text/plain"] == "tensor([8.])"
    assert set(static.outputs[1].data) == {SVG, "text/plain"}
    assert "a.grad over this cell" in static.outputs[1].data[SVG]
    assert "rankdir" not in static.outputs[1].data[SVG]


def test_nbconvert_html_shows_every_graph_without_a_kernel(executed_demo):
    from nbconvert import HTMLExporter

    nb, _ = executed_demo
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    imgs = re.findall(r'<div class="jp-RenderedSVG[^"]*"[^>]*>\s*<img[^>]* src="data:image/svg'
                      r'\+xml;base64,([^"]+)"', html)
    assert len(imgs) == 3, len(imgs)
    svgs = [base64.b64decode(s).decode() for s in imgs]
    assert "MeanBackward0" in svgs[0] and "PowBackward0" in svgs[1]
    assert "incomplete" in svgs[2]
    assert 'type="application/vnd.jupyter.widget-view+json"' not in html  # no state: SVG
