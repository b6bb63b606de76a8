"""Topological sort: the order in which a graph can be run (and, reversed, backpropagated).

Reference solution. See ../topological_sort.py for the statement.
"""


def topological_sort(targets):
    order, visited, emitted = [], set(), set()
    stack = [(t, False) for t in reversed(list(targets))]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            if node not in emitted:
                emitted.add(node)
                order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if inp not in visited:
                stack.append((inp, False))
    return order
