"""The errors minigrad raises.

Each class subclasses the builtin a Python programmer would expect (a shape problem
is a ``ValueError``, a dtype problem a ``TypeError``), so ``except ValueError`` in
user code keeps working. Messages name the op, the shapes involved and the line of
*the user's* code that created the offending node, never a line inside minigrad.
"""


class MinigradError(Exception):
    """Base class of every error minigrad raises on purpose."""


class ShapeError(MinigradError, ValueError):
    """Operand shapes do not fit the op (found when the op is recorded)."""


class DTypeError(MinigradError, TypeError):
    """An operand has a dtype the op cannot take (e.g. the gradient of an integer)."""


class FeedError(MinigradError, ValueError):
    """The ``feed`` given to ``Graph.run`` is missing a placeholder or does not match it."""


class NumericsError(MinigradError, FloatingPointError):
    """A node produced NaN or Inf while running with ``check_numerics=True``."""


class GraphError(MinigradError, RuntimeError):
    """The graph is used wrongly: no graph active, tensors from two graphs, a cycle."""


class GradcheckError(MinigradError, AssertionError):
    """Analytic and numeric gradients disagree (raised by ``mg.testing.gradcheck``)."""


class OpError(MinigradError, ValueError):
    """An op failed while the graph ran (e.g. a label out of range); names the node."""
