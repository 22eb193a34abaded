"""Long-lived ``dot -Tsvg`` processes fed through pipes.

Graphviz's ``dot`` reads graph after graph from its standard input and writes each SVG as
soon as that graph is laid out. A ``dot`` process spends ~15 ms starting (loading its
plugins and fonts) before it lays anything out, so :func:`render_svg` keeps up to
:data:`MAX_PROCESSES` of them and hands each drawing to an idle one, followed by an empty
marker graph whose SVG tells where the drawing's output ends.

The output of a graph that is not a process's first differs from a one-shot run in two
places: an anonymous graph's generated title (so only named graphs are sent) and the outer
group, ``id="page0,1_graph0"`` instead of ``id="graph0"`` (Graphviz carries its page count
over). :func:`render_svg` undoes the latter, and every new process first lays out a probe
graph twice and checks that its second render, so undone, is its first byte for byte; where
it is not (another Graphviz), or anything goes wrong (an ``Error:`` on stderr, the process
exiting, a program that is not Graphviz), the caller gets None and runs ``dot`` once per
drawing as before, which also gives Graphviz's own error message.
"""
from __future__ import annotations

import atexit
import math
import os
import re
import selectors
import subprocess
import threading
import time

#: How many long-lived ``dot`` processes are kept at most (drawings rendered side by side
#: each take one).
MAX_PROCESSES = 2
#: A process is replaced after this many drawings: Graphviz 2.43 keeps ~16 KB per graph
#: laid out (measured on a 370-node drawing), so this bounds a process's growth to a few MB.
RENDERS_PER_PROCESS = 200
#: Seconds a new process may take for its probe graphs (~40 ms here, start-up included)
#: before pipes are given up for its program (drawings then run ``dot`` once each, as before).
PROBE_TIMEOUT_S = 3.0
#: Seconds before pipes are tried again for a program whose probe failed or took too long.
RETRY_AFTER_S = 60.0

# an empty graph sent after each drawing: its SVG, whose title is this name, marks the end
# of the drawing's output (a source holding two graphs cannot shift one drawing's SVG onto
# the next request)
_MARK = b"digraph __autograd_viz_end__ {}\n"
_MARK_TITLE = b"<title>__autograd_viz_end__</title>"
_PAGE_ID = re.compile(rb'<g id="page\d+,\d+_graph0" class="graph"')
_PROBE = (
    b'digraph probe { graph [rankdir=TB, fontname="Helvetica"]; node [shape=box, style="rounded,'
    b'filled", fillcolor="#eef"]; subgraph cluster_a { label="c"; a [id="a", tooltip="t", '
    b'label=<<b>a</b><br/>1.0>]; b [shape=ellipse, label="b\\n2"]; } a -> b [label="x", '
    b'id="e"]; b -> c [style=dashed]; { rank=same; c; d } }\n'
)
# an anonymous graph is titled by a counter that runs on from graph to graph (``%3``, then
# ``%3773``): only named graphs go through the pipes
_NAMED = re.compile(r"\s*(?:strict\s+)?(?:di)?graph\s+[A-Za-z_][A-Za-z_0-9]*\s*\{")

_lock = threading.Lock()
_idle: dict[str, list[_Process]] = {}  # program path -> idle processes
_live: dict[str, int] = {}  # program path -> processes started and not yet closed
# program path -> when to try pipes again (inf: its piped output differs from a one-shot run)
_unusable: dict[str, float] = {}
_owner = os.getpid()
enabled = os.name == "posix"  # (select() on pipes)


class _Process:
    """One ``dot -Tsvg`` process; used by one thread at a time."""

    def __init__(self, exe: str) -> None:
        self.exe = exe
        self.renders = 0
        # (a session of its own: interrupting the kernel signals its process group, which
        # would end these helpers too; they end when their input closes, with the kernel)
        self.proc = subprocess.Popen(
            [exe, "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, bufsize=0, start_new_session=True)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            os.set_blocking(f.fileno(), False)

    def render(self, source: bytes, timeout: float) -> bytes | None:
        """The SVG of ``source`` (ending in a newline), or None when the process failed or the
        output was not one SVG (the process is then closed); raises
        ``subprocess.TimeoutExpired`` (process killed) after ``timeout`` seconds."""
        return self.finish(self.send(source), timeout)

    def send(self, source: bytes) -> memoryview | None:
        """Write what the pipe takes now of ``source`` and the end marker, without waiting
        (``dot`` lays the graph out meanwhile); returns the rest, for :meth:`finish`, or
        None when the process is gone (it is then closed)."""
        pending = memoryview(source + _MARK)
        fd = self.proc.stdin.fileno()
        while pending:
            try:
                n = os.write(fd, pending[:65536])
            except BlockingIOError:
                break
            except OSError:  # exited
                self.close()
                return None
            pending = pending[n:]
        return pending

    def finish(self, pending: memoryview | None, timeout: float) -> bytes | None:
        """Write the rest of a :meth:`send` and read the drawing's SVG (see :meth:`render`)."""
        if pending is None:
            return None
        p = self.proc
        data = bytearray()
        scan = 0  # where to look for the marker's title next
        err = b""
        sel = selectors.DefaultSelector()
        try:
            sel.register(p.stdout, selectors.EVENT_READ)
            sel.register(p.stderr, selectors.EVENT_READ)
            if pending:
                sel.register(p.stdin, selectors.EVENT_WRITE)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close(kill=True)
                    raise subprocess.TimeoutExpired([self.exe, "-Tsvg"], timeout)
                for key, _ in sel.select(left):
                    f = key.fileobj
                    if f is p.stdin:
                        try:
                            n = os.write(p.stdin.fileno(), pending[:65536])
                        except BlockingIOError:
                            continue
                        except OSError:  # exited (a syntax error ends dot)
                            self.close()
                            return None
                        pending = pending[n:]
                        if not pending:
                            sel.unregister(p.stdin)
                        continue
                    try:
                        chunk = os.read(f.fileno(), 1 << 16)
                    except BlockingIOError:
                        continue
                    if not chunk:  # end of file: the process is gone
                        self.close()
                        return None
                    if f is p.stderr:
                        err += chunk
                        if b"Error" in err:  # let a one-shot run report it
                            self.close()
                            return None
                        continue
                    data += chunk
                    t = data.find(_MARK_TITLE, scan)
                    if t < 0:
                        scan = max(0, len(data) - len(_MARK_TITLE))
                        continue
                    scan = t
                    if pending or data.find(b"</svg>", t) < 0:
                        continue  # the marker's SVG is not complete yet
                    self.renders += 1
                    # the drawing's SVG is all before the marker's (less the whitespace that
                    # may follow the previous marker's): exactly one document, else None
                    start = data.rfind(b"<?xml", 0, t)
                    svg = bytes(data[:start]).lstrip() if start > 0 else b""
                    if not svg.startswith(b"<?xml") or svg.find(b"<?xml", 1) >= 0:
                        self.close()  # not one SVG (a source holding several graphs)
                        return None
                    return _PAGE_ID.sub(b'<g id="graph0" class="graph"', svg, count=1)
        finally:
            sel.close()

    def close(self, kill: bool = False) -> None:
        """Let the process go (end of input; killed if it does not exit at once, or at once
        with ``kill``)."""
        p = self.proc
        if p.poll() is None and not kill:
            try:
                p.stdin.close()
                p.wait(0.5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if p.poll() is None:
            p.kill()
            p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            try:
                f.close()
            except OSError:
                pass


def _start(exe: str) -> _Process | None:
    """A new process that passed the probe, or None (and pipes off for the program: for
    good where its output differs, for :data:`RETRY_AFTER_S` where it did not answer in
    time, as a first run may spend many seconds building the font cache)."""
    w = None
    try:
        w = _Process(exe)
        first = w.render(_PROBE, PROBE_TIMEOUT_S)
        second = w.render(_PROBE, PROBE_TIMEOUT_S) if first is not None else None
    except (OSError, subprocess.TimeoutExpired):
        first = second = None
    if first is None or second != first:
        if w is not None:
            w.close()
        with _lock:
            _unusable[exe] = (math.inf if first is not None and second is not None
                              else time.monotonic() + RETRY_AFTER_S)
        return None
    return w


def _acquire(exe: str) -> _Process | None:
    global _owner
    with _lock:
        if os.getpid() != _owner:  # a forked child: the parent's processes are not ours
            _idle.clear()
            _live.clear()
            _owner = os.getpid()
        if _unusable and time.monotonic() < _unusable.get(exe, 0.0):
            return None
        idle = _idle.get(exe)
        if idle:
            return idle.pop()
        if _live.get(exe, 0) >= MAX_PROCESSES:
            return None
        _live[exe] = _live.get(exe, 0) + 1
    w = _start(exe)
    if w is None:
        _forget(exe)
    return w


def _forget(exe: str) -> None:
    with _lock:
        _live[exe] = max(0, _live.get(exe, 0) - 1)


def _release(w: _Process) -> None:
    if w.renders >= RENDERS_PER_PROCESS:
        w.close()
        _forget(w.exe)
        return
    with _lock:
        if os.getpid() == _owner:
            _idle.setdefault(w.exe, []).append(w)
            return
    w.close()


def render_svg(exe: str, source: str, timeout: float) -> bytes | None:
    """The SVG of ``source`` from a long-lived ``exe -Tsvg`` process, or None where none can
    be used (all busy, pipes unusable for this program, or the process failed on this
    source): the caller then runs ``dot`` once. Raises ``subprocess.TimeoutExpired``."""
    job = start(exe, source)
    return None if job is None else job.result(timeout)


def start(exe: str, source: str) -> Job | None:
    """Send ``source`` to a long-lived process now and return at once: ``dot`` lays it out
    while the caller goes on, and :meth:`Job.result` reads the SVG. None where no process
    can be used (the caller then runs ``dot`` once)."""
    if not enabled or not _NAMED.match(source):
        return None
    w = _acquire(exe)
    if w is None:
        return None
    data = source.encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    return Job(w, w.send(data))


class Job:
    """A drawing sent to a long-lived ``dot`` process whose SVG is not read yet. Its
    :meth:`result` gives the SVG once (None after that); a job dropped unread closes its
    process."""

    __slots__ = ("_w", "_rest")

    def __init__(self, w: _Process, rest: memoryview | None) -> None:
        self._w: _Process | None = w
        self._rest = rest

    def result(self, timeout: float) -> bytes | None:
        """The SVG, or None when the process failed on this source (the caller then runs
        ``dot`` once); raises ``subprocess.TimeoutExpired`` (process killed)."""
        w, self._w = self._w, None
        if w is None:  # read already (by another thread): the caller runs dot once
            return None
        try:
            svg = w.finish(self._rest, timeout)
        except BaseException:  # (a timeout, or an interrupt mid-drawing)
            w.close(kill=True)
            _forget(w.exe)
            raise
        if svg is None:
            _forget(w.exe)
            return None
        _release(w)
        return svg

    def __del__(self) -> None:
        w = self._w
        if w is not None:  # never read: its output would be the next drawing's
            self._w = None
            try:
                w.close(kill=True)
                _forget(w.exe)
            except Exception:  # noqa: BLE001 - (at interpreter exit, modules half gone)
                pass


def warm_up(exe: str, n: int = MAX_PROCESSES) -> threading.Thread | None:
    """Start ``n`` processes in a background thread (so that the first drawing does not wait
    for one); returns the thread, or None when pipes are off or unusable for ``exe``."""
    if not enabled or time.monotonic() < _unusable.get(exe, 0.0):
        return None

    def start() -> None:
        got = [w for w in (_acquire(exe) for _ in range(n)) if w is not None]
        for w in got:
            _release(w)

    t = threading.Thread(target=start, name="autograd_viz-dot-warm-up", daemon=True)
    t.start()
    return t


def shutdown() -> None:
    """Close every idle process (a busy one is kept when its drawing is done)."""
    with _lock:
        mine = os.getpid() == _owner
        todo = [w for ws in _idle.values() for w in ws] if mine else []
        _idle.clear()
        for w in todo:
            _live[w.exe] = max(0, _live.get(w.exe, 0) - 1)
    for w in todo:
        w.close()


atexit.register(shutdown)
