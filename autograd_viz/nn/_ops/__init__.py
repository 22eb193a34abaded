"""Array-level ops that ``nn.functional`` needs and the core does not have: each an ``Op``
with PyTorch's node name, forward on NumPy/CuPy arrays, backward in Tensor ops."""
