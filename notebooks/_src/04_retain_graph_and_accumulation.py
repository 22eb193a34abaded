# Source of notebooks/04_retain_graph_and_accumulation.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 04

# %% [markdown]
# # 04 · Running backward twice: `retain_graph`, and why `.grad` accumulates
#
# Two rules of PyTorch's autograd surprise almost everyone once:
#
# 1. **`.grad` accumulates.** `backward()` *adds* the new gradient to whatever is already in a
#    leaf's `.grad`; it never overwrites it. That is why every training loop zeroes the
#    gradients before each step.
# 2. **A graph can be walked backwards only once.** To save memory, `backward()` frees the
#    values the graph saved for the backward pass as soon as it has used them. Walking the same
#    graph again needs `retain_graph=True` the first time -- or a new graph, built by running
#    the forward computation again.
#
# This notebook shows both, with the `.grad` history drawn by `%%autograd`.

# %%
import autograd_viz as av
from autograd_viz.autograd import Variable as V

gen = av.manual_seed(0)

# %%
# %load_ext autograd_viz

# %% [markdown]
# ## Gradients add up
#
# Below, three *separate* graphs are built from the same leaf `x` and each is walked once.
# `d(Σ 3x)/dx = 3`, and each `backward()` adds its 3 to `x.grad`: 3, 6, 9. Zeroing in place
# (`x.grad.zero_()`) starts over.

# %%
x = av.ones(2, requires_grad=True)
for step in range(3):
    (x * 3).sum().backward()   # a new graph every time
    print("after backward", step + 1, "x.grad =", x.grad)
x.grad.zero_()
print("after zero_():           x.grad =", x.grad)

# %% [markdown]
# Why add instead of overwrite? Because a leaf can receive gradient from several places, and
# the right total is the sum. When a weight is used twice in one computation, autograd adds the
# two contributions inside one backward pass; accumulating *across* calls is the same rule, and
# it is useful in its own right: summing the gradients of two half-batches gives exactly the
# gradient of the whole batch (for a summed loss), so you can train with batches that do not
# fit in memory at once.

# %%
w = av.tensor([1.0, -2.0], requires_grad=True)
data = av.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])

(data @ w).pow(2).sum().backward()          # the whole batch at once
full = w.grad.clone()
w.grad = None                               # reset (see "zeroing" below)
(data[:2] @ w).pow(2).sum().backward()      # first half ...
(data[2:] @ w).pow(2).sum().backward()      # ... plus second half, accumulated
print("whole batch:", full, "| two halves:", w.grad)

# %% [markdown]
# ## The same graph twice: `retain_graph=True`
#
# Now one graph, walked twice. `z = Σ w·x` with `x` all ones, so `dz/dw = x = 1` and each walk
# adds 1 to `w.grad`: **1 → 2**. The first call passes `retain_graph=True` so that the graph
# survives for the second.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = V(av.ones(3))
w = V(av.rand(3), requires_grad=True)
y = w.mul(x)
z = y.sum()

z.backward(retain_graph=True)
print(w.grad)
z.backward()
print(w.grad)

# %% [markdown]
# The drawing shows `w`'s `.grad` timeline over the cell's two backward calls: `[1, 1, 1]`
# after the first, `[2, 2, 2]` after the second. The same facts, printed and checked:

# %%
print("w.grad after two backward calls:", w.grad)
print("z.grad_fn:", z.grad_fn.name(), "<-", z.grad_fn.next_functions[0][0].name())

# %% [markdown]
# ### And without `retain_graph`
#
# The second call above did *not* pass `retain_graph=True`, so it freed the graph. A third
# call fails, with the same message as in PyTorch. The message says exactly what happened:
# `MulBackward0` needs the saved `x` to compute `dz/dw = x`, and `x` is gone.

# %% tags=["raises-exception"]
z.backward()

# %% [markdown]
# Freeing is the right default: in a real network the saved values (every layer's input,
# every activation) take most of the memory, and almost always you walk each graph once.
# `w.grad` was not changed by the failed call:

# %%
print(w.grad)

# %% [markdown]
# ## Or: build the graph again
#
# PyTorch's graphs are **dynamic**: the forward computation *is* the graph. A static-graph
# framework builds a graph once and feeds data through it; in PyTorch (and here) every forward
# pass builds a fresh graph, and `backward()` throws it away. So the other way to backpropagate
# twice is simply to compute `y` and `z` again from the leaves, which are still there.
# The leaf `w` keeps accumulating: **1 → 2** again.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = V(av.ones(3))
w = V(av.rand(3), requires_grad=True)
y = w.mul(x)
z = y.sum()

z.backward()
print(w.grad)
y = w.mul(x)  # <----- a new graph from the same leaf
z = y.sum()   # <-----
z.backward()
print(w.grad)

# %% [markdown]
# Two graphs this time, side by side in the drawing: the first one (its tensors no longer have
# names, since `y` and `z` now refer to the second) and the second one. They share the leaf `w`
# and its `AccumulateGrad` node, and the leaf's history is the same `1 → 2`:

# %%
print("w.grad:", w.grad)

# %% [markdown]
# ## `autograd.backward`: the function behind `.backward()`
#
# `t.backward(gradient, retain_graph, create_graph)` is shorthand for
# `av.autograd.backward(tensors, grad_tensors, retain_graph, create_graph)`:
#
# * `tensors`: one or several outputs to differentiate. With several, their gradients are
#   added, as if you had called `backward()` on their sum;
# * `grad_tensors`: for non-scalar outputs, the vector of the vector–Jacobian product (the
#   `gradient=` of notebook 02), one per tensor;
# * `retain_graph`: keep the graph for another pass (this notebook);
# * `create_graph`: record the backward pass itself, for higher derivatives (notebook 05).

# %%
x = av.ones(2, requires_grad=True)
a = x * 2
b = x ** 2
av.autograd.backward([a.sum(), b.sum()])   # d(Σ2x)/dx + d(Σx²)/dx = 2 + 2x = 4
print(x.grad)

x.grad = None
a = x * 2
av.autograd.backward([a], grad_tensors=[av.tensor([1.0, 0.5])],
                     retain_graph=False, create_graph=False)
print(x.grad)                              # [2·1, 2·0.5]

# %% [markdown]
# ## Zeroing gradients
#
# Two ways, both common:
#
# * `w.grad.zero_()` writes zeros into the existing gradient tensor (the memory is kept);
# * `w.grad = None` drops it; the next `backward()` creates a fresh one. This is what
#   `optimizer.zero_grad()` and `model.zero_grad()` do by default (`set_to_none=True`): it saves
#   a pass over memory, and a `None` makes "no gradient yet" visible.

# %% tags=["nbval-ignore-output"]
# %%autograd
w = av.tensor([1.0, 2.0, 3.0], requires_grad=True)
(w * w).sum().backward()      # grad 2w
w.grad.zero_()                # reset in place
(w * w).sum().backward()      # 2w again, not 4w
w.grad = None                 # reset by dropping it
(3 * w).sum().backward()      # 3

# %% [markdown]
# The drawing's timeline for `w` shows each backward call and each reset. Checked:

# %%
print("final w.grad:", w.grad)
