# Source of notebooks/05_custom_function_and_higher_order.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 05

# %% [markdown]
# # 05 · Your own `autograd.Function`, and derivatives of derivatives
#
# Every operation autograd knows is a pair of functions: a **forward** that computes the
# result, and a **backward** that turns "the gradient of the final output with respect to my
# result" into "the gradient with respect to my inputs" (the chain rule, one link at a time).
# You can add your own pair by subclassing `av.autograd.Function`. Reasons to do so:
#
# * the operation is not built from differentiable tensor operations (it calls other code);
# * you know a cheaper or numerically safer backward than the one autograd would derive;
# * you deliberately want a different gradient (a straight-through estimator, clipping, ...).
#
# The second half of the notebook differentiates a gradient again (`create_graph=True`).

# %%
import autograd_viz as av
from autograd_viz.autograd import Function
from autograd_viz.autograd import Variable as V

gen = av.manual_seed(0)

# %%
# %load_ext autograd_viz

# %% [markdown]
# ## The anatomy of a `Function`: `line(w, x, b) = w * x + b`
#
# * `forward(ctx, *inputs)` runs with recording switched off (the Function *is* the record) and
#   returns the output. Anything the backward will need is stored on `ctx`;
#   `ctx.save_for_backward(...)` is the way for tensors (autograd then checks that they were not
#   modified in place before they are used).
# * `backward(ctx, grad_out)` receives `∂L/∂out` and returns **one gradient per input of
#   forward**, in order: here `∂L/∂w = grad_out·x`, `∂L/∂x = grad_out·w`, `∂L/∂b = grad_out`.
# * You call it with `line.apply(w, x, b)`, never `line()(...)` or `line.forward(...)`:
#   `apply` is what connects the result to the graph.

# %%
class line(Function):
    @staticmethod
    def forward(ctx, w, x, b):
        ctx.save_for_backward(w, x, b)
        return w * x + b

    @staticmethod
    def backward(ctx, grad_out):
        w, x, b = ctx.saved_tensors
        grad_w = grad_out * x
        grad_x = grad_out * w
        grad_b = grad_out
        return grad_w, grad_x, grad_b

# %% tags=["nbval-ignore-output"]
# %%autograd
w = av.rand(2, 2, requires_grad=True)
x = av.rand(2, 2, requires_grad=True)
b = av.rand(2, 2, requires_grad=True)
out = line.apply(w, x, b)
out.backward(av.ones(2, 2))

# %% [markdown]
# The whole function is **one** backward node, `lineBackward` (the class name plus
# `Backward`, as in PyTorch), with an edge to each input. Autograd does not look inside it:
# the `w * x` and `+ b` in `forward` ran with recording off (the drawing shows them dashed,
# "no grad"), so they left no backward nodes of their own. The gradients come from our
# `backward` alone.
#
# The tutorial's prints: `w`, `x` and `b`, then their gradients. Since `out` was seeded with
# ones, `w.grad` is `x`, `x.grad` is `w`, and `b.grad` is all ones. (The values are random; look
# at which numbers reappear where.)

# %%
print(w, x, b)
print(w.grad)
print(x.grad)
print(b.grad)
print("node:", out.grad_fn.name(), "| w.grad == x:", av.equal(w.grad, x.detach()),
      "| x.grad == w:", av.equal(x.grad, w.detach()))

# %% [markdown]
# ### Check your backward with `gradcheck`
#
# A wrong backward does not crash; it silently trains badly. `av.autograd.gradcheck` compares
# your backward with finite differences (`(f(x + ε) − f(x − ε)) / 2ε`) for every input element.
# Use `float64`, because in `float32` the finite differences themselves are too noisy.

# %%
inputs = tuple(av.rand(2, 2, dtype=av.float64, requires_grad=True) for _ in range(3))
print(av.autograd.gradcheck(line.apply, inputs))

# %% [markdown]
# A deliberately wrong backward is caught:

# %%
class wrong_line(line):
    @staticmethod
    def backward(ctx, grad_out):
        w, x, b = ctx.saved_tensors
        return grad_out * w, grad_out * x, grad_out   # w and x swapped


print(av.autograd.gradcheck(wrong_line.apply, inputs, raise_exception=False))

# %% [markdown]
# ## `MultiplyAdd`: inputs that need no gradient
#
# The second tutorial's Function is the same computation, saving only what its backward
# uses (`w` and `x`; `b`'s gradient needs neither). Here `x` does not require grad.
# `ctx.needs_input_grad` tells the backward which gradients are wanted; a backward may return
# `None` for the others, or compute them anyway: autograd discards them, so `x.grad` stays
# `None`. The prints show what forward and backward receive: plain tensors.

# %%
class MultiplyAdd(Function):
    @staticmethod
    def forward(ctx, w, x, b):
        print("type in forward:", type(x).__name__)
        ctx.save_for_backward(w, x)
        output = w * x + b
        return output

    @staticmethod
    def backward(ctx, grad_output):
        w, x = ctx.saved_tensors
        print("type in backward:", type(x).__name__, "| needs_input_grad:",
              ctx.needs_input_grad)
        grad_w = grad_output * x
        grad_x = grad_output * w
        grad_b = grad_output * 1
        return grad_w, grad_x, grad_b


x = V(av.ones(1))
w = V(av.rand(1), requires_grad=True)
b = V(av.rand(1), requires_grad=True)
print("forward pass")
z = MultiplyAdd.apply(w, x, b)
print("backward pass")
z.backward()
# x needs no gradient: the backward still computed one, but it is thrown away
print(x.grad, w.grad, b.grad)

# %% [markdown]
# `w.grad = x = 1` and `b.grad = 1`: `z = w·x + b` changes one-for-one with `b`, and with `w`
# at the rate `x = 1`.
#
# ## Higher-order derivatives: `create_graph=True`
#
# Normally the backward pass itself is not recorded: its result is just numbers. With
# `create_graph=True` the backward operations are recorded like any forward computation, so
# the gradient has a `grad_fn` and can be differentiated again.
#
# For `y = x²` at `x = 5`: `dy/dx = 2x = 10`, and `d²y/dx² = 2`.

# %% tags=["nbval-ignore-output"]
# %%autograd
x = av.tensor([5.0], requires_grad=True)
y = x ** 2
grad_x = av.autograd.grad(y, x, create_graph=True)
grad_grad_x = av.autograd.grad(grad_x[0], x)

# %% [markdown]
# The drawing shows the forward graph (`y = x²`, one `PowBackward0`) and, next to it, the graph
# the *backward pass* built (its nodes are marked "create_graph"): `PowBackward0` computes its
# gradient as `2 · x¹`, so recording it gives a `PowBackward0` (`x¹ = 5`) and a `MulBackward0`
# (times the constant 2), producing `grad_x[0] = 10`. The second `autograd.grad` walks that
# new graph: `d(2x)/dx = 2`. Checked:

# %%
print(grad_x)        # (tensor([10.], grad_fn=<MulBackward0>),): it has a history
print(grad_grad_x)   # (tensor([2.]),)

# %% [markdown]
# The gradient `10` has a `grad_fn`: that is the graph the second `autograd.grad` walked.
# Without `create_graph=True` it would be a plain number and the second call would fail.
#
# `autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, only_inputs,
# allow_unused)` -- the remaining parameters:
#
# * `grad_outputs` is the vector of the vector–Jacobian product for a non-scalar output
#   (like `gradient=` in `backward`);
# * `retain_graph` defaults to `create_graph`: a graph you differentiate again must survive;
# * `only_inputs` is accepted for old code and ignored (only the inputs' gradients are ever
#   returned);
# * `allow_unused=True` returns `None` for an input the output does not depend on, instead
#   of raising.

# %%
v = av.tensor([1.0, 2.0, 3.0], requires_grad=True)
print(av.autograd.grad(v * v, v, grad_outputs=av.ones(3)))   # d(v²)/dv = 2v

x = av.tensor([2.0], requires_grad=True)
unused = av.tensor([1.0], requires_grad=True)
print(av.autograd.grad((x * x).sum(), [x, unused], allow_unused=True, only_inputs=True))

# %% tags=["raises-exception"]
av.autograd.grad((x * x).sum(), [x, unused])   # without allow_unused

# %% [markdown]
# ### Higher derivatives through a custom Function
#
# `MultiplyAdd`'s backward is written with ordinary tensor operations (`grad_output * x`),
# so under `create_graph=True` those operations are recorded too, and the gradient can be
# differentiated again. For `z = w·x + b`: `∂z/∂w = x`, and `∂²z/∂x∂w = 1`.

# %%
x = av.ones(1, requires_grad=True)
z = MultiplyAdd.apply(w, x, b)
(dz_dw,) = av.autograd.grad(z, w, create_graph=True)
print("dz/dw =", dz_dw)
print("d/dx (dz/dw) =", av.autograd.grad(dz_dw, x))

# %% [markdown]
# `gradgradcheck` checks second derivatives the way `gradcheck` checks first ones; our `line`
# passes both:

# %%
print(av.autograd.gradgradcheck(line.apply, inputs))
