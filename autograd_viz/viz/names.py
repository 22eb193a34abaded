"""Find user names for tensors: explicit mappings and namespaces (a notebook's globals)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAX_ITEMS = 256


def is_tensor(obj: Any) -> bool:
    """True for autograd_viz tensors (and Parameters)."""
    try:
        from autograd_viz.tensor import Tensor
    except ImportError:  # the engine not importable: recognise tensors by their shape
        return hasattr(obj, "uid") and hasattr(obj, "_data") and hasattr(obj, "grad_fn")
    return isinstance(obj, Tensor)


def _is_module(obj: Any) -> bool:
    return not isinstance(obj, type) and callable(getattr(obj, "named_parameters", None))


def names_from_mapping(mapping: Mapping[Any, Any]) -> dict[int, str]:
    """``{name: tensor_or_module}`` (or ``{tensor_uid: name}``) → ``{uid: name}``.

    A module-like object (anything with ``named_parameters()``) names its parameters
    ``name.param``, e.g. ``model.fc1.weight``.
    """
    out: dict[int, str] = {}
    for key, val in mapping.items():
        if isinstance(key, int) and isinstance(val, str):
            out[key] = val
        elif is_tensor(val):
            out[int(val.uid)] = str(key)
        elif _is_module(val):
            for pname, p in _params(val):
                out.setdefault(int(p.uid), f"{key}.{pname}")
    return out


def names_from_namespace(ns: Mapping[str, Any]) -> dict[int, str]:
    """Names for the tensors in a namespace such as a notebook's ``globals()``.

    Plain variables win over container items (``params[0]``, ``d['w']``), which win over
    module parameters (``model.fc1.weight``); within each kind the first name in the
    namespace's order wins. Names starting with ``_`` are skipped (IPython's ``_``, ``_1``).
    """
    out: dict[int, str] = {}
    containers: list[tuple[str, Any]] = []
    modules: list[tuple[str, Any]] = []
    for key, val in list(ns.items()):
        if not isinstance(key, str) or key.startswith("_"):
            continue
        if is_tensor(val):
            out.setdefault(int(val.uid), key)
        elif isinstance(val, (list, tuple, dict)):
            containers.append((key, val))
        elif _is_module(val):
            modules.append((key, val))
    for key, val in containers:
        if len(val) > _MAX_ITEMS:
            continue
        items = val.items() if isinstance(val, dict) else enumerate(val)
        for k, item in items:
            if is_tensor(item) and isinstance(k, (int, str)):
                out.setdefault(int(item.uid), f"{key}[{k!r}]")
    for key, mod in modules:
        for pname, p in _params(mod):
            out.setdefault(int(p.uid), f"{key}.{pname}")
    return out


def _params(mod: Any) -> list[tuple[str, Any]]:
    try:
        return [(str(n), p) for n, p in mod.named_parameters() if is_tensor(p)]
    except Exception:  # noqa: BLE001 - a broken user object just contributes no names
        return []
