"""What every tutorial shares: the command line, narration, pauses and the pictures folder.

    python tutorials/NN_topic.py [--out DIR] [--interactive] [--fast]

    --out DIR        where pictures go (default out/NN_topic/)
    --interactive    stop after each step until you press Enter
    --fast           smaller problems, for CI (each tutorial then runs in under a minute)

In a notebook (jupytext) the command line is ignored and the defaults are used.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time

os.environ.setdefault("MPLBACKEND", "Agg")          # pictures go to files; no display needed
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:                           # run from a checkout without installing
    sys.path.insert(0, _ROOT)
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(_ROOT, ".numba_cache"))

_state = {"interactive": False, "written": [], "start": time.perf_counter(), "out": "."}


def setup(script_file: str, title: str):
    """Parse the command line, create the pictures folder, print the title. Returns args."""
    name = os.path.splitext(os.path.basename(script_file))[0]
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--out", default=os.path.join("out", name), help="folder for the pictures")
    parser.add_argument("--interactive", action="store_true", help="pause after each step")
    parser.add_argument("--fast", action="store_true", help="smaller problems (for CI)")
    args, _unknown = parser.parse_known_args()      # a notebook kernel passes its own flags
    os.makedirs(args.out, exist_ok=True)
    _state.update(interactive=args.interactive, out=args.out, written=[], start=time.perf_counter())
    print("=" * 78 + f"\n{title}" + (" (fast mode)" if args.fast else "") + "\n" + "=" * 78)
    return args


def say(text: str = "") -> None:
    """Print a paragraph of the lesson (indentation removed, wrapped at 78 columns)."""
    for para in textwrap.dedent(text).strip("\n").split("\n\n"):
        if para.startswith(("  ", "|")) or "\n  " in para:   # code or a table: keep as is
            print(para)
        else:
            print(textwrap.fill(" ".join(para.split()), 78))
        print()


def show(label: str, value, precision: int = 3) -> None:
    """Print ``label`` and an array (or number), the array indented under it."""
    import numpy as np
    a = np.asarray(value)
    if a.ndim < 2:
        text = f"{a.item():.{precision + 1}g}" if a.size == 1 else np.array2string(a, precision=precision)
        print(f"  {label} {text}")
    else:
        print(f"  {label}\n" + "    " + np.array2string(a, precision=precision, prefix="    "))


def step(title: str) -> None:
    """Start a new step of the lesson (pausing first when --interactive)."""
    pause()
    print(f"--- {title} " + "-" * max(0, 73 - len(title)) + "\n")


def pause() -> None:
    if _state["interactive"] and sys.stdin.isatty():
        input("[press Enter to continue] ")
        print()


def path(filename: str) -> str:
    """Where to write ``filename`` in the pictures folder."""
    return os.path.join(_state["out"], filename)


def saved(p: str, what: str = "") -> str:
    """Record a written picture (listed again at the end) and tell the reader."""
    p = str(p)
    _state["written"].append(p)
    print(f"  [picture] {p}" + (f"  ({what})" if what else ""))
    return p


def savefig(fig, filename: str, what: str = "", dpi: int = 110) -> str:
    """Save a matplotlib figure into the pictures folder and close it."""
    import matplotlib.pyplot as plt
    p = path(filename)
    fig.savefig(p, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return saved(p, what)


def finish() -> None:
    """Print where the pictures are and how long the lesson took."""
    seconds = time.perf_counter() - _state["start"]
    print("=" * 78)
    print(f"Done in {seconds:.1f} s. Pictures written to {os.path.abspath(_state['out'])}/:")
    for p in _state["written"]:
        print(f"  {os.path.relpath(p, _state['out'])}")
