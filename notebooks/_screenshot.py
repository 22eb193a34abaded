"""Take the README's picture of the explorer widget: docs/autograd_explorer.png.

    .venv/bin/python notebooks/_screenshot.py

Starts JupyterLab on 127.0.0.1 (isolated settings, a temporary copy of notebook 03), runs all
cells in headless Debian Chromium (``/usr/bin/chromium``, driven by Playwright; never
``playwright install``), selects the retained-grad tensor ``l1`` in the first ``%%autograd``
explorer (the 0.6 walkthrough), moves the backward stepper, and saves a screenshot of that
output. Follows ``shared/recipes/jupyter_browser_test.md``; the server is shut down through
its API, then its own process group is killed.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOK = "03_nonleaf_grads"
OUT = ROOT / "docs" / "autograd_explorer.png"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_lab(tmp: Path) -> tuple[subprocess.Popen, str, str]:
    root = tmp / "root"
    root.mkdir()
    shutil.copy(HERE / f"{NOTEBOOK}.ipynb", root / "tutorial.ipynb")
    for plugin, settings in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    }.items():
        f = tmp / "lab-settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(settings))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_DATA_DIR": str(tmp / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
           "IPYTHONDIR": str(tmp / "ipython"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    share = str(Path(sys.prefix) / "share" / "jupyter")
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [share, os.environ.get("JUPYTER_PATH")]))
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--ServerApp.allow_root=True"]
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError((tmp / "server.log").read_text())
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                break
        except OSError:
            if time.monotonic() - t0 > 120:
                raise TimeoutError("jupyter lab did not start") from None
            time.sleep(0.25)
    return proc, base, token


def _stop_lab(proc: subprocess.Popen, base: str, token: str) -> None:
    try:
        req = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(req, timeout=5).close()
        proc.wait(timeout=15)
    except Exception:  # noqa: BLE001 - escalate below
        proc.terminate()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # only the group started above
    except ProcessLookupError:
        pass


def main() -> int:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    with tempfile.TemporaryDirectory(prefix="autograd-viz-shot-") as t:
        tmp = Path(t)
        proc, base, token = _start_lab(tmp)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                            env={**os.environ, "HOME": str(tmp)})
                page = browser.new_page(viewport={"width": 1500, "height": 1800},
                                        device_scale_factor=1)
                page.goto(f"{base}/lab/workspaces/shot/tree/tutorial.ipynb?token={token}")
                expect(page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")
                       ).to_have_text(re.compile(r"^Python 3 \(ipykernel\) \| Idle$"))
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
                explorers = page.locator(".agv-explorer")
                expect(explorers.nth(1)).to_be_visible()
                expect(page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")
                       ).to_have_text(re.compile(r"\| Idle$"))
                ex = explorers.first
                ex.evaluate("e => e.scrollIntoView({block: 'start'})")
                canvas = ex.locator(".agv-canvas")
                canvas.locator(".agv-fit").click()
                canvas.locator('g.agv-node[data-name="l1"]').click()
                handle = ex.locator(".agv-step-slider")
                handle.focus()
                for _ in range(2):
                    handle.press("ArrowRight")
                page.wait_for_timeout(800)
                ex.screenshot(path=str(OUT))
                browser.close()
        finally:
            _stop_lab(proc, base, token)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
