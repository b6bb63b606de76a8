"""python -m minigrad.exercises {list, check NAME [--solution | --file PATH]}

Exit status: 0 when every check passes, 1 when one fails or is not implemented yet,
2 when the exercise or file cannot be found.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .discover import exercises_dir, find_exercise, find_exercises, load_module
from .runner import DEFAULT_TIMEOUT, ERROR, FAIL, PASS, TODO, explain, make_drawer, run_check, _rel, check_functions

MARK = {PASS: "[pass]", TODO: "[TODO]", FAIL: "[FAIL]", ERROR: "[ERR ]"}


def _say(text=""):
    print(text, flush=True)


def cmd_list(args) -> int:
    root = exercises_dir(args.dir)
    exercises = find_exercises(root)
    _say(f"Exercises in {_rel(root)}:")
    for i, ex in enumerate(exercises, 1):
        _say(f"  {i:2d}. {ex.name:32s} {ex.title.split(':')[0]}")
    _say()
    _say("Open tutorials/exercises/NAME.py, fill in the TODOs, then run")
    _say("    python -m minigrad.exercises check NAME")
    return 0


def check_one(ex, args) -> int:
    if args.file:
        target, who = Path(args.file), "your file"
    elif args.solution:
        target, who = ex.solution, "the reference solution"
    else:
        target, who = ex.stub, "your file"
    _say(f"Exercise {ex.name}: {ex.title}")
    _say(f"checking {who} {_rel(target)}")
    _say()
    if not target.exists():
        _say(f"  cannot check: {_rel(target)} does not exist.")
        return 2
    try:
        grading = ex.load_grading()
    except Exception as err:  # a teacher's mistake, still no traceback
        _say(f"  the grading file {_rel(ex.grading)} could not be loaded: {type(err).__name__}: {err}")
        return 2
    checks = check_functions(grading)
    out_dir = None if args.no_picture else Path(args.out)
    draw = make_drawer(out_dir, ex.name + ("_solution" if args.solution else ""))

    try:
        module = load_module(target, f"_mg_exercise_{ex.name}")
    except SyntaxError as err:
        _say(f"  {MARK[ERROR]} your file does not parse: {err.msg} at line {err.lineno}")
        if err.text:
            _say(f"         {err.text.rstrip()}")
        return _summary([ERROR], ex, target, args, loaded=False)
    except BaseException as err:  # noqa: BLE001
        status, lines = explain(err, str(target), str(ex.grading), draw)
        _say(f"  {MARK[status]} your file could not be loaded (it runs top to bottom on import)")
        for line in lines:
            _say(f"         {line}")
        return _summary([status], ex, target, args, loaded=False)

    statuses = []
    timeout = args.timeout or getattr(grading, "TIMEOUT", DEFAULT_TIMEOUT)
    for func in checks:
        outcome = run_check(func, module, str(target), str(ex.grading), draw, timeout)
        statuses.append(outcome.status)
        _say(f"  {MARK[outcome.status]} {outcome.label}")
        for line in outcome.lines:
            for sub in str(line).splitlines():
                _say(f"         {sub}")
    return _summary(statuses, ex, target, args)


def _summary(statuses, ex, target, args, loaded=True) -> int:
    n = len(statuses)
    passed = statuses.count(PASS)
    todo = statuses.count(TODO)
    failed = n - passed - todo
    _say()
    if not loaded:
        _say("Result: the file could not be loaded, so no check ran.")
        if not args.solution:
            again = f" --file {_rel(target)}" if args.file else ""
            _say(f"Fix {_rel(target)}, then run again:\n    python -m minigrad.exercises check {ex.name}{again}")
        return 1
    if n == 0:
        _say(f"the grading file {_rel(ex.grading)} defines no check_* function")
        return 2
    if passed == n:
        _say(f"All {n} checks pass. Well done!")
        return 0
    parts = [f"{passed} of {n} checks pass"]
    if todo:
        parts.append(f"{todo} not implemented yet")
    if failed:
        parts.append(f"{failed} failed")
    _say("Result: " + ", ".join(parts) + ".")
    if not args.solution:
        if todo:
            _say(f"Edit {_rel(target)} (replace each `raise NotImplementedError(\"TODO: ...\")`), "
                 "then run again:")
        else:
            _say(f"Fix {_rel(target)} using the messages above, then run again:")
        again = f" --file {_rel(target)}" if args.file else ""
        _say(f"    python -m minigrad.exercises check {ex.name}{again}")
    return 1


def cmd_check(args) -> int:
    root = exercises_dir(args.dir)
    if args.name == "all":
        if args.file:
            _say("--file needs a single exercise name, not 'all'")
            return 2
        codes = []
        for ex in find_exercises(root):
            codes.append(check_one(ex, args))
            _say("-" * 72)
        return max(codes, default=0)
    ex = find_exercise(root, args.name)
    return check_one(ex, args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minigrad.exercises",
                                     description="Check the minigrad teaching exercises.")
    parser.add_argument("--dir", help="the exercises folder (default: the repo's tutorials/exercises)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the exercises")
    p_list.add_argument("--dir", default=argparse.SUPPRESS)
    p_check = sub.add_parser("check", help="grade an exercise")
    p_check.add_argument("name", help="exercise name (or its number from `list`, or 'all')")
    p_check.add_argument("--dir", default=argparse.SUPPRESS)
    who = p_check.add_mutually_exclusive_group()
    who.add_argument("--solution", action="store_true", help="grade the reference solution instead")
    who.add_argument("--file", help="grade this file instead of tutorials/exercises/NAME.py")
    p_check.add_argument("--out", default="out/exercises",
                         help="where graph pictures of wrong gradients go (default out/exercises)")
    p_check.add_argument("--no-picture", action="store_true", help="do not draw graphs")
    p_check.add_argument("--timeout", type=float, default=None, help="seconds per check (default 30)")
    args = parser.parse_args(argv)
    try:
        return cmd_list(args) if args.command == "list" else cmd_check(args)
    except (FileNotFoundError, LookupError) as err:
        _say(str(err).strip("'\""))
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stderr.close()
        return 1


if __name__ == "__main__":
    sys.exit(main())
