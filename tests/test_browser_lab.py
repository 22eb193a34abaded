"""``%%autograd`` in a real JupyterLab, driven by headless Chromium (Playwright).

Runs ``tests/browser/autograd_demo.ipynb`` through the UI and checks what a person sees:
the explorer's graph with op and variable names, a click on a node showing its grad in the
inspector, the backward stepper moving the highlight, the static SVG of ``--static``, and a
cell that raises still showing its partial graph. Screenshots go to ``tests/artifacts/``.
Skipped (with the reason) where ``/usr/bin/chromium`` or playwright is missing.
"""
from __future__ import annotations

import re
import time

import pytest

pytest_plugins = ("browser.lab",)  # fixtures: lab_server, chromium, page, open_notebook
pytestmark = pytest.mark.browser


def _run_all(pg) -> None:
    pg.get_by_role("menuitem", name="Run", exact=True).click()
    pg.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _names(locator) -> list[str]:
    return locator.evaluate_all("els => els.map(e => e.dataset.name || '')")


def test_explorer_in_jupyterlab(open_notebook, screenshot):
    from playwright.sync_api import expect

    t0 = time.monotonic()
    pg = open_notebook("autograd_demo")
    t_open = time.monotonic() - t0
    _run_all(pg)

    cells = pg.locator(".jp-Notebook .jp-CodeCell")
    main, static, failing = cells.nth(1), cells.nth(2), cells.nth(3)

    # -- the explorer: inline SVG with the op and variable names --------------------------
    canvas = main.locator(".agv-canvas")
    expect(canvas.locator("svg g.agv-node").first).to_be_visible()
    svg_text = canvas.locator("svg").text_content()
    for op in ("MulBackward0", "AddBackward0", "MeanBackward0", "AccumulateGrad"):
        assert op in svg_text, op
    names = set(_names(canvas.locator("g.agv-tensor")))
    assert {"x", "w1", "w2", "b", "l1", "l2", "l3", "y"} <= names, names
    expect(main.locator(".jp-OutputArea-output").first).to_contain_text("hook on l2 got")
    expect(main.locator(".agv-header")).to_contain_text("backward run")
    # hook output attached in the graph (a note node) and the retained grad of l1
    assert "hook on l2 got" in svg_text
    expect(main.locator(".agv-timeline")).to_contain_text("l1")

    # -- click a node: the inspector shows its grad ----------------------------------------
    inspector = main.locator(".agv-inspector-box")
    expect(inspector).to_contain_text("Click a node")
    # one widget draws it all (explorer.js), laid out by explorer.css: the graph column
    # and the inspector flex side by side (wrapping below when the cell is narrow)
    style = "(e, p) => getComputedStyle(e).getPropertyValue(p)"
    assert main.locator(".agv-explorer").count() == 1
    assert main.locator(".agv-graph-column").evaluate(style, "flex-basis") == "560px"
    assert inspector.evaluate(style, "flex-basis") == "300px"
    assert main.locator(".agv-main").evaluate(style, "flex-wrap") == "wrap"
    assert main.locator(".agv-rankdir").evaluate(style, "width") == "150px"
    width = "e => e.getBoundingClientRect().width"
    assert main.locator(".agv-canvas").evaluate(width) == main.locator(
        ".agv-graph-column").evaluate(width)
    toggles = main.locator(".agv-toggle")
    assert toggles.all_text_contents() == ["values", "grads", "shapes", "saved", "hooks"]
    assert main.locator(".agv-toggle.mod-active").all_text_contents() == [
        "values", "grads", "shapes", "hooks"]
    expect(main.locator(".agv-timeline-box")).to_be_visible()
    main.locator(".agv-explorer").evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(pg, "lab_explorer_initial")
    canvas.locator(".agv-fit").click()  # the whole graph in view (the first view may crop)
    canvas.locator('g.agv-node[data-name="w1"]').click()
    expect(canvas.locator("g.agv-node.agv-selected")).to_have_attribute("data-name", "w1")
    expect(inspector.locator(".agv-name")).to_have_text("w1")
    expect(inspector.locator(".agv-grad")).to_contain_text("tensor(3.)")
    canvas.locator('g.agv-node[data-name="x"]').click()
    expect(inspector.locator(".agv-name")).to_have_text("x")
    expect(inspector.locator(".agv-grad")).to_contain_text("1.2000")

    # -- zoom: a button changes the scale --------------------------------------------------
    label = canvas.locator(".agv-zoom-label")
    before = label.text_content()
    canvas.locator(".agv-zoom-in").click()
    expect(label).not_to_have_text(before)
    canvas.locator(".agv-fit").click()
    expect(label).to_have_text(before)

    # -- the backward stepper moves the highlight ------------------------------------------
    step_card = main.locator(".agv-step-box")
    expect(step_card).to_contain_text("replay backward")
    assert canvas.locator("g.agv-node.agv-step").count() == 0
    handle = main.locator(".agv-step-slider")
    handle.focus()
    handle.press("ArrowRight")
    current = canvas.locator("g.agv-node.agv-step")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-name", "MeanBackward0")
    expect(step_card).to_contain_text("gradient in")
    expect(step_card).to_contain_text("MeanBackward0")
    handle.press("ArrowRight")
    expect(current).to_have_attribute("data-name", "MulBackward0")
    expect(canvas.locator("g.agv-node.agv-visited")).to_have_attribute("data-name",
                                                                       "MeanBackward0")
    expect(canvas.locator("g.edge.agv-grad-out").first).to_be_attached()
    main.locator(".agv-explorer").evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(pg, "lab_explorer")
    main.locator(".agv-step-box").evaluate("e => e.scrollIntoView({block: 'end'})")
    screenshot(pg, "lab_stepper")
    inspector.evaluate("e => e.scrollIntoView({block: 'end'})")
    screenshot(pg, "lab_inspector")

    # -- a link in the inspector selects that node (x was saved by the first MulBackward0) -
    inspector.locator(".agv-ref", has_text="MulBackward0").first.click()
    expect(inspector.locator(".agv-name")).to_have_text("MulBackward0")
    expect(inspector).to_contain_text("next_functions")
    expect(canvas.locator("g.agv-node.agv-selected")).to_have_attribute("data-name",
                                                                        "MulBackward0")

    # -- play steps the slider on its own; stop goes back to before backward -------------
    play = main.locator(".agv-play button").first
    play.click()  # play
    expect(play).to_have_attribute("aria-label", "pause")
    expect(current).not_to_have_attribute("data-name", "MulBackward0")
    play.click()  # pause: the step stays where it is
    expect(play).to_have_attribute("aria-label", "play backward")
    expect(current).to_have_count(1)
    main.locator(".agv-play button").nth(1).click()  # stop: back to "before backward"
    expect(step_card).to_contain_text("replay backward")
    expect(canvas.locator("g.agv-node.agv-step")).to_have_count(0)

    # -- label toggles re-render the drawing in the kernel --------------------------------
    assert "tensor(18.)" in canvas.locator("svg").text_content()
    main.locator(".agv-toggle-data").click()
    expect(main.locator(".agv-toggle-data")).not_to_have_class(re.compile("mod-active"))
    expect(canvas.locator("svg")).not_to_contain_text("tensor(18.)")
    expect(canvas.locator("svg")).to_contain_text("MeanBackward0")

    # -- --static: an image/svg+xml output (rendered as <img>) -----------------------------
    img = static.locator(".jp-RenderedSVG img")
    expect(img).to_have_attribute("src", re.compile(r"^data:image/svg\+xml,"))
    svg = img.evaluate("i => decodeURIComponent(i.getAttribute('src'))")
    assert "PowBackward0" in svg and ">a<" in svg.replace("</B>", "<").replace("<B>", ">")
    assert "a.grad over this cell" in svg  # the .grad timeline note (2 runs + a reset)
    assert img.evaluate("i => i.complete && i.naturalWidth") > 0
    assert static.locator(".agv-canvas").count() == 0
    img.evaluate("e => e.scrollIntoView({block: 'center'})")
    screenshot(pg, "lab_static_cell")

    # -- a cell that raises: traceback + partial graph marked incomplete -------------------
    stderr = failing.locator("[data-mime-type='application/vnd.jupyter.stderr']")
    expect(stderr).to_contain_text("NameError")
    number = re.search(r"\d+", failing.locator(".jp-InputPrompt").text_content()).group()
    expect(stderr).to_contain_text(f"Cell In[{number}], line 3")
    expect(failing.locator(".agv-banner-error")).to_contain_text("NameError")
    fcanvas = failing.locator(".agv-canvas")
    expect(fcanvas.locator("svg g.agv-node").first).to_be_visible()
    assert "MulBackward0" in fcanvas.locator("svg").text_content()
    assert {"p", "q"} <= set(_names(fcanvas.locator("g.agv-tensor")))
    failing.scroll_into_view_if_needed()
    screenshot(pg, "lab_error_cell")
    print(f"\n[timing] page load + kernel idle {t_open:.1f}s, whole test "
          f"{time.monotonic() - t0:.1f}s; console errors: {pg.console_errors}")
    assert pg.external_requests == [], "the page tried to reach the network (CDN?)"


def test_recorded_training_loop_in_jupyterlab(open_notebook, screenshot):
    """Thirty SGD steps under ``%%autograd``: the canvas draws the first and the last
    iteration and one box for the 28 between; clicking the box says what it stands for, and
    the ``.grad`` timeline shows its first and last events with the count between."""
    from playwright.sync_api import expect

    pg = open_notebook("loop_demo")
    _run_all(pg)
    cell = pg.locator(".jp-Notebook .jp-CodeCell").nth(1)
    canvas = cell.locator(".agv-canvas")
    summary = canvas.locator("g.agv-node.agv-summary")
    expect(summary).to_have_count(1)
    expect(summary).to_contain_text("28 more iterations like run0 (run1 … run28)")
    expect(cell.locator(".agv-header")).to_contain_text("loss, (MseLossBackward0) ×29")
    assert canvas.locator("g.agv-node.agv-op").count() < 20
    assert canvas.locator("g.agv-node").evaluate_all("els => els.length") < 40
    canvas.locator(".agv-fit").click()
    summary.click()
    inspector = cell.locator(".agv-inspector-box")
    expect(inspector).to_contain_text(
        "This box stands for 28 more iterations like run0 (run1 … run28)")
    # (59 events per parameter: 30 backward calls, 29 resets; the first zero_grad found None)
    expect(cell.locator(".agv-timeline .agv-ev-cut").first).to_have_text("… 19 more")
    cell.locator(".agv-explorer").evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(pg, "lab_recorded_loop")
    assert pg.external_requests == [], "the page tried to reach the network (CDN?)"


def test_saved_notebook_as_static_html(executed_demo, page, screenshot):
    """nbconvert's HTML of the executed notebook, opened in Chromium with no kernel and no
    network: every graph is there as an SVG image (the widget view has no saved state, so
    nbconvert falls back to the output's image/svg+xml)."""
    from nbconvert import HTMLExporter
    from playwright.sync_api import expect

    nb, _ = executed_demo
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page.set_content(html, wait_until="load")
    imgs = page.locator(".jp-RenderedSVG img")
    expect(imgs).to_have_count(3)
    for i in range(3):
        assert imgs.nth(i).evaluate("i => i.complete && i.naturalWidth") > 0
    svgs = imgs.evaluate_all("els => els.map(i => atob(i.src.split(',')[1]))")
    assert "MeanBackward0" in svgs[0] and "hook on l2 got" in svgs[0]
    assert "PowBackward0" in svgs[1] and "incomplete" in svgs[2]
    expect(page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
           ).to_contain_text("NameError")
    imgs.first.scroll_into_view_if_needed()
    screenshot(page, "static_html")


def test_missing_chromium_gives_a_visible_reason(monkeypatch):
    import browser.lab as lab

    monkeypatch.setattr(lab, "CHROMIUM", "/nonexistent/chromium")
    reason = lab.chromium_missing_reason()
    assert "apt-get install -y chromium" in reason and "playwright install" in reason
