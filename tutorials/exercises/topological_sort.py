"""Topological sort: the order in which a graph can be run (and, reversed, backpropagated).

Exercise 6. Check your work with

    python -m minigrad.exercises check topological_sort

What to implement
-----------------
``topological_sort(targets)``: given a list of nodes, return a list of every node they
depend on (the targets included), each exactly once, such that every node comes
*after* all of its inputs. A node is anything with an ``.inputs`` attribute (a tuple
of nodes); leaves have ``inputs == ()``. minigrad's own nodes work, and so do the small
stand-in objects the checker builds. Do not rely on any other attribute (no ``.id``).

The math
--------
A computation graph is a DAG. A topological order of it is one where each edge
``input -> node`` goes forward. Running nodes in that order means every input is ready
when a node runs; going through it *backwards* is exactly what backpropagation does
(a node's gradient is complete once all its consumers have sent theirs).

Depth-first search gives one: a node is emitted after all of its inputs are
("post-order"). With an explicit stack:

    stack = [(t, False) for t in targets]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done: emit node (if not emitted yet)
        elif node not visited: mark visited, push (node, True), then push (inp, False)
             for each input

Hints
-----
* Iterative, not recursive: the checker sorts a chain of 20,000 nodes, and Python's
  recursion limit is about 1,000.
* Remember what you have visited (a ``set``; nodes are hashable): without it a
  "ladder" of shared nodes is visited 2^depth times.
* A node used by several consumers (fan-out) must appear once.
"""


def topological_sort(targets):
    """Every node ``targets`` depend on, each once, inputs before the nodes that use them."""
    raise NotImplementedError("TODO: topological_sort: iterative DFS post-order with a stack and a visited set")
