# Source of notebooks/02_autograd_basics.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 02

# %% [markdown]
# # 02 · Autograd basics: the graph, `.backward()`, `.grad`
#
# Training a model means nudging its numbers in the direction that lowers a loss, and that
# direction is the gradient. Working gradients out by hand is slow and error-prone, so PyTorch
# (and autograd_viz) do it automatically:
#
# 1. while you compute, every operation on a tensor that `requires_grad` is **recorded** as a
#    node of a graph (the tensor's `grad_fn` points at the node that made it);
# 2. `out.backward()` walks that graph **backwards** from `out`, applying the chain rule at
#    each node;
# 3. the resulting derivatives land in the `.grad` of the **leaf** tensors: the ones you
#    created yourself.
#
# This notebook shows each step, drawn by the `%%autograd` cell magic.

# %%
import warnings

import autograd_viz as av

gen = av.manual_seed(0)  # seeds every random draw below (and returns the generator)

# %% [markdown]
# `%load_ext autograd_viz` registers the `%%autograd` cell magic. A cell that starts with it
# runs exactly as usual (same variables, same prints), and afterwards shows the autograd graph
# the cell built, with the cell's variable names on the tensors, their values and their grads.
# In JupyterLab you can click a node to inspect it and step through the backward pass; on
# GitHub or in an HTML export you see the static drawing that is saved with the notebook.

# %%
# %load_ext autograd_viz

# %% [markdown]
# ## A scalar example: `y = (x + 2)**2 + 3`
#
# `requires_grad=True` tells autograd to record what happens to `x` (the default is `False`:
# most tensors, such as data, need no gradient).

# %% tags=["nbval-ignore-output"]
# %%autograd
x = av.tensor([2.0], requires_grad=True)
y = (x + 2) ** 2 + 3
y.backward()

# %% [markdown]
# Read the drawing from the bottom (the leaf `x`) to the top (the output `y`): `x` enters
# through an `AccumulateGrad` node (the node that will store the gradient into `x.grad`),
# then `AddBackward0` (`+ 2`), `PowBackward0` (`** 2`) and `AddBackward0` (`+ 3`).
# The drawing's exact pixels depend on your Graphviz version, so the tests ignore them; the
# facts are printed (and checked) here.
#
# The chain rule gives `dy/dx = 2·(x + 2) = 2·(2 + 2) = 8`, which is what `backward()` stored
# in `x.grad`:

# %%
print(y)                  # 19 = (2 + 2)**2 + 3; grad_fn names the op that made y
print(x.grad)             # tensor([8.])
print(x.is_leaf, y.is_leaf)

# %% [markdown]
# The graph is an ordinary data structure you can walk yourself. Every node lists the nodes
# it sends gradients to in `next_functions` (one entry per input; `None` for an input that
# needs no gradient, like the constant `3`):

# %%
node = y.grad_fn
while node is not None:
    print(node.name(), "->", [None if f is None else f.name() for f, _ in node.next_functions])
    node = node.next_functions[0][0] if node.next_functions else None

# %% [markdown]
# ## A matrix example: `J = sum(y - x @ W)`
#
# Gradients have the shape of the tensor they belong to. With `x` of shape `(2, 4)`, `W` of
# shape `(4, 1)` and `y` of shape `(2, 1)`, all ones:
#
# * `J = Σᵢ (yᵢ − Σⱼ xᵢⱼ Wⱼ)`, so `∂J/∂xᵢⱼ = −Wⱼ = −1` for all 8 entries of `x`;
# * `∂J/∂yᵢ = 1`;
# * `∂J/∂Wⱼ = −Σᵢ xᵢⱼ = −2`, because each `Wⱼ` is used by both rows of `x`.

# %%
x = av.ones((2, 4), requires_grad=True)
y = av.ones((2, 1), requires_grad=True)
W = av.ones((4, 1), requires_grad=True)

J = av.sum(y - av.matmul(x, W))  # av.matmul is matrix multiplication
J.backward()
print(x.grad)
print(y.grad)
print(W.grad)

# %% [markdown]
# ### `Variable` is an alias kept for old code
#
# Before PyTorch 0.4 a tensor had to be wrapped in `torch.autograd.Variable` to take part in
# autograd. Today tensors track history themselves, and `Variable(t, requires_grad=...)` simply
# returns a tensor. Old tutorials (including two used here) write `V(t.ones(3))`; that works
# unchanged with `from autograd_viz.autograd import Variable as V`.

# %%
from autograd_viz.autograd import Variable as V

v = V(av.ones(3), requires_grad=True)
print(type(v).__name__, v)

# %% [markdown]
# ## `.data`, `.grad_fn`, and leaves versus non-leaves
#
# A tensor created by you is a **leaf**. Its `grad_fn` is `None` (no operation made it), and
# `.data` gives the same numbers without the autograd bookkeeping (no `requires_grad`).

# %%
x = av.randn(2, 3, requires_grad=True)
print(x)
print(x.data)
print(x.grad_fn)

# %% [markdown]
# The tensor a result *is computed from* decides whether it gets a `grad_fn`: any operation
# on a tensor that requires grad is recorded, even `x + 1` (the tutorial this comes from says
# otherwise; PyTorch and autograd_viz both record it):

# %%
print((x + 1).grad_fn)

# %% [markdown]
# `w = x + y` below is computed, so it is **not** a leaf. It requires grad (gradients must flow
# *through* it), but after `backward()` its `.grad` is `None`: to save memory, autograd only
# stores gradients in leaves. Reading `.grad` of a non-leaf is so often a mistake that it
# raises a warning; we catch it to print its message (notebook 03 shows how to keep such
# gradients).
#
# The leaves `x`, `y`, `z` get gradient 1 everywhere, because `out` is a plain sum of them.

# %%
x = av.randn(2, 3, requires_grad=True)
y = av.randn(2, 3, requires_grad=True)
w = x + y
print("w.requires_grad:", w.requires_grad)
z = av.randn(2, 3, requires_grad=True)
out = (w + z).sum()
out.backward()

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("w.grad:", w.grad)
print("x.grad:", x.grad)
print("y.grad:", y.grad)
print("z.grad:", z.grad)
print("warning:", str(caught[0].message)[:86], "...")

# %% [markdown]
# ## A bigger example: `(x @ w).sum()`
#
# For `y = Σᵢₖ (x·w)ᵢₖ = Σᵢₖ Σⱼ xᵢⱼ wⱼₖ`, the derivative with respect to `xᵢⱼ` is `Σₖ wⱼₖ`:
# every row of `x.grad` is the vector of row sums of `w`. (The numbers are random; what
# matters is that the two printed rows agree with each other and with `w.sum(1)`.)

# %%
x = av.randn(10, 5, requires_grad=True)
w = av.randn(5, 6, requires_grad=True)
y = (x.mm(w)).sum()
y.backward()
print(x.grad.shape, "first two rows of x.grad:")
print(x.grad[:2])
print("w.sum(1):", w.detach().sum(1))
print("every row equals w.sum(1):", bool(((x.grad - w.detach().sum(1)).abs() < 1e-6).all()))

# %% [markdown]
# ## Non-scalar outputs need a `gradient`
#
# `backward()` computes the derivative of a **scalar**. For a vector output, "the gradient" is
# a whole Jacobian matrix, which autograd never builds; it computes a vector–Jacobian product
# instead, and you must say which vector. Without it PyTorch refuses, and so do we:

# %% tags=["raises-exception"]
x = av.randn(5, 1, requires_grad=True)
w = av.randn(5, 1, requires_grad=True)
y = x + w
y.backward()

# %% [markdown]
# Passing `gradient=av.ones_like(y)` asks for the gradient of `(y * 1).sum()`: each element of
# `y` counts once, so `x.grad` is all ones.

# %%
y.backward(gradient=av.ones_like(y))
print(x.grad.T)
print(w.grad.T)

# %% [markdown]
# ## A worked example: `y = mean((x * w1 + b) * w2)`
#
# This is the walkthrough from the last tutorial: `x` is five ones, `w1 = 2`, `w2 = 3`, and
# `b = 4` does not require grad. The forward pass gives `l1 = 2`, `l2 = 6`, `l3 = 18` in every
# element, and `y = mean(l3) = 18`.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = av.ones(5, requires_grad=True)
w1 = av.tensor(2.0, requires_grad=True)
w2 = av.tensor(3.0, requires_grad=True)
b = av.tensor(4.0, requires_grad=False)
l1 = x * w1
l2 = l1 + b
l3 = l2 * w2
y = l3.mean()
y.backward()

# %% [markdown]
# The graph has a `MulBackward0` for each multiplication, an `AddBackward0` for `+ b` and a
# `MeanBackward0`. `b` has no `AccumulateGrad` node: it does not require grad, so nothing
# flows to it. The printed facts, as in the original tutorial:

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # .grad of a non-leaf: the warning shown above
    print(l1.data, l1.grad, l1.grad_fn)
    print(l2.data, l2.grad, l2.grad_fn)
print(y)
print(w1.grad, w2.grad)
print(x.grad)

# %% [markdown]
# Why these numbers? Write `y = (1/5) Σᵢ (xᵢ·w1 + b)·w2`:
#
# * `∂y/∂w2 = (1/5) Σᵢ l2ᵢ = mean(l2) = 6`;
# * `∂y/∂w1 = (1/5) Σᵢ xᵢ·w2 = 3` (each of the five terms contributes `1·3/5`);
# * `∂y/∂xᵢ = w1·w2/5 = 2·3/5 = 1.2` for every element.
#
# `l1.grad` and `l2.grad` are `None` because they are not leaves. Their gradients *were*
# computed on the way (they are `0.6 = w2/5` each), just not kept; notebook 03 keeps them.
#
# ## Switching recording off: `no_grad`, `enable_grad`, `set_grad_enabled`
#
# Recording costs memory (each node keeps what its backward needs). When you only *use* a
# model, or update its weights by hand, wrap the code in `with av.no_grad():`. Results computed
# inside do not require grad, even from inputs that do. `enable_grad` switches recording back
# on inside a `no_grad` block, and `set_grad_enabled(mode)` chooses with a flag.

# %%
x = av.ones(5, requires_grad=True)
print((x ** 2).requires_grad)       # True: recorded
with av.no_grad():
    print((x ** 2).requires_grad)   # False: not recorded
    with av.enable_grad():
        print((x ** 2).requires_grad)  # True again
with av.set_grad_enabled(False):
    print((x ** 2).requires_grad)   # False
print(av.is_grad_enabled())

# %% [markdown]
# Drawn: the multiplication inside `no_grad` still *ran* (it is shown dashed, marked "no
# grad"), but it left no backward node. So `frozen` is a constant as far as autograd is
# concerned, and the gradient reaches `x` only along the solid path, through `MulBackward0`.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = av.ones(5, requires_grad=True)
with av.no_grad():
    frozen = x * 10
s = (x * frozen).sum()
s.backward()

# %%
print("frozen.requires_grad:", frozen.requires_grad, "| frozen.grad_fn:", frozen.grad_fn)
print("s.grad_fn:", s.grad_fn.name(), "| x.grad:", x.grad)  # frozen counts as a constant 10
