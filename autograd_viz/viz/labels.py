"""Escaped Graphviz HTML-like labels for tensors, ops, summaries and the legend.

Every piece of user text (names, previews, printed output, error messages) goes through
:func:`esc`, so ``<img src=x onerror=alert(1)>`` is drawn as text, never as markup.
"""
from __future__ import annotations

from collections.abc import Iterable

from .model import OpNode, Preview, TensorNode

MAX_NAME = 48
MAX_LINE = 60
MAX_LINES = 6

GRAY = "#666666"
GRAD = "#a61b1b"
HOOK = "#b35900"
RETAIN = "#0b63a6"

_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'


def esc(text: object) -> str:
    """Escape text for an HTML-like label (and drop control characters)."""
    s = str(text)
    if not s.isprintable():
        s = "".join(c if c.isprintable() else ("\n" if c == "\n" else "?") for c in s)
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def clip(text: str, limit: int = MAX_NAME) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lines(text: str, max_lines: int = MAX_LINES, width: int = MAX_LINE) -> list[str]:
    """``text`` as at most ``max_lines`` lines of at most ``width`` characters."""
    rows = text.split("\n")
    out = [clip(r, width) for r in rows[:max_lines]]
    if len(rows) > max_lines:
        out.append(f"… ({len(rows) - max_lines} more lines)")
    return out


def _row(inner: str) -> str:
    return f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{inner}</TD></TR>'


def _mono(text_lines: Iterable[str], color: str | None = None) -> str:
    body = '<BR ALIGN="LEFT"/>'.join(esc(x) for x in text_lines)
    col = f' COLOR="{color}"' if color else ""
    return f'<FONT FACE="Courier" POINT-SIZE="9"{col}>{body}</FONT>'


def _small(text: str, color: str = GRAY) -> str:
    return f'<FONT POINT-SIZE="8" COLOR="{color}">{esc(text)}</FONT>'


def shape_text(shape: list[int]) -> str:
    """``(2, 3)``, ``(3,)`` or ``()``."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


def stats_text(p: Preview) -> str:
    """One line of summary statistics (empty when there are none)."""
    s = p.stats
    if s is None:
        return ""
    return f"min {s.min:.4g}  max {s.max:.4g}  mean {s.mean:.4g}  std {s.std:.4g}"


def value_lines(p: Preview, max_lines: int = MAX_LINES) -> list[str]:
    """Lines showing a preview: the printed tensor, plus statistics when summarised."""
    if p.values is None and p.stats is not None:
        return lines(p.text, 3) + [stats_text(p)]
    return lines(p.text, max_lines)


def role_word(t: TensorNode) -> str:
    """A short word for a tensor's role, as the legend names it."""
    if t.saved_only:
        return "saved"
    if t.is_output:
        return "output"
    return {"leaf": "leaf", "constant": "constant"}.get(t.role, "")


def tensor_label(
    t: TensorNode,
    *,
    show_data: bool = True,
    show_grad: bool = True,
    show_shape: bool = True,
    show_hooks: bool = True,
) -> str:
    """The HTML-like label of a tensor node."""
    rows = []
    title = []
    if t.name:
        name = t.name if not t.version else f"{t.name} (v{t.version})"
        title.append(f"<B>{esc(clip(name))}</B>")
    word = role_word(t)
    if word:
        title.append(_small(word))
    if t.created_in:
        title.append(_small(f"create_graph {t.created_in}", GRAD))
    if title:
        rows.append(_row(" ".join(title)))
    badges = []
    if show_hooks and t.hooks:
        badges.append(f'<FONT POINT-SIZE="8" COLOR="{HOOK}"><B>[hook ×{t.hooks}]</B></FONT>')
    if show_hooks and t.retains_grad:
        badges.append(f'<FONT POINT-SIZE="8" COLOR="{RETAIN}"><B>[retain_grad]</B></FONT>')
    if badges:
        rows.append(_row(" ".join(badges)))
    if show_shape:
        dev = "" if t.device == "cpu" else f" {t.device}"
        meta = esc(f"{shape_text(t.shape)} {t.dtype}{dev}")
        rows.append(_row(f'<FONT POINT-SIZE="9">{meta}</FONT>'))
    if show_data and t.value is not None:
        rows.append(_row(_mono(value_lines(t.value))))
    if show_grad:
        if t.grad is not None:
            g = value_lines(t.grad, 3)
            g[0] = "grad: " + g[0]
            rows.append(_row(_mono(g, GRAD)))
        else:
            note = f" ({t.grad_note})" if t.grad_note else ""
            rows.append(_row(_mono([f"grad: None{note}"], GRAY)))
    if not rows:
        rows.append(_row(esc(t.id)))
    return "<" + _TABLE + "".join(rows) + "</TABLE>>"


def op_label(
    o: OpNode,
    *,
    steps: list[str] | None = None,
    hook_calls: int = 0,
    show_saved: bool = False,
    before_recording: bool = False,
) -> str:
    """The HTML-like label of an op node."""
    title = [f"<B>{esc(clip(o.name))}</B>"]
    if o.kind == "untracked":
        title.append(_small("no grad"))
    if o.created_in:
        title.append(_small(f"create_graph {o.created_in}", GRAD))
    rows = [_row(" ".join(title))]
    if before_recording:
        rows.append(_row(_small("made before recording")))
    if hook_calls:
        rows.append(_row(f'<FONT POINT-SIZE="8" COLOR="{HOOK}"><B>[hook ×{hook_calls}]</B></FONT>'))
    if steps:
        shown = steps[:3] + (["…"] if len(steps) > 3 else [])
        rows.append(_row(_small("backward " + ", ".join(shown))))
    if show_saved and o.saved:
        names = ", ".join(s.name for s in o.saved)
        rows.append(_row(_small(f"saved: {names}" + (" (freed)" if o.saved_freed else ""), HOOK)))
    return "<" + _TABLE + "".join(rows) + "</TABLE>>"


def summary_label(size: int, counts: list[tuple[str, int]], title: str | None = None) -> str:
    """The label of a summary node: how many nodes it hides (or ``title``: what they are),
    and of which kinds."""
    rows = [_row(f"<B>{esc(title)}</B>" if title else f"<B>… {size:,} nodes collapsed</B>")]
    if title:
        rows.append(_row(f'<FONT POINT-SIZE="9">{size:,} nodes</FONT>'))
    for name, n in counts[:5]:
        rows.append(_row(f'<FONT POINT-SIZE="9">{esc(clip(name, 32))} ×{n:,}</FONT>'))
    if len(counts) > 5:
        rest = sum(n for _, n in counts[5:])
        rows.append(_row(f'<FONT POINT-SIZE="9">other ×{rest:,}</FONT>'))
    return "<" + _TABLE + "".join(rows) + "</TABLE>>"


def legend_label(entries: list[tuple[str, str, str]]) -> str:
    """A small legend: (fill colour, border style, text) per row."""
    rows = []
    for fill, style, text in entries:
        border = f' STYLE="{style}"' if style else ""
        rows.append(
            f'<TR><TD BGCOLOR="{fill}" BORDER="1" WIDTH="14" HEIGHT="10"{border}></TD>'
            f'<TD ALIGN="LEFT"><FONT POINT-SIZE="8">{esc(text)}</FONT></TD></TR>'
        )
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">'
    return "<" + table + "".join(rows) + "</TABLE>>"


def note_label(notes: list[str]) -> str:
    """The graph's title: remarks such as "collapsed ..." or "incomplete ..."."""
    body = '<BR ALIGN="LEFT"/>'.join(esc(clip(n, 160)) for n in notes)
    return f'<<FONT POINT-SIZE="10" COLOR="#a61b1b">{body}<BR ALIGN="LEFT"/></FONT>>'
