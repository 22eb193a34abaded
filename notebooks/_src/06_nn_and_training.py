# Source of notebooks/06_nn_and_training.ipynb -- edit here, then run: .venv/bin/python notebooks/_build.py 06

# %% [markdown]
# # 06 · `nn` and training: from a hand-written update to a LeNet
#
# Everything so far was autograd on bare tensors. `av.nn` packages the pattern every model
# repeats -- *parameters* (leaf tensors that require grad) plus a *forward* computation -- into
# **modules**, and `av.optim` packages the update step. Nothing new happens underneath: a
# module's forward builds an autograd graph exactly like the code of notebooks 02–05, and
# `loss.backward()` fills the parameters' `.grad`.
#
# This notebook tours the pieces named in the tutorials (`Parameter`, `ParameterList`,
# `ParameterDict`, `Linear`, `Conv2d`, `ReLU`, `MaxPool2d`, `MSELoss`, `functional`,
# `Sequential`, `ModuleList`, `ModuleDict`, `RNN`, `RNNCell`), then trains two models:
# a least-squares line fit (by hand, then with `nn` + `optim`) and a LeNet on handwritten digits.

# %%
from collections import OrderedDict

import numpy as np

import autograd_viz as av
import autograd_viz.nn as nn
import autograd_viz.nn.functional as F
from autograd_viz.autograd import Variable as V

gen = av.manual_seed(0)

# %%
# %load_ext autograd_viz

# %% [markdown]
# ## Parameters
#
# `nn.Parameter` is a tensor that requires grad by default and, when assigned as an attribute
# of a module, is **registered**: `module.parameters()` finds it, optimisers update it,
# `zero_grad()` clears it. `ParameterList` and `ParameterDict` register a list or dict of them
# (a plain Python list would hide them from the module).

# %%
p = nn.Parameter(av.ones(2))
print(p)
print(p.requires_grad, p.is_leaf)


class Scales(nn.Module):
    def __init__(self):
        super().__init__()
        self.single = nn.Parameter(av.tensor(1.0))
        self.per_layer = nn.ParameterList([nn.Parameter(av.full((2,), 2.0)) for _ in range(2)])
        self.by_name = nn.ParameterDict({"alpha": nn.Parameter(av.zeros(3))})
        self.not_registered = [nn.Parameter(av.ones(1))]   # a plain list: invisible


for name, param in Scales().named_parameters():
    print(f"{name:<16} {tuple(param.shape)}")

# %% [markdown]
# ## Layers
#
# A layer is a module with parameters initialised the way PyTorch initialises them. The
# shapes tell you what the layer computes:
#
# * `Linear(4, 3)`: `y = x @ weight.T + bias`, with `weight` of shape `(out, in) = (3, 4)`;
# * `Conv2d(1, 6, 5)`: six 5×5 filters over one input channel. With no padding a 32×32 image
#   becomes 28×28 (`32 − 5 + 1`);
# * `MaxPool2d(2)`: the maximum of each 2×2 window, halving height and width; `ReLU`:
#   `max(x, 0)`. Neither has parameters.

# %%
lin = nn.Linear(4, 3)
conv = nn.Conv2d(1, 6, 5)
print(lin, conv, nn.ReLU(), nn.MaxPool2d(2), nn.MSELoss(), sep="\n")
print("weight", tuple(lin.weight.shape), "bias", tuple(lin.bias.shape))

x = av.randn(2, 4)
print("Linear is x @ W.T + b:", bool(((lin(x) - (x @ lin.weight.T + lin.bias)).abs() < 1e-6).all()))
img = av.randn(1, 1, 32, 32)
print("conv:", tuple(conv(img).shape), "-> pool:", tuple(nn.MaxPool2d(2)(conv(img)).shape))

# %% [markdown]
# `MSELoss` is the mean of the squared differences, `((a − b)²).mean()`: for `a = [1, 2, 3]`
# and `b = [1, 2, 5]` that is `(0 + 0 + 4) / 3 = 1.3333`.

# %%
a, b = av.tensor([1.0, 2.0, 3.0]), av.tensor([1.0, 2.0, 5.0])
print(nn.MSELoss()(a, b), F.mse_loss(a, b), ((a - b) ** 2).mean())

# %% [markdown]
# ## `nn.functional`: the same operations as functions
#
# `F.relu(x)`, `F.max_pool2d(x, 2)`, `F.mse_loss(a, b)` compute what `nn.ReLU()(x)`,
# `nn.MaxPool2d(2)(x)` and `nn.MSELoss()(a, b)` compute. The modules exist so that a layer can
# be *stored* in a model (and hold parameters when it has any); the functions are handy inside
# a `forward` for operations without parameters. A function is not a module, so it cannot be
# an element of `nn.Sequential`.

# %%
t = av.tensor([[-1.0, 2.0], [3.0, -4.0]])
print(F.relu(t))
print(nn.ReLU()(t))
print(F.max_pool2d(t.view(1, 1, 2, 2), 2).flatten(), nn.MaxPool2d(2)(t.view(1, 1, 2, 2)).flatten())

# %% [markdown]
# ## Containers: `Sequential`, `ModuleList`, `ModuleDict`
#
# * `Sequential(a, b, c)` is a module whose forward is `c(b(a(x)))`. Give it an `OrderedDict`
#   to name the layers instead of numbering them.
# * `ModuleList` and `ModuleDict` only *hold* modules (so their parameters are registered);
#   you write the forward yourself, which allows loops, branches and skipping.

# %%
net1 = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
net2 = nn.Sequential(OrderedDict([("hidden", nn.Linear(4, 3)), ("act", nn.ReLU()),
                                  ("out", nn.Linear(3, 1))]))
print(net1)
print(net2)
print([name for name, _ in net2.named_parameters()])


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        self.heads = nn.ModuleDict({"score": nn.Linear(4, 1), "logits": nn.Linear(4, 2)})

    def forward(self, x, head="score"):
        for layer in self.layers:           # a loop: not expressible as a Sequential
            x = F.relu(layer(x))
        return self.heads[head](x)          # a branch chosen at call time


branchy = Branchy()
print(branchy)
print(tuple(branchy(av.randn(5, 4)).shape), tuple(branchy(av.randn(5, 4), head="logits").shape))

# %% [markdown]
# ### A module's graph
#
# A module call is ordinary autograd: below, a two-layer network and an MSE loss. The drawing
# names the parameters by their path in the model (`model.0.weight`, ...), and after
# `loss.backward()` each parameter holds its gradient.

# %% tags=["nbval-ignore-output"]
# %%autograd
model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
inputs = av.randn(4, 3)
target = av.randn(4, 1)
loss = F.mse_loss(model(inputs), target)
loss.backward()

# %% [markdown]
# Checked facts: a `Linear` on a batch is one `AddmmBackward0` node (`bias + x @ W.T` fused,
# with a `TBackward0` for the transposed weight), each parameter enters through its own
# `AccumulateGrad`, and every parameter's gradient has the parameter's shape.

# %%
def backward_nodes(tensor):
    """Names of the backward nodes reachable from tensor.grad_fn, breadth first."""
    names, seen, todo = [], set(), [tensor.grad_fn]
    while todo:
        node = todo.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.append(node.name())
        todo.extend(fn for fn, _ in node.next_functions)
    return names


print(backward_nodes(loss))
for name, param in model.named_parameters():
    print(f"{name:<9} grad shape {tuple(param.grad.shape)}")

# %% [markdown]
# ## Least squares, by hand
#
# The classic first training loop: data from the line `y = 2x + 3` plus noise, and a model
# `ŷ = x·w + b` whose `w` and `b` are found by gradient descent on the squared error.
# `get_fake_data` draws a fresh batch of 8 points each step.

# %%
gen = av.manual_seed(1000)


def get_fake_data(batch_size=8):
    """y = 2x + 3, plus Gaussian noise of standard deviation 3, for x uniform on [0, 20)."""
    x = av.rand(batch_size, 1) * 20
    y = x * 2 + 3 + 3 * av.randn(batch_size, 1)
    return x, y


x, y = get_fake_data()
print(x.T)
print(y.T)

# %% [markdown]
# The loop is the tutorial's, written with the old `Variable` idiom it used. Each step:
#
# 1. forward: `y_pred = x @ w + b` (`b.expand_as(y)` repeats the bias for the 8 rows; autograd
#    sums the 8 gradients back into `b`'s one number);
# 2. loss `½ Σ (y_pred − y)²`, whose gradient is `Σ (y_pred − y)·x` for `w` and `Σ (y_pred − y)`
#    for `b`;
# 3. update `w ← w − lr·w.grad` on `.data`, i.e. outside autograd (an update is not part of
#    the model's computation), and zero the grads, because they would accumulate (notebook 04).
#
# The learning rate is small because `x` goes up to 20: the gradient for `w` is large.

# %%
w = V(av.rand(1, 1), requires_grad=True)
b = V(av.zeros(1, 1), requires_grad=True)

lr = 0.001  # learning rate
trace = []  # (w, b) after every step

for ii in range(8000):
    x, y = get_fake_data()
    x, y = V(x), V(y)

    # forward: compute the loss
    y_pred = x.mm(w) + b.expand_as(y)
    loss = 0.5 * (y_pred - y) ** 2
    loss = loss.sum()

    # backward: compute the gradients
    loss.backward()

    # update the parameters
    w.data.sub_(lr * w.grad.data)
    b.data.sub_(lr * b.grad.data)

    # zero the gradients
    w.grad.data.zero_()
    b.grad.data.zero_()

    trace.append((w.item(), b.item()))
    if ii % 1000 == 999:
        print(f"step {ii + 1}: w = {w.item():.2f}, b = {b.item():.2f}")

w_avg, b_avg = np.mean(trace[-4000:], axis=0)
print(f"average over the last 4000 steps: w = {w_avg:.2f}, b = {b_avg:.2f}")

# %% [markdown]
# `w` approaches 2 within a few hundred steps; `b` takes far longer. The gradient for `b` is
# not multiplied by `x` (which averages 10), so with one learning rate for both, `b` moves
# about ten times slower. And the estimates never settle exactly: every step sees a new batch
# of 8 noisy points (σ = 3), so `w` and `b` keep wobbling around the best fit. Averaged over
# the second half of training they are close to the true `w = 2`, `b = 3`.
#
# One step of that loop, drawn (`ExpandBackward0` is the `expand_as`, `MmBackward0` the
# matrix product):

# %% tags=["nbval-ignore-output"]
# %%autograd
x, y = get_fake_data()
y_pred = x.mm(w) + b.expand_as(y)
loss = (0.5 * (y_pred - y) ** 2).sum()
loss.backward()

# %%
print(loss.grad_fn.name(), "| w.grad shape", tuple(w.grad.shape), "| b.grad shape",
      tuple(b.grad.shape))
w.grad = None
b.grad = None

# %% [markdown]
# ### The same fit with `nn` and `optim`
#
# `nn.Linear(1, 1)` holds `w` and `b`; `nn.MSELoss` computes the (mean) squared error;
# `optim.SGD` does the update and `optimizer.zero_grad()` the zeroing. A step shrinks to its
# meaning: zero, forward, backward, update. The mean loss (instead of the tutorial's half-sum)
# divides the gradient by 4 compared to the hand-written loop, so the learning rate is 4×.

# %%
gen = av.manual_seed(1000)
model = nn.Linear(1, 1)
criterion = nn.MSELoss()
optimizer = av.optim.SGD(model.parameters(), lr=0.004)


def train_step():
    """One SGD step on a fresh batch; returns the loss."""
    x, y = get_fake_data()
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


for ii in range(4000):
    train_step()

print(f"w ≈ {model.weight.item():.1f}, b ≈ {model.bias.item():.1f}")

# %% [markdown]
# Ten more steps under `%%autograd` show what a step does: each builds a new
# graph on the same two parameters, `optimizer.zero_grad()` sets their `.grad` to `None` and
# `loss.backward()` writes it again. The drawing keeps the first and the last iteration and
# folds the eight between into one box (click it in the explorer to see what it holds); the
# timeline under the graph lists `model.weight.grad` after every reset and backward.

# %% tags=["nbval-ignore-output"]
# %%autograd --out steps
for ii in range(10):
    loss = train_step()

# %%
print(len(steps.graph.runs), "backward runs;",
      [s.title for s in steps.drawing().summaries])
events = steps.graph.grad_history[steps.graph.tensor("model.weight").id]
print([e.kind for e in events[:4]], "...", len(events), "events")

# %% [markdown]
# ## A LeNet on handwritten digits
#
# LeNet is the convolutional network of the tutorial: two convolution + ReLU + max-pool stages
# that turn a 32×32 image into 16 feature maps of 5×5, then three fully connected layers down
# to 10 class scores. The only change from the tutorial is one input channel (grey digits)
# instead of three (colour images).

# %%
class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        # convolutions: input channels, output channels, kernel size
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # fully connected layers: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))  # 1×32×32 -> 6×28×28 -> 6×14×14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)       # -> 16×10×10 -> 16×5×5
        x = x.view(x.size()[0], -1)                      # flatten to 400 numbers
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


gen = av.manual_seed(0)
net = LeNet()
print(net)

# %% [markdown]
# Ten parameter tensors (a weight and a bias per layer), 61,706 numbers in all -- the first
# convolution has only `6·1·5·5 + 6 = 156` of them; the first linear layer `400·120 + 120`.

# %%
params = list(net.parameters())
print(len(params))
for name, parameter in net.named_parameters():
    print(f"{name:<13} {str(tuple(parameter.size())):<16} {parameter.numel():>6}")
print("total", sum(p.numel() for p in params))

# %% [markdown]
# A forward pass on one random image gives 10 scores. `out.backward(av.ones(1, 10))` sends
# gradient 1 into every score, which fills all ten parameters' `.grad` (after `zero_grad()`,
# which with PyTorch's default sets them to `None`).

# %%
input = V(av.randn(1, 1, 32, 32))
out = net(input)
print(out.size())
net.zero_grad()
print(net.conv1.bias.grad)
out.backward(V(av.ones(1, 10)))
print(tuple(net.conv1.bias.grad.shape), all(p.grad is not None for p in net.parameters()))

# %% [markdown]
# With a loss and an optimiser this becomes one training step. The tutorial's target is the
# numbers 0 to 9 and its loss `MSELoss`; after `optimizer.step()` (plain SGD:
# `p ← p − 0.01·p.grad` for every parameter) the same input gives a smaller loss.

# %%
target = V(av.arange(0, 10).float().view(1, 10))
criterion = nn.MSELoss()
optimizer = av.optim.SGD(net.parameters(), lr=0.01)

optimizer.zero_grad()              # as net.zero_grad(): every .grad back to None
loss = criterion(net(input), target)
loss.backward()
optimizer.step()
with av.no_grad():
    after = criterion(net(input), target)
print(f"loss {loss.item():.1f} -> {after.item():.1f} after one step")

# %% [markdown]
# The network's graph for that one image (values hidden with `--no-data`, to keep the nodes
# small). Convolutions are `ConvolutionBackward0`, poolings `MaxPool2DWithIndicesBackward0`,
# the flatten a `ViewBackward0`, and each of the ten parameters has its `AccumulateGrad`:

# %% tags=["nbval-ignore-output"]
# %%autograd --no-data
out = net(input)
out.sum().backward()

# %%
from collections import Counter

print(Counter(backward_nodes(out)))

# %% [markdown]
# ### Training on scikit-learn's digits
#
# scikit-learn ships 1,797 handwritten digits of 8×8 pixels (no download needed). We blow each
# up to 32×32 (every pixel becomes a 4×4 block) so the LeNet above fits unchanged, and
# standardise the pixel values to mean 0 and standard deviation 1 (networks train much faster
# on inputs of that scale). We hold out 20 % to measure accuracy on digits the network never
# saw, and train with `CrossEntropyLoss` (the standard loss for classification: softmax plus
# negative log-likelihood) and the Adam optimiser, in mini-batches of 64.

# %%
from sklearn.datasets import load_digits

digits = load_digits()
images = np.kron(digits.images, np.ones((4, 4)))           # 8×8 -> 32×32
images = ((images - images.mean()) / images.std()).astype(np.float32)
rng = np.random.default_rng(0)
order = rng.permutation(len(images))
n_train = int(0.8 * len(images))
train_idx, test_idx = order[:n_train], order[n_train:]
X = av.from_numpy(images[:, None])                  # (1797, 1, 32, 32)
Y = av.from_numpy(digits.target.astype(np.int64))
print(tuple(X.shape), "train", len(train_idx), "test", len(test_idx))

# %% [markdown]
# The loop is the one from the least-squares fit: zero, forward, loss, backward, step.
# Evaluation runs under `no_grad` (notebook 02): no graph is needed to count correct answers.
#
# Floating-point sums can differ in their last bits between machines and BLAS libraries, and
# training amplifies such differences a little, so this cell's printed losses are not
# compared by the tests; the checked cell after it states what must hold everywhere.

# %% tags=["nbval-ignore-output"]
gen = av.manual_seed(0)
net = LeNet()
criterion = nn.CrossEntropyLoss()
optimizer = av.optim.Adam(net.parameters(), lr=3e-3)


def accuracy(idx):
    with av.no_grad():
        predicted = net(X[idx]).argmax(dim=1)
    return (predicted == Y[idx]).float().mean().item()


epoch_losses = []
for epoch in range(3):
    perm = rng.permutation(train_idx)
    batch_losses = []
    for start in range(0, len(perm), 64):
        batch = perm[start:start + 64]
        optimizer.zero_grad()
        loss = criterion(net(X[batch]), Y[batch])
        loss.backward()
        optimizer.step()
        batch_losses.append(loss.item())
        if epoch == 0 and start == 0:
            first_loss = loss.item()
    epoch_losses.append(float(np.mean(batch_losses)))
    print(f"epoch {epoch + 1}: mean training loss {epoch_losses[-1]:.3f}")

test_accuracy = accuracy(test_idx)
print(f"held-out accuracy: {test_accuracy:.1%}")

# %% [markdown]
# The loss starts near `ln 10 ≈ 2.30` (before training, ten classes are about equally likely)
# and falls epoch after epoch. Three short epochs already classify well over 90 % of the
# held-out digits correctly (more epochs get to about 98 %):

# %%
print(f"first batch loss: {first_loss:.1f}  (ln 10 = {np.log(10):.1f})")
print("loss fell every epoch:", all(a > b for a, b in zip(epoch_losses, epoch_losses[1:])))
print("held-out accuracy above 90%:", test_accuracy > 0.90)

# %% [markdown]
# ## Recurrent layers: `RNN` and `RNNCell`
#
# A recurrent layer reads a sequence one step at a time, carrying a hidden state:
# `hₜ = tanh(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh)`. `nn.RNN` runs the whole sequence at once;
# `nn.RNNCell` does one step, and you write the loop. With the same weights they compute the
# same thing, which shows what `RNN` does inside.
#
# Shapes (PyTorch's default, `batch_first=False`): input `(seq_len, batch, features)`, hidden
# state `(num_layers, batch, hidden)`. Below: 3 sentences of 2 words each, every word a
# 4-dimensional vector, a hidden state of size 3.

# %%
gen = av.manual_seed(1000)
input = V(av.randn(2, 3, 4))
rnn = nn.RNN(4, 3, 1)
h0 = V(av.randn(1, 3, 3))
output, hn = rnn(input, h0)
print(tuple(output.shape), tuple(hn.shape))   # every step's hidden state; the last one

cell = nn.RNNCell(4, 3)
cell.load_state_dict({k[:-3]: v for k, v in rnn.state_dict().items()})  # weight_ih_l0 -> weight_ih
h = h0[0]
steps = []
for x_t in input:            # loop over the 2 time steps
    h = cell(x_t, h)
    steps.append(h)
print("same as RNN:", bool(((av.stack(steps) - output).abs() < 1e-6).all()),
      "| last step == hn:", bool(((h - hn[0]).abs() < 1e-6).all()))
