"""Print tensors exactly as PyTorch does (precision 4, threshold 1000, edgeitems 3,
linewidth 80, integer/fixed/scientific mode chosen from the values)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backend as B


@dataclass
class PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = PrintOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Change how tensors print (PyTorch's ``set_printoptions``)."""
    if profile == "default":
        PRINT_OPTS.__init__()
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems = 2, 1000, 2
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems = 4, math.inf, 3
    for k, v in (("precision", precision), ("threshold", threshold),
                 ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if v is not None:
            setattr(PRINT_OPTS, k, v)
    PRINT_OPTS.sci_mode = sci_mode


def sci_needed(mn: float, mx: float, int_mode: bool) -> bool:
    """PyTorch's rule for scientific notation, from the smallest and largest absolute finite
    non-zero values and whether all of them are integers."""
    return mx / mn > 1000.0 or mx > 1.0e8 or (not int_mode and mn < 1.0e-4)


class _Formatter:
    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = PRINT_OPTS.precision
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        vals = flat.astype(np.float64)
        nz = vals[np.isfinite(vals) & (vals != 0)]
        if nz.size == 0:
            return
        nz_abs = np.abs(nz)
        mn, mx = float(nz_abs.min()), float(nz_abs.max())
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        vlist = nz.tolist()
        if sci_needed(mn, mx, self.int_mode):
            self.sci_mode = True
            self.max_width = max(len(f"{v:.{p}e}") for v in vlist)
        elif self.int_mode:
            self.max_width = max(self.max_width, max(len(f"{v:.0f}") + 1 for v in vlist))
        else:
            self.max_width = max(len(f"{v:.{p}f}") for v in vlist)
        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def format(self, value: Any) -> str:
        p = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _vector_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    element_length = fmt.max_width + 2
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        data = ([fmt.format(v) for v in a[:e].tolist()] + [" ..."]
                + [fmt.format(v) for v in a[-e:].tolist()])
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _str_fmt(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        slices = ([_str_fmt(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                  + [_str_fmt(a[i], indent + 1, summarize, fmt)
                     for i in range(a.shape[0] - e, a.shape[0])])
    else:
        slices = [_str_fmt(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized(a: np.ndarray) -> np.ndarray:
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * e:
        return np.stack([_summarized(x) for x in list(a[:e]) + list(a[-e:])]) if a.ndim > 1 \
            else np.concatenate([a[:e], a[-e:]])
    return np.stack([_summarized(x) for x in a]) if a.ndim > 1 else a


def array_str(a: np.ndarray, indent: int, floating: bool) -> str:
    """The bracketed body of a tensor's repr."""
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    fmt = _Formatter(_summarized(a) if summarize else a, floating)
    return _str_fmt(a, indent, summarize, fmt)


def _add_suffixes(s: str, suffixes: list[str], indent: int) -> str:
    parts = [s]
    last_line_len = len(s) - s.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    """``tensor([1., 2.], requires_grad=True)`` and friends, as PyTorch prints them."""
    indent = len(prefix)
    a = B.to_numpy(t._data)
    dt = t.dtype
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    default = dt in (B.default_float(), B.int64, B.bool_)
    if a.size == 0:
        if a.shape != (0,):
            suffixes.append(f"size={tuple(a.shape)}")
        if not default:
            suffixes.append(f"dtype={dt!r}")
        body = "[]"
    else:
        if not default:
            suffixes.append(f"dtype={dt!r}")
        body = array_str(a, indent, dt.is_floating_point)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
