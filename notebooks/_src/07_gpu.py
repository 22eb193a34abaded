# Source of notebooks/07_gpu.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 07

# %% [markdown]
# # 07 · On the GPU, with CuPy
#
# A GPU runs thousands of arithmetic operations at once, which is what large tensor programs
# need. PyTorch moves a tensor there with `.to("cuda")`; autograd_viz does the same, using
# [CuPy](https://cupy.dev) (NumPy's API on NVIDIA GPUs) for the arrays. Autograd does not care
# where the numbers live: the graph, `backward()` and `.grad` work exactly as before, and the
# gradients land on the same device as their tensors.
#
# To use a GPU, install the package with the CuPy extra that matches your CUDA version:
#
# ```bash
# pip install -e '.[cuda12]'    # or '.[cuda13]'
# ```
#
# **No GPU here?** Then this notebook says so and runs every cell on the CPU instead, so you can
# still read it top to bottom. (The outputs saved in this file come from a machine without a
# GPU; a few cells' outputs differ on a GPU -- they say `device='cuda:0'` -- and are marked so
# that the tests do not compare them.)

# %%
import autograd_viz as av

gen = av.manual_seed(0)

# %%
# %load_ext autograd_viz

# %% [markdown]
# ## Is there a GPU?
#
# `av.cuda.is_available()` is `True` when CuPy is installed and sees an NVIDIA GPU. The usual
# idiom picks the device once and passes it around, so the same code runs on either:

# %% tags=["nbval-ignore-output"]
if av.cuda.is_available():
    device = av.device("cuda")
    print(f"CUDA is available: {av.cuda.device_count()} GPU(s); using {device}.")
else:
    device = av.device("cpu")
    print("No CUDA GPU (or no CuPy) here, so this notebook runs on the CPU instead.\n"
          "On a machine with a GPU and `pip install -e '.[cuda12]'` the same cells run there.")

# %% [markdown]
# ## Moving tensors: the tutorial's example
#
# `av.ones_like(x, device=device)` creates a tensor directly on the device; `x.to(device)` (or
# `x.to("cuda")`) copies one there. Both operands of `x + y` must be on the same device: the
# GPU cannot read CPU memory in the middle of an operation, so mixing devices is an error
# rather than a hidden, slow copy. The tutorial guards the whole block with `if
# av.cuda.is_available():`; we run it on whatever `device` is.

# %% tags=["nbval-ignore-output"]
x = av.ones(5)
y = av.ones_like(x, device=device)   # created directly on the device
x = x.to(device)                     # or x.to("cuda"): copied to the device
z = x + y
print(z)                             # on a GPU: tensor([2., 2., 2., 2., 2.], device='cuda:0')

# %% [markdown]
# `.to` also converts the dtype on the way. Moving back to the CPU as `float64` prints the same
# on every machine:

# %%
print(z.to("cpu", av.double))        # tensor([2., 2., 2., 2., 2.], dtype=...float64)
print(z.device.type == device.type, z.is_cuda == (device.type == "cuda"))

# %% [markdown]
# ## Autograd on the device
#
# The first example of notebook 02, on `device`. The graph is the same; the gradient is
# computed where the data is, and `x.grad` lives on the same device as `x`.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = av.tensor([2.0], requires_grad=True, device=device)
y = (x + 2) ** 2 + 3
y.backward()

# %%
print(x.grad.device == x.device)
print(x.grad.cpu())                  # tensor([8.]) on every device

# %% [markdown]
# ## Getting numbers back: `.cpu()`, `.item()`, `.numpy()`
#
# NumPy arrays live in CPU memory, so `.numpy()` works only on CPU tensors; call `.cpu()`
# first (a copy from the GPU). `.item()` returns a Python number from anywhere. Every such
# copy makes the CPU wait for the GPU to finish, so inside a training loop do it rarely
# (e.g. the loss once per epoch, not once per batch).

# %%
print(x.grad.cpu().numpy(), x.grad.item())
if device.type == "cuda":
    try:
        x.grad.numpy()
    except TypeError as err:
        print("numpy() on a GPU tensor:", type(err).__name__)
else:
    print("numpy() on a GPU tensor: TypeError")  # what a GPU run prints here

# %% [markdown]
# ## Models on the device
#
# `model.to(device)` moves every parameter (and buffer) of a module; the data goes with
# `.to(device)` as well. After that, the training step of notebook 06 runs unchanged.
# Random numbers are drawn on the CPU and moved, so that this notebook computes the same
# values on every machine (CuPy's random generator is a different one).

# %%
import autograd_viz.nn as nn

gen = av.manual_seed(0)
model = nn.Linear(3, 1).to(device)
inputs = av.randn(8, 3).to(device)
targets = (inputs.sum(dim=1, keepdim=True) * 2).to(device)   # a target the model can fit
optimizer = av.optim.SGD(model.parameters(), lr=0.1)

for step in range(500):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    optimizer.step()

print("parameters on", {p.device.type for p in model.parameters()} == {device.type})
print("weight ≈", [round(v, 1) for v in model.weight.detach().cpu().flatten().tolist()],
      "| loss < 1e-3:", loss.item() < 1e-3)

# %% [markdown]
# The model found the weights `2, 2, 2` of `targets = 2·Σ inputs` (and a bias near 0), on
# whichever device it ran. That is all there is to it: pick the device once, create or move
# tensors and models there, and bring results back with `.cpu()` or `.item()`.
