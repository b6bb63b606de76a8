"""Running one exercise's checks against a file and reporting them kindly.

Every outcome of a check is turned into a short message; a student never sees a raw
traceback. Outcomes: pass, TODO (a ``NotImplementedError`` somewhere in the chain:
the stub is untouched), FAIL (a ``CheckFailed``/``AssertionError``, a gradient
mismatch, a too-deep recursion, a timeout) and ERROR (any other exception, shown as
its type, message and the line of the student's file it came from).
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import os
import signal
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .grading import GradientMismatch

PASS, TODO, FAIL, ERROR = "pass", "TODO", "FAIL", "ERROR"
DEFAULT_TIMEOUT = 30.0


class CheckTimeout(Exception):
    pass


@dataclass
class Outcome:
    label: str
    status: str
    lines: list = field(default_factory=list)


# ------------------------------------------------------------------ explaining errors

def _chain(err):
    seen = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    return seen


def _student_frame(err, student_file):
    """The innermost traceback frame in the student's file, as 'file:line: code'."""
    target = os.path.realpath(student_file) if student_file else None
    best = None
    for e in _chain(err):
        for fs in traceback.extract_tb(e.__traceback__):
            if target and os.path.realpath(fs.filename) == target:
                best = fs
        if best:
            break
    if best is None:
        return None
    code = (best.line or linecache.getline(best.filename, best.lineno)).strip()
    return f"{_rel(best.filename)}:{best.lineno}: {code}"


def _grading_frame(err, grading_file):
    for fs in reversed(traceback.extract_tb(err.__traceback__)):
        if os.path.realpath(fs.filename) == os.path.realpath(grading_file):
            return f"{_rel(fs.filename)}:{fs.lineno}: {(fs.line or '').strip()}"
    return None


def _rel(path) -> str:
    """The path relative to the current folder when it is below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(Path(path).resolve()) if rel.startswith("..") else rel


def _indent(text, prefix="    ") -> list:
    return [prefix + line for line in str(text).splitlines()]


def explain(err, student_file, grading_file, draw) -> tuple[str, list]:
    """(status, message lines) for an exception raised by a check."""
    chain = _chain(err)
    todo = next((e for e in chain if isinstance(e, NotImplementedError)), None)
    if todo is not None:
        msg = str(todo) or "a function still raises NotImplementedError"
        return TODO, [f"not implemented yet: {msg}"]
    if isinstance(err, GradientMismatch):
        return FAIL, explain_gradient(err, draw)
    if isinstance(err, CheckTimeout):
        return FAIL, [str(err)]
    if any(isinstance(e, RecursionError) for e in chain):
        lines = ["RecursionError: your code recursed too deep (Python allows about 1000 nested calls).",
                 "Walk the graph with an explicit stack (a list you push and pop) instead of recursion."]
        where = _student_frame(err, student_file)
        return FAIL, lines + ([f"in your code at {where}"] if where else [])
    if isinstance(err, AssertionError):
        msg = str(err).strip()
        if not msg:
            where = _grading_frame(err, grading_file)
            msg = f"assertion failed at {where}" if where else "assertion failed"
        return FAIL, msg.splitlines()
    lines = [f"{type(err).__name__}: {err}".splitlines()[0]] + str(err).splitlines()[1:]
    if isinstance(err, AttributeError) and getattr(err, "obj", None) is not None \
            and inspect.ismodule(err.obj):
        lines = [f"your file has no `{err.name}`: keep the names the stub defines"]
    where = _student_frame(err, student_file)
    if where:
        lines.append(f"in your code at {where}")
    return ERROR, lines


def explain_gradient(err: GradientMismatch, draw) -> list:
    lines = [str(err)]
    name = err.input_name or f"input {err.input_index}"
    elem = "(" + ", ".join(str(i) for i in err.element) + ("," if len(err.element) == 1 else "") + ")"
    lines.append(f"worst element {elem} of input {err.input_index} ({name}): "
                 f"analytic {err.analytic:.6g} vs numeric {err.numeric:.6g}")
    for node, res in err.suspects:
        inp = node.inputs[res.input_index].name if res.input_index < len(node.inputs) else res.input_index
        lines.append(f"wrong node: {node.name!r} (op {node.op.name}, created at {_rel_loc(node.location)}): "
                     f"its VJP gives {res.analytic:.6g} where central differences give "
                     f"{res.numeric:.6g} (d/d{inp}{_fmt(res.element)})")
    if err.graph is not None:
        if not err.suspects:
            lines.append("(every op's own VJP checks out at these values; look at how the ops are combined)")
        lines.append(draw(err.graph, err.highlight))
    return lines


def _fmt(idx):
    return "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""


def _rel_loc(location: str) -> str:
    path, _, line = location.rpartition(":")
    return f"{_rel(path)}:{line}" if path else location


# ------------------------------------------------------------------ pictures

def make_drawer(out_dir: Path | None, stem: str):
    """A function (graph, highlight) -> one line saying where the picture went (or why not)."""
    count = [0]

    def draw(graph, highlight):
        if out_dir is None:
            return "(graph picture skipped: --no-picture)"
        count[0] += 1
        path = Path(out_dir) / f"{stem}_{count[0]}"
        try:
            import viz  # lazily: minigrad never needs viz to import
        except Exception as exc:
            return f"(no graph picture: the viz package is not importable here: {exc})"
        try:
            written = _render_with_viz(viz, graph, highlight, path)
        except Exception as exc:
            return f"(no graph picture: viz failed to draw it: {type(exc).__name__}: {exc})"
        if written is None:
            return "(no graph picture: this viz has no render/to_dot function)"
        return f"graph with the wrong nodes highlighted: {_rel(written)}"
    return draw


def _render_with_viz(viz, graph, highlight, path: Path):
    """Draw with viz: the forward and backward pass, the forward nodes whose own VJP is
    wrong marked as gradcheck failures, the gradient nodes their VJP built highlighted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bad = [n for n in highlight if not n.is_gradient]
    grads = [n for n in highlight if n.is_gradient]
    attempts = [dict(show="both", gradcheck_failures=bad, highlight=grads or None,
                     title=("wrong gradient: red dashed = op whose VJP disagrees with central "
                            "differences; amber = the gradient nodes that VJP built")),
                dict(highlight=list(highlight) or None), {}]
    render, to_dot = getattr(viz, "render", None), getattr(viz, "to_dot", None)
    for kwargs in attempts:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            if render is not None:
                target = path.with_suffix(".png")
                result = render(graph, str(target), **kwargs)
                return Path(str(result)) if Path(str(result)).exists() else target
            if to_dot is not None:
                dot = to_dot(graph, **kwargs)
                target = path.with_suffix(".dot")
                target.write_text(str(getattr(dot, "source", dot)), encoding="utf-8")
                return target
            return None
        except TypeError:
            if not kwargs:
                raise
    return None


# ------------------------------------------------------------------ running

@contextlib.contextmanager
def time_limit(seconds):
    if not seconds or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise CheckTimeout(f"this check took longer than {seconds:g} s: an endless loop, or a graph "
                           "walk without a 'seen' set that revisits shared nodes exponentially often?")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_functions(grading_module):
    """The grading file's ``check_*`` functions, in the order they are written."""
    funcs = [f for name, f in vars(grading_module).items()
             if name.startswith("check_") and inspect.isfunction(f)
             and f.__module__ == grading_module.__name__]
    return sorted(funcs, key=lambda f: f.__code__.co_firstlineno)


def label_of(func) -> str:
    doc = inspect.getdoc(func)
    return doc.splitlines()[0] if doc else func.__name__.removeprefix("check_").replace("_", " ")


def run_check(func, module, student_file, grading_file, draw, timeout) -> Outcome:
    label = label_of(func)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with time_limit(getattr(func, "timeout", timeout)):
                func(module)
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - everything becomes a message
            if isinstance(err, SystemExit):
                err = RuntimeError(f"your code called sys.exit({err.code})")
            status, lines = explain(err, student_file, grading_file, draw)
            outcome = Outcome(label, status, lines)
        else:
            outcome = Outcome(label, PASS)
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if numeric and outcome.status != TODO:
        msgs = sorted({str(w.message) for w in numeric})
        outcome.lines.append(f"(NumPy warned {len(numeric)}x: {'; '.join(msgs[:3])})")
    return outcome
