"""The optional C helper of the recorder's summaries (``autograd_viz/viz/_summary.c``).

Everything else is in ``pyproject.toml``. The extension is optional: where no C compiler is
at hand the install goes on without it and ``autograd_viz.viz.preview`` summarises with
NumPy alone (the same histogram counts, slower).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "autograd_viz.viz._summary", ["autograd_viz/viz/_summary.c"], optional=True,
    # (no fused multiply-add: each element's bin is computed as NumPy computes it)
    extra_compile_args=["-O3", "-ffp-contract=off"],
)])
