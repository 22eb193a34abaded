# Source of notebooks/03_nonleaf_grads.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 03

# %% [markdown]
# # 03 · Gradients of intermediate tensors: `retain_grad`, `autograd.grad`, hooks
#
# Notebook 02 ended with a puzzle: `backward()` computes the gradient of *every* tensor on the
# way from the output to the leaves, but afterwards only the leaves have a `.grad`. The
# intermediate (non-leaf) gradients are thrown away as soon as they have been passed on,
# because a big network has millions of them and you rarely need them.
#
# When you *do* need one (to debug a vanishing gradient, to visualise what a layer receives,
# to clip or log it) there are three ways, and this notebook shows all of them:
#
# | way | what you get | `.grad` of leaves |
# | --- | --- | --- |
# | `t.retain_grad()` before `backward()` | `t.grad` is kept, like a leaf's | filled as usual |
# | `av.autograd.grad(out, t)` | returns the gradient as a tuple | **not** touched |
# | `t.register_hook(fn)` | `fn(grad)` is called when the gradient passes `t` | filled as usual |

# %%
import autograd_viz as av
from autograd_viz.autograd import Variable as V

gen = av.manual_seed(0)

# %%
# %load_ext autograd_viz

# %% [markdown]
# ## `retain_grad()`: keep a non-leaf's gradient
#
# The worked example of notebook 02 again (`y = mean((x * w1 + b) * w2)`), this time asking
# `l1` and `l2` to keep their gradients. `retain_grad()` must be called **before**
# `backward()`: it tells the engine to store the gradient when it passes by.

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
l1.retain_grad()
l2.retain_grad()
y.backward()

# %% [markdown]
# In the drawing, `l1` and `l2` now carry their gradients, like the leaves. The same lines the
# tutorial prints:

# %%
print(l1.data, l1.grad, l1.grad_fn)
print(l2.data, l2.grad, l2.grad_fn)
print("retains_grad:", l1.retains_grad, l2.retains_grad, l3.retains_grad)
print(w1.grad, w2.grad, x.grad)

# %% [markdown]
# Where does **0.6** come from? Go backwards from `y`:
#
# * `y = mean(l3) = (1/5) Σ l3ᵢ`, so `∂y/∂l3ᵢ = 1/5 = 0.2`;
# * `l3 = l2 · w2`, so `∂y/∂l2ᵢ = 0.2 · w2 = 0.2 · 3 = 0.6`;
# * `l2 = l1 + b`, and addition passes the gradient through unchanged: `∂y/∂l1ᵢ = 0.6`;
# * `l1 = x · w1`, so `∂y/∂xᵢ = 0.6 · w1 = 1.2` (the value of notebook 02).
#
# `w1` receives `0.6 · xᵢ` from each of the five elements: `5 · 0.6 = 3`. The leaves' gradients
# are exactly what they were without `retain_grad()`: keeping a gradient changes nothing else.
#
# ## `autograd.grad`: ask for a gradient directly
#
# `av.autograd.grad(outputs, inputs)` computes `d outputs / d inputs` for any tensors on the
# graph, leaves or not, and **returns** it (as a tuple, one entry per input) instead of
# storing it anywhere. The example below computes `z = Σ (w · x)` and asks for `dz/dy`
# where `y = w · x`: since `z` is a plain sum of `y`, the answer is all ones.

# %%
x = V(av.ones(3))
w = V(av.rand(3), requires_grad=True)
y = w.mul(x)
z = y.sum()
print(av.autograd.grad(z, y))
print("w.grad is still", w.grad, "(autograd.grad does not touch .grad)")

# %% [markdown]
# ## Hooks: a function called with the gradient
#
# `t.register_hook(fn)` asks the engine to call `fn(grad)` whenever the gradient with respect
# to `t` has been computed. It returns a **handle**; `handle.remove()` unregisters the hook.
# Removing hooks you no longer need matters: a forgotten hook keeps running (and keeps
# whatever it refers to alive) on every later backward pass.
#
# This is the tutorial's example, drawn by `%%autograd`: the hook's printout appears in the
# drawing next to `y`, the tensor the hook belongs to. The hook also appends to a list, so the
# checked cell after the drawing can show what it received.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = V(av.ones(3))
w = V(av.rand(3), requires_grad=True)
y = w.mul(x)
z = y.sum()

seen = []  # what the hook received, for the next cell


def variable_hook(grad):  # a hook gets the gradient; returning nothing keeps it unchanged
    seen.append(grad.clone())
    print("hook gradient output:\n", grad)


hook_handle = y.register_hook(variable_hook)  # register the hook
z.backward(retain_graph=True)                  # the hook prints while the gradient passes y
hook_handle.remove()                           # unregister it

print("autograd.grad output:\n", av.autograd.grad(z, y))  # runs the graph again: no hook now

# %% [markdown]
# The hook ran exactly once (during `z.backward`) and received `dz/dy = [1, 1, 1]`. The second
# pass, `autograd.grad(z, y)`, ran after `remove()`, so it printed nothing from the hook:

# %%
print("hook calls:", len(seen), "| it received:", seen[0])
print("w.grad:", w.grad)  # dz/dw = x = ones: the backward pass filled the leaf as usual

# %% [markdown]
# Note `retain_graph=True` in `z.backward(...)`: without it, `backward()` frees the graph's
# saved tensors and the later `autograd.grad(z, y)` could not run. Notebook 04 is about
# exactly that.
#
# The same program, run as a plain cell, prints the hook's output and the result of
# `autograd.grad` (old tutorials show `Variable containing: 1 1 1 [torch.FloatTensor of size 3]`
# here; since PyTorch 0.4 a tensor prints as `tensor([1., 1., 1.])`):

# %%
x = V(av.ones(3))
w = V(av.rand(3), requires_grad=True)
y = w.mul(x)
z = y.sum()


def variable_hook(grad):
    print("hook gradient output:\n", grad)


hook_handle = y.register_hook(variable_hook)
z.backward(retain_graph=True)
hook_handle.remove()

print("autograd.grad output:\n", av.autograd.grad(z, y))

# %% [markdown]
# ### A hook may replace the gradient
#
# If the hook *returns* a tensor, that tensor replaces the gradient from there on. This is how
# gradient clipping or scaling per tensor is done. Use it knowingly: everything upstream of
# the hook (here `w`) sees the changed value, and nothing in the printed numbers says so.

# %%
x = V(av.ones(3))
w = V(av.rand(3), requires_grad=True)
y = w.mul(x)
handle = y.register_hook(lambda grad: grad * 2)   # double the gradient flowing through y
y.sum().backward()
handle.remove()
print("w.grad with the doubling hook:", w.grad)   # 2 instead of 1

w.grad = None                                     # reset, and run again without the hook
w.mul(x).sum().backward()
print("w.grad without it:           ", w.grad)

# %% [markdown]
# ## Summary
#
# * Non-leaf gradients are computed during `backward()` and then dropped to save memory.
# * `retain_grad()` keeps them in `.grad` (the walkthrough's `0.6`s).
# * `autograd.grad(out, t)` returns them without touching any `.grad`.
# * A hook sees them as they pass (`handle.remove()` when done) and can even change them.
