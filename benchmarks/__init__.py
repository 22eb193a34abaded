"""Benchmarks of autograd_viz against PyTorch (CPU), MyGrad, HIPS autograd and plain NumPy.

``python -m benchmarks`` (or ``make bench``) runs every workload of issue 7 in one process,
with interleaved repeats and medians, prints a table of ratios to torch and writes
``benchmarks/RESULTS.md``. ``python -m benchmarks --quick`` is a fast smoke run that writes
nothing unless ``--out`` is given.
"""
