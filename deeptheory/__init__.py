"""deeptheory: the reference library of a graduate seminar on the theory of deep learning.

Neural tangent kernels (empirical and analytic), lazy vs feature training, teacher-student
learning curves and saddle-to-saddle dynamics, written as pure functions over batch-first
tensors that follow their inputs' dtype and device. Conventions are stated in each module's
docstring; ``docs/notation.md`` lists the symbols.
"""

from deeptheory import _integrity
from deeptheory.activations import ACTIVATIONS, KERNEL_ACTIVATIONS
from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet, Model, Params, functionalize
from deeptheory.ntk import empirical_ntk

__version__ = "0.1.0"

# Record the comparison helpers before any (student) code can replace them.
_integrity.take_snapshot()

__all__ = [
    "ACTIVATIONS",
    "KERNEL_ACTIVATIONS",
    "FCNet",
    "Model",
    "Params",
    "__version__",
    "empirical_ntk",
    "fc_kernels",
    "functionalize",
]
