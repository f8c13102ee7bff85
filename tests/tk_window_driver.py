"""Run ``spinecheck annotate`` in a real Tk window and drive it with Tk events, as a person would.

Used by ``tests/test_annotate_real_window.py`` and ``bench/bench_annotate_window.py`` in a child
process with ``DISPLAY`` set (a virtual X server): the real TkAgg backend and its event loop turn
X events into Matplotlib events, which the synthetic-event tests on Agg cannot check.

Usage: ``python tk_window_driver.py PLAN.json -- ANNOTATE-ARGS...``. The plan is a list of steps:
``["click", x, y]`` (full-resolution film pixels; button 1), ``["right", x, y]`` (button 3),
``["key", keysym]``, ``["scroll", x, y, "up" | "down"]``, ``["kill"]`` (SIGKILL this process:
a crash). After the last step the window is left to the plan (a ``q`` step closes it); a plan
that never closes it is closed after its last step so the child cannot hang.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

#: milliseconds between steps: long enough for a refinement to finish and the window to redraw
STEP_MS = 120


def start_xvfb(size: str = "1600x1000x24") -> tuple[subprocess.Popen, str] | None:
    """Start a virtual X server on a free display: ``(process, ":N")``, or None without Xvfb."""
    if shutil.which("Xvfb") is None:
        return None
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        server.kill()
        return None
    return server, f":{number}"


def run_driver(display: str, plan: list, plan_file: Path, *annotate_args: object, cwd: Path | None = None):
    """Run ``spinecheck annotate ANNOTATE_ARGS`` in a real window on *display*, driven by *plan*."""
    plan_file.write_text(json.dumps(plan))
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MPLBACKEND")}
    env["DISPLAY"] = display
    return subprocess.run(
        [sys.executable, str(Path(__file__)), str(plan_file), "--", *map(str, annotate_args)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _drive(fig, plan: list) -> None:
    import matplotlib.pyplot as plt

    widget = fig.canvas.get_tk_widget()
    ax = fig.axes[0]
    steps = iter(plan)
    # what the window showed when it closed, for the caller to check zooming
    fig.canvas.mpl_connect(
        "close_event", lambda _e: print("driver: view y", *map(float, ax.get_ylim()), flush=True)
    )

    def at(x: float, y: float) -> tuple[int, int]:
        fig.canvas.draw()  # the limits may have changed (zoom): transform with the current view
        sx, sy = ax.transData.transform((x, y))
        return int(round(sx)), int(round(widget.winfo_height() - sy))

    def step() -> None:
        s = next(steps, None)
        if s is None:
            if plt.fignum_exists(fig.number):
                plt.close(fig)
            return
        kind = s[0]
        if kind in ("click", "right"):
            x, y = at(s[1], s[2])
            button = 1 if kind == "click" else 3
            widget.event_generate("<Motion>", x=x, y=y)
            widget.event_generate(f"<ButtonPress-{button}>", x=x, y=y)
            widget.event_generate(f"<ButtonRelease-{button}>", x=x, y=y)
        elif kind == "key":
            widget.focus_force()
            widget.event_generate("<KeyPress>", keysym=s[1])
            widget.event_generate("<KeyRelease>", keysym=s[1])
        elif kind == "scroll":
            x, y = at(s[1], s[2])
            widget.event_generate("<Motion>", x=x, y=y)
            widget.event_generate("<Button-4>" if s[3] == "up" else "<Button-5>", x=x, y=y)
        elif kind == "kill":
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        else:
            raise ValueError(f"unknown plan step {s!r}")
        widget.after(STEP_MS, step)

    def start() -> None:  # once the window is on screen at its size; before that, clicks miss
        widget.update_idletasks()
        if widget.winfo_ismapped() and widget.winfo_height() > 100 and widget.winfo_width() > 100:
            widget.after(2 * STEP_MS, step)
        else:
            widget.after(50, start)

    widget.after(50, start)


def main(argv: list[str]) -> int:
    split = argv.index("--")
    with open(argv[split - 1]) as f:
        plan = json.load(f)
    import matplotlib  # here, not at import: pytest imports this file to look for doctests

    matplotlib.use("TkAgg")
    import matplotlib.pyplot as plt
    from spinecheck import cli

    show = plt.show

    def driven_show(*args, **kwargs):
        _drive(plt.gcf(), plan)
        return show(*args, **kwargs)

    plt.show = driven_show
    return cli.main(["annotate", *argv[split + 1 :]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
