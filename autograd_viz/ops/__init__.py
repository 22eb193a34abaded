"""Built-in differentiable ops. Importing this package attaches their Tensor methods."""
from __future__ import annotations

from . import (  # noqa: F401
                       _fastgrad,  # noqa: F401  (array-level backward formulas, after the ops)
                       arith,
                       index,
                       join,
                       linalg,
                       reduce,
                       shape,
                       unary,
)
from .arith import *  # noqa: F401,F403
from .contract import *  # noqa: F401,F403
from .creation import (
                       arange,
                       as_tensor,
                       empty,
                       empty_like,
                       eye,
                       from_numpy,
                       full,
                       full_like,
                       linspace,
                       manual_seed,
                       ones,
                       ones_like,
                       rand,
                       rand_like,
                       randint,
                       randn,
                       randn_like,
                       randperm,
                       scalar_tensor,
                       tensor,
                       zeros,
                       zeros_like,
)
from .index import gather, index_select, masked_fill, masked_select, narrow, nonzero, select
from .join import cat, chunk, split, stack, unbind
from .linalg import bmm, dot, matmul, mm, mv, outer
from .matrix import *  # noqa: F401,F403
from .reduce import (
                       all,
                       amax,
                       amin,
                       any,
                       argmax,
                       argmin,
                       cumsum,
                       log_softmax,
                       logsumexp,
                       max,
                       mean,
                       min,
                       norm,
                       prod,
                       softmax,
                       std,
                       sum,
                       var,
)
from .scatter import *  # noqa: F401,F403
from .shape import (
                       broadcast_to,
                       clone,
                       contiguous,
                       expand,
                       flatten,
                       flip,
                       permute,
                       repeat,
                       reshape,
                       squeeze,
                       t,
                       transpose,
                       unsqueeze,
                       view,
)
from .sorting import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
from .unary import (
                       abs,
                       ceil,
                       clamp,
                       clamp_max,
                       clamp_min,
                       clip,
                       cos,
                       exp,
                       expm1,
                       floor,
                       isfinite,
                       isinf,
                       isnan,
                       log,
                       log1p,
                       log2,
                       log10,
                       logical_not,
                       neg,
                       reciprocal,
                       relu,
                       round,
                       rsqrt,
                       sigmoid,
                       sign,
                       sin,
                       sqrt,
                       square,
                       tan,
                       tanh,
                       trunc,
                       where,
)

concat = concatenate = cat
