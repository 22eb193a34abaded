"""``autograd_viz.nn.utils``: gradient clipping and parameter/vector conversion."""
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert import parameters_to_vector, vector_to_parameters
