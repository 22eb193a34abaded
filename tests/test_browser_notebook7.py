"""``%%autograd`` in a real Notebook 7 (``jupyter notebook``), driven by headless Chromium.

Issue 5 promises the explorer in JupyterLab 4 *and* Notebook 7. Notebook 7 is built from
JupyterLab's packages but is its own application (its own page, menus, toolbar and no status
bar), so this opens ``tests/browser/autograd_demo.ipynb`` at ``/notebooks/<name>.ipynb``,
runs it from the Run menu, and checks the explorer's graph SVG, one inspector click and the
``--static`` SVG. The screenshot goes to ``tests/artifacts/notebook7_explorer.png``.
Skipped (with the reason) where ``/usr/bin/chromium`` or playwright is missing.
"""
from __future__ import annotations

import re
import time

import pytest

pytest_plugins = ("browser.lab",)  # fixtures: notebook_server, chromium, page, open_notebook7
pytestmark = pytest.mark.browser


def test_explorer_in_notebook7(open_notebook7, screenshot):
    from playwright.sync_api import expect

    t0 = time.monotonic()
    pg = open_notebook7("autograd_demo")
    t_open = time.monotonic() - t0
    app = pg.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data')"
                      ".textContent)")
    assert (app["appName"], app["appVersion"][:2]) == ("Jupyter Notebook", "7."), app["appName"]
    assert pg.locator(".jp-LabShell").count() == 0  # Notebook 7's own shell, not Lab's

    pg.get_by_role("menuitem", name="Run", exact=True).click()
    pg.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    cells = pg.locator(".jp-Notebook .jp-CodeCell")
    main, static = cells.nth(1), cells.nth(2)

    # -- the explorer's graph: inline SVG with the op and variable names -------------------
    canvas = main.locator(".agv-canvas")
    expect(canvas.locator("svg g.agv-node").first).to_be_visible()
    svg_text = canvas.locator("svg").text_content()
    for op in ("MulBackward0", "AddBackward0", "MeanBackward0", "AccumulateGrad"):
        assert op in svg_text, op
    assert "hook on l2 got" in svg_text  # the hook's note
    names = set(canvas.locator("g.agv-tensor").evaluate_all(
        "els => els.map(e => e.dataset.name || '')"))
    assert {"x", "w1", "w2", "b", "l1", "l2", "l3", "y"} <= names, names
    expect(main.locator(".agv-header")).to_contain_text("backward run")

    # -- one click: the inspector shows the node's grad (a kernel round trip) -------------
    inspector = main.locator(".agv-inspector-box")
    expect(inspector).to_contain_text("Click a node")
    canvas.locator(".agv-fit").click()
    canvas.locator('g.agv-node[data-name="w1"]').click()
    expect(canvas.locator("g.agv-node.agv-selected")).to_have_attribute("data-name", "w1")
    expect(inspector.locator(".agv-name")).to_have_text("w1")
    expect(inspector.locator(".agv-grad")).to_contain_text("tensor(3.)")
    main.locator(".agv-explorer").evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(pg, "notebook7_explorer")

    # -- --static: Notebook 7 renders image/svg+xml as <img> too --------------------------
    img = static.locator(".jp-RenderedSVG img")
    expect(img).to_have_attribute("src", re.compile(r"^data:image/svg\+xml,"))
    svg = img.evaluate("i => decodeURIComponent(i.getAttribute('src'))")
    assert "PowBackward0" in svg
    assert img.evaluate("i => i.complete && i.naturalWidth") > 0
    print(f"\n[timing] Notebook 7 page load + kernel idle {t_open:.1f}s, whole test "
          f"{time.monotonic() - t0:.1f}s; console errors: {pg.console_errors}")
    assert pg.external_requests == [], "the page tried to reach the network (CDN?)"
