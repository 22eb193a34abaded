"""Fixtures for the browser tests: a real JupyterLab and headless Debian Chromium.

Imported by ``tests/test_browser_*.py``. Follows ``shared/recipes/jupyter_browser_test.md``:

* ``lab_server`` (session): ``jupyter lab`` on 127.0.0.1 with a fresh token, isolated
  config/data/runtime/settings/workspace dirs, no news toast, no "Select Kernel" dialog,
  serving a temp copy of this folder's notebooks (the UI autosaves: never the repo's).
  Shut down through the REST API, then its own process group is killed.
* ``notebook_server`` (session): the same for Notebook 7 (``jupyter notebook``).
* ``chromium`` (session): Playwright driving ``/usr/bin/chromium`` (never ``playwright
  install``); the tests skip with the reason when it is missing.
* ``page`` (function): a 1280×900 context that lets only loopback requests through and
  records any other (so a CDN dependency fails the test), plus console errors.
* ``screenshot(page, name)``: saves ``tests/artifacts/<name>.png``.
* ``executed_demo``: the demo notebook run by nbclient (no browser needed).
* ``open_notebook(name)``: a per-test copy of a notebook opened in its own workspace,
  waited on until the kernel is really connected and idle.
* ``open_notebook7(name)``: the same in Notebook 7 (``/notebooks/<copy>.ipynb``).
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
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]
#: Generous: a loaded 2-core machine takes 5-10 s for the first Lab page and kernel.
TIMEOUT_MS = 90_000
SERVER_START_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_missing_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return (f"{CHROMIUM} not found: install Debian's Chromium (root: apt-get install -y "
                "chromium); never `playwright install`")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no `playwright install`)"
    return None


def _jupyter_server(tmp_path_factory, app: str):
    """Start ``jupyter <app>`` ("lab" or "notebook") as the recipe does; a generator that
    yields ``(base_url, token, root_dir)`` and shuts the server down afterwards."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp(app)
    root_dir = tmp / "root"
    root_dir.mkdir()
    for nb in HERE.glob("*.ipynb"):
        shutil.copy(nb, root_dir / nb.name)
    port, token = _free_port(), secrets.token_hex(16)
    for plugin, settings in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    }.items():
        f = tmp / "lab-settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(settings))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
        IPYTHONDIR=str(tmp / "ipython"),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        # absolute: kernels run in the notebook's folder
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    cmd = [
        sys.executable, "-m", "jupyter", app, "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.allow_root=True",
    ]
    if app == "lab":  # Notebook 7 has no news feed or update check to turn off
        cmd += [
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
    log_path = tmp / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # own process group: kernels die with it
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter {app} exited {proc.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - t0 > SERVER_START_S:
                raise TimeoutError(f"jupyter {app} did not answer in {SERVER_START_S} s")
            time.sleep(0.25)
        print(f"\n[{app}] ready in {time.monotonic() - t0:.1f}s on {base}")
        yield base, token, root_dir
    finally:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=5).close()
            proc.wait(timeout=15)
        except Exception:  # noqa: BLE001 - escalate below
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # only the group this fixture created
        except ProcessLookupError:
            pass
        log.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """``(base_url, token, root_dir)`` of a JupyterLab serving a copy of tests/browser."""
    yield from _jupyter_server(tmp_path_factory, "lab")


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory):
    """``(base_url, token, root_dir)`` of a Notebook 7 (``jupyter notebook``) serving a copy
    of tests/browser."""
    yield from _jupyter_server(tmp_path_factory, "notebook")


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    env = {**os.environ, "HOME": str(tmp_path_factory.mktemp("chromium-home"))}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                              env=env)
        yield b
        b.close()


@pytest.fixture
def page(chromium):
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.console_errors = []
    pg.external_requests = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))

    def _route(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            pg.external_requests.append(url)
            route.abort()

    ctx.route("**/*", _route)
    yield pg
    ctx.close()


@pytest.fixture
def open_notebook(lab_server, page, request):
    """``open_notebook("autograd_demo")`` opens a fresh copy in its own workspace and waits
    for a connected, idle kernel; returns the page."""
    from playwright.sync_api import expect

    base, token, root = lab_server

    def _open(name: str):
        copy = re.sub(r"\W+", "_", request.node.name)
        shutil.copy(root / f"{name}.ipynb", root / f"{copy}.ipynb")
        page.goto(f"{base}/lab/workspaces/{copy}/tree/{copy}.ipynb?token={token}")
        expect(page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")).to_have_text(
            re.compile(r"^Python 3 \(ipykernel\) \| Idle$"))
        return page

    return _open


def _kernel_ready(base: str, token: str, path: str) -> bool:
    """True when the server's session for ``path`` has an idle kernel with a connected
    client (the page's websocket): Notebook 7 has no status-bar text to wait on."""
    req = urllib.request.Request(f"{base}/api/sessions",
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        sessions = json.load(r)
    for s in sessions:
        k = s.get("kernel") or {}
        if s.get("path") == path and k.get("execution_state") == "idle" \
                and int(k.get("connections") or 0) > 0:
            return True
    return False


@pytest.fixture
def open_notebook7(notebook_server, page, request):
    """``open_notebook7("autograd_demo")`` opens a fresh copy in Notebook 7 and waits until
    its kernel is started, connected to the page and idle; returns the page."""
    from playwright.sync_api import expect

    base, token, root = notebook_server

    def _open(name: str):
        copy = re.sub(r"\W+", "_", request.node.name)
        shutil.copy(root / f"{name}.ipynb", root / f"{copy}.ipynb")
        page.goto(f"{base}/notebooks/{copy}.ipynb?token={token}")
        expect(page.locator(".jp-KernelName")).to_contain_text("Python 3 (ipykernel)")
        expect(page.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
            "data-status", "idle")
        t0 = time.monotonic()
        while not _kernel_ready(base, token, f"{copy}.ipynb"):
            if time.monotonic() - t0 > TIMEOUT_MS / 1000:
                raise TimeoutError(f"the kernel of {copy}.ipynb never became idle")
            time.sleep(0.25)
        return page

    return _open


def shot(page, name: str, **kwargs) -> Path:
    """Save a screenshot under tests/artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves ``tests/artifacts/name.png``."""
    return shot


_RUN_DEMO = """
import json, sys
import nbclient, nbformat
from nbclient.exceptions import CellExecutionError
src, out, work = sys.argv[1:]
nb = nbformat.read(src, as_version=4)
client = nbclient.NotebookClient(
    nb, kernel_name="python3", timeout=180, startup_timeout=120, allow_errors=False,
    store_widget_state=False, record_timing=False, resources={"metadata": {"path": work}})
error = None
try:
    client.execute()
except CellExecutionError as exc:
    error = {"ename": exc.ename, "evalue": exc.evalue, "traceback": str(exc)}
nbformat.write(nb, out)
json.dump(error, open(out + ".error.json", "w"))
"""


@pytest.fixture(scope="session")
def executed_demo(tmp_path_factory):
    """``(notebook, error)``: ``autograd_demo.ipynb`` run top to bottom by nbclient in a real
    kernel, as "Run All" does (no widget state saved, as JupyterLab saves by default).
    ``error`` is the CellExecutionError nbclient raised at the failing last cell (it stops
    there, exactly like Run All): proof that a failing ``%%autograd`` cell fails.

    nbclient runs in a child process: its kernel client's ZeroMQ sockets and event-loop
    thread stay out of the test process (garbage-collected there later, from the main
    thread, they could crash it while its loop thread polls them)."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    from types import SimpleNamespace

    work = tmp_path_factory.mktemp("nbclient")
    out = work / "executed.ipynb"
    proc = subprocess.run([sys.executable, "-c", _RUN_DEMO, str(HERE / "autograd_demo.ipynb"),
                           str(out), str(work)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    nb = nbformat.read(out, as_version=4)
    error = json.loads((work / "executed.ipynb.error.json").read_text())
    return nb, error and SimpleNamespace(**error)
