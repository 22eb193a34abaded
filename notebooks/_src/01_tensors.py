# Source of notebooks/01_tensors.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 01

# %% [markdown]
# # 01 · Tensors: creating, reshaping, sharing memory
#
# `autograd_viz` is a small PyTorch-style library written on top of NumPy. Everything you
# know from `torch` works under the same name after
#
# ```python
# import autograd_viz as av      # instead of: import torch
# ```
#
# Before we can watch gradients flow (notebook 02 onwards) we need the thing they flow
# through: the **tensor**. This notebook follows the tensor half of the PyTorch tutorials this
# project grew from, runs every example with `av` in place of `torch`, and explains what each
# printed number means and *why* it is what it is.
#
# | topic | what to remember |
# | --- | --- |
# | creation | `tensor` copies data and infers the dtype; `Tensor` is the float32 class |
# | shape ops | `view`, `permute`, `expand`, `unsqueeze` return **views**: same memory, new shape |
# | arithmetic | `x + y`, `av.add(x, y)`, `av.add(x, y, out=z)`, `y.add_(x)` (a trailing `_` means *in place*) |
# | NumPy | `.numpy()` and `av.from_numpy` **share** memory; `.clone()` makes a private copy |

# %%
import numpy as np

import autograd_viz as av

gen = av.manual_seed(0)  # every random number in this notebook is reproducible

# %% [markdown]
# ## Creating tensors
#
# A tensor is a multi-dimensional array plus the bookkeeping autograd needs (does it require
# a gradient? which operation produced it?). The usual constructors:
#
# * `av.tensor(data)` copies `data` (a list, tuple, NumPy array or scalar);
# * `av.empty`, `av.rand` give uninitialised / uniformly random tensors of a shape;
# * `av.zeros`, `av.ones`, `av.ones_like` fill with 0 or 1, optionally in another `dtype`;
# * `t.clone()` copies a tensor, `t.size()` (or `t.shape`) gives its shape.

# %%
t = av.tensor([[5, 6], [7, 8]])       # from a nested list
t1 = av.empty(5, 3)                   # memory not initialised: never read it before writing
t2 = av.rand(5, 3)                    # uniform on [0, 1)
t3 = av.zeros(5, 3, dtype=av.float16) # all 0, in half precision
t4 = av.ones(5, 3)                    # all 1
t5 = av.ones_like(t3)                 # all 1, same shape *and dtype* as t3
print(t5.size())

# %% [markdown]
# PyTorch prints `torch.Size([5, 3])`; we print `autograd_viz.Size([5, 3])`. It is the same
# kind of object: a tuple subclass, so `t5.size()[0]` is `5` and `t5.size() == (5, 3)`.
#
# `ones_like` copies the *dtype* too, which is easy to forget:

# %%
print(t5.size() == (5, 3), t5.size()[0])
print(t3.dtype, t5.dtype, t4.dtype)
print(t.clone())

# %% [markdown]
# `t2` holds random numbers. They come from `av.manual_seed(0)` above, so they are the same on
# every run, but they are *not* the numbers `torch.rand` would give after `torch.manual_seed(0)`:
# the two libraries use different random generators. Every deterministic number in these
# tutorials matches PyTorch exactly; random draws only match in distribution.

# %%
print(t2)

# %% [markdown]
# ### `av.Tensor` (the class) versus `av.tensor` (the function)
#
# Both make tensors, and the difference bites people coming from old PyTorch code:
#
# * `av.Tensor(...)` is the tensor **class**, whose constructor always makes the default
#   floating type, `float32` (like `torch.FloatTensor`). Given integers it makes a shape!
# * `av.tensor(data)` is a **function** that infers the dtype from the data: Python ints give
#   `int64`, floats give `float32`.

# %%
print(av.Tensor([1, 2]))           # the class: always float32
print(av.Tensor(2, 3).shape)       # ints are read as a *shape* (values uninitialised)
print(av.tensor([1, 2]).dtype)     # the function: dtype inferred from the data
print(av.tensor([1.0, 2]).dtype)

# %% [markdown]
# Only floating-point (and complex) tensors can require gradients: a derivative is a limit of
# tiny changes, and an integer cannot change by a tiny amount. Asking for it raises the same
# error PyTorch raises:

# %% tags=["raises-exception"]
av.tensor([1, 2], requires_grad=True)

# %% [markdown]
# ## Indexing and reshaping
#
# Indexing works like NumPy. `view(-1, 2)` reshapes (the `-1` means "work this dimension out":
# 6 elements in rows of 2 gives 3 rows), like `numpy.reshape`.

# %%
t = av.tensor([[1, 2, 3], [4, 5, 6]])
print(t[0, :2])        # first row, first two elements
print(t.view(-1, 2))   # same 6 numbers, read as 3 rows of 2

# %% [markdown]
# `unsqueeze(dim)` inserts a dimension of length 1 (here the shape goes from `(2, 3)` to
# `(1, 2, 3)`); `squeeze()` removes all of them again.

# %%
t = av.unsqueeze(t, dim=0)
print(t)
print(t.shape, t.squeeze().shape)

# %% [markdown]
# `permute(2, 1, 0)` reorders the dimensions, like `numpy.transpose`: the new dimension 0 is
# the old dimension 2, and so on. The shape `(1, 2, 3)` becomes `(3, 2, 1)`, so element
# `[k, j, i]` of the result is element `[i, j, k]` of `t`.
#
# *Note:* the tutorial this example comes from printed `tensor([[1, 3, 5], [2, 4, 6]])` in a
# comment here. That is not what PyTorch prints: the real result is the three-dimensional
# tensor below, identical in PyTorch and autograd_viz.

# %%
print(t.permute(2, 1, 0))
print(t.permute(2, 1, 0).shape)

# %% [markdown]
# `expand` repeats a tensor along dimensions of length 1 **without copying**: the result is a
# view whose stride along the expanded dimension is 0, so both "copies" read the same memory.
# The new shape must agree with the old one wherever the old length is not 1.

# %%
e = t.expand(2, 2, 3)   # (1, 2, 3) -> (2, 2, 3)
print(e)
print("strides:", e.stride(), "-- 0 means: the same memory is read again")

# %% [markdown]
# ### More indexing, and a few element-wise operations
#
# Slicing with a range keeps the dimension, an integer index removes it; a list picks rows, a
# boolean mask picks elements. (The original tutorial used the uninitialised
# `t.Tensor(4, 5)`, whose printed numbers are whatever was in memory; we use `arange` so
# the output means something.)

# %%
a = av.arange(20.0).view(4, 5)
print(a[0:1, :2])      # shape (1, 2): the range 0:1 keeps the row dimension
print(a[0, :2])        # shape (2,):  the integer 0 removes it
print(a[[1, 2]])       # rows 1 and 2
print(a[a > 17])       # a boolean mask gives a 1-D tensor of the selected elements

# %% [markdown]
# Element-wise maths: `clamp` clips values into `[min, max]` (like `tf.clip_by_value`),
# `cos`, `%` and `**` act on every element. `cos` of an integer tensor returns floats.

# %%
a = av.arange(0, 6).view(2, 3)
print("a:", a)
print("a.clamp(min=2, max=4):", a.clamp(min=2, max=4))  # or av.clamp(a, min=2, max=4)
print("av.cos(a):", av.cos(a))
print("a % 3:", a % 3)     # same as av.fmod(a, 3) for non-negative numbers
print("a ** 2:", a ** 2)

# %% [markdown]
# ## Arithmetic: four ways to add
#
# The same sum, written four ways. They differ in **where the result goes**:
#
# 1. `x + y` and `av.add(x, y)` allocate a new tensor;
# 2. `av.add(x, y, out=z)` writes into an existing tensor `z` (here a float32 `empty`, so the
#    integer sum is stored as floats -- note the dots in the output);
# 3. `y.add_(x)` overwrites `y` itself. In PyTorch every method that ends in `_` works in place.

# %%
x = av.tensor([[1, 2, 3], [4, 5, 6]])
y = av.tensor([[7, 8, 9], [10, 11, 12]])
print(x + y)            # operator
print(av.add(x, y))     # function
z = av.empty(2, 3)
av.add(x, y, out=z)     # into an existing tensor
print(z)
y.add_(x)               # in place: y itself changes
print(y)

# %% [markdown]
# ## Views share memory
#
# `view` does not copy. The view and the original are two *windows* on one block of memory
# (PyTorch calls it the *storage*): they have different shapes but the same data pointer, so
# writing through one is visible through the other. This is why views are cheap, and why you
# must be careful with in-place changes.

# %%
a = av.arange(0, 6)
b = a.view(2, 3)
print("same memory:", a.data_ptr() == b.data_ptr())
a[1] = 10               # write through a ...
print(b)                # ... and b sees it
b[1, 2] = -1            # write through b ...
print(a)                # ... and a sees it

# %% [markdown]
# Slicing a view starts part-way into the same memory: `a[2:]` begins two elements (of 8 bytes,
# since `a` is `int64`) after `a`. Making a private copy takes an explicit `clone()`.

# %%
c = a[2:]
print("offset in elements:", c.storage_offset(), "| in bytes:", c.data_ptr() - a.data_ptr())
d = a.clone()
d[0] = 100
print(a[0].item(), d[0].item())  # the clone changed, a did not

# %% [markdown]
# ## NumPy interoperation shares memory too
#
# `t.numpy()` returns a NumPy array that **shares** the tensor's memory (no copy is made, which
# is what makes it free). If you want an independent array, `clone()` first. In the other
# direction `av.from_numpy(n)` wraps a NumPy array, again without copying.

# %%
t = av.ones(5)
print(t)
n1 = t.numpy()          # shares memory with t
n2 = t.clone().numpy()  # a copy
t.add_(1)               # change t in place ...
print(n1)               # ... n1 follows: [2. 2. 2. 2. 2.]
print(n2)               # ... the clone does not: [1. 1. 1. 1. 1.]

# %% [markdown]
# `np.ones` makes `float64` numbers, and `from_numpy` keeps the dtype, hence
# `dtype=autograd_viz.float64` (PyTorch prints `dtype=torch.float64`). Changing the array in
# place changes the tensor, and the other way round:

# %%
n = np.ones(5)
t2 = av.from_numpy(n)   # shares memory with n
print(t2)
n += 1                  # change the NumPy array in place ...
print(t2)               # ... the tensor sees it
t2.mul_(2)              # change the tensor in place ...
print(n)                # ... the array sees it

# %% [markdown]
# ## Where the memory lives: `.to(device)`
#
# `t.to("cuda")` moves a tensor to the GPU (autograd_viz uses CuPy there) and `t.to("cpu")`
# brings it back. Notebook 07 shows this (and, on a machine without a GPU, says so and runs
# on the CPU). The same method also converts the dtype on the way:

# %%
print(t2.device, t2.to("cpu", av.float32))

# %% [markdown]
# ## Seeing a view in the autograd graph
#
# Views take part in autograd like any operation. The cell below is run under the
# `%%autograd` cell magic (loaded with `%load_ext autograd_viz`): the cell runs exactly as it
# would without the magic, and then its autograd graph is drawn, with the cell's variable
# names on the tensors. Notebook 02 introduces the magic properly; here just notice that the
# reshape appears as a `ViewBackward0` node, through which the gradient flows back to `a`
# with its original shape.

# %%
# %load_ext autograd_viz

# %% tags=["nbval-ignore-output"]
# %%autograd
a = av.arange(6.0, requires_grad=True)
b = a.view(2, 3)
s = (b * b).sum()
s.backward()

# %% [markdown]
# The drawing above depends on the installed Graphviz, so the test suite ignores its exact
# SVG; the facts it shows are printed (and checked) here: `s = Σ b²`, so `ds/da = 2a`, shaped
# like `a` even though the computation used the `(2, 3)` view.

# %%
print(s.grad_fn.name(), "<-", s.grad_fn.next_functions[0][0].name(),
      "<-", b.grad_fn.name())
print("a.grad =", a.grad)
print("a.grad == 2 * a:", av.equal(a.grad, 2 * a.detach()))
