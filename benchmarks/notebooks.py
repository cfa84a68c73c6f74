"""Time every solution notebook top to bottom in a fresh kernel, against the course's speed budget.

    python -m benchmarks.notebooks [--topics 01_tensors 02_forward_pass] [--out artifacts/bench] [--check]
                                   [--starts makefile plain threads=2]

For each notebook in solutions/ (or the topics given) it measures
  kernel   starting a fresh python3 kernel until it answers,
  imports  the first code cell (imports, seeding, device choice),
  rest     every other cell,
  total    wall time from asking for a kernel to the last cell's reply,
prints a table, the three slowest cells of each notebook and the cells that run for more than about
two seconds without a progress bar, and writes bench.json, bench.md (Markdown table) and bench.png
(stacked bars) to --out.
Budget (2 cores): every notebook at most 60 s, the median at most 6 s. Exit status 1 when a notebook fails to
execute, and with --check also when the budget is exceeded.

--starts times each notebook as it is started in different ways: `makefile` (as `make lab` starts
JupyterLab: OMP_NUM_THREADS=1), `plain` (an activated venv, conda or JupyterHub: no thread variable
at all; the notebooks' setup_notebook picks the thread count itself) and `threads=N` (COURSE_THREADS=N:
the notebooks use N torch threads). The table shows the total of each.

The notebooks are not modified: they run from a copy in memory, with their own folder as cwd.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coursekit.paths import ROOT, check_topics, solution_notebook

MAX_S = 60.0      # every notebook
MEDIAN_S = 6.0    # the median notebook
SLOW_CELL_S = 2.0  # a loop this slow should show a progress bar
LOOP = re.compile(r"^\s*(for|while)\b|\bfit\s*\(|\btrain\w*\s*\(", re.M)
BORING = re.compile(r"^\s*(#|set_seed\(|from\s|import\s)")


@dataclass
class CellTime:
    index: int
    seconds: float
    first_line: str
    progress_bar: bool  # the cell's output shows a tqdm bar
    loop: bool = False  # the cell's source has a loop or calls a training function


@dataclass
class Result:
    topic: str
    kernel_s: float = 0.0
    imports_s: float = 0.0
    rest_s: float = 0.0
    total_s: float = 0.0
    error: str | None = None
    cells: list[CellTime] = field(default_factory=list)

    def top(self, n: int = 3) -> list[CellTime]:
        return sorted(self.cells, key=lambda c: -c.seconds)[:n]

    def slow_without_bar(self) -> list[CellTime]:
        return [c for c in self.cells[1:] if c.seconds > SLOW_CELL_S and c.loop and not c.progress_bar]


def _has_progress_bar(cell) -> bool:
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        text = out.get("text", "") + str(data.get("text/plain", ""))
        if "application/vnd.jupyter.widget-view+json" in data and ("%" in text or "it/s" in text or "s/it" in text):
            return True
        if out.get("name") == "stderr" and "%|" in text:
            return True
    return False


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "COURSE_THREADS")


def start_env(start: str) -> dict:
    """The kernel's environment for one way of starting the notebooks (see --starts)."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    if start == "makefile":
        env["OMP_NUM_THREADS"] = "1"
    elif start.startswith("threads="):
        env["COURSE_THREADS"] = start.split("=", 1)[1]
    elif start != "plain":
        raise SystemExit(f"unknown --starts value {start!r}: use makefile, plain or threads=N")
    return env


def run_notebook(path: Path, timeout: int = 600, env: dict | None = None) -> Result:
    """Execute one notebook in a fresh kernel, timing the kernel start and every code cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    result = Result(path.stem)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.reset_execution_trackers()
    start = time.perf_counter()
    with client.setup_kernel(**({"env": env} if env is not None else {})):
        client.wait_for_reply(client.kc.kernel_info())
        result.kernel_s = time.perf_counter() - start
        first = True
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            t0 = time.perf_counter()
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellExecutionError as exc:
                result.error = f"cell {index}: {str(exc).strip().splitlines()[-1][:200]}"
            except Exception as exc:  # a cell timeout or a dead kernel
                result.error = f"cell {index}: {type(exc).__name__}: {exc}"[:200]
            seconds = time.perf_counter() - t0
            lines = [l for l in cell.source.splitlines() if l.strip()]
            line = next((l for l in lines if first or not BORING.match(l)), lines[0] if lines else "").strip()[:60]
            result.cells.append(CellTime(index, seconds, line, _has_progress_bar(cell), bool(LOOP.search(cell.source))))
            if first:
                result.imports_s, first = seconds, False
            else:
                result.rest_s += seconds
            if result.error:
                break
        result.total_s = time.perf_counter() - start  # kernel shutdown is not the notebook's time
    return result


def table(results: list[Result]) -> str:
    lines = [f"{'notebook':<28}{'kernel':>8}{'imports':>9}{'rest':>8}{'total':>8}  status",
             "-" * 72]
    for r in results:
        status = f"ERROR {r.error}" if r.error else ("OVER 60 s" if r.total_s > MAX_S else "ok")
        lines.append(f"{r.topic:<28}{r.kernel_s:>8.1f}{r.imports_s:>9.1f}{r.rest_s:>8.1f}{r.total_s:>8.1f}  {status}")
    if results:
        totals = [r.total_s for r in results]
        lines.append("-" * 72)
        lines.append(f"{'median':<28}{'':>25}{statistics.median(totals):>8.1f}  (budget {MEDIAN_S:.0f} s)")
        lines.append(f"{'sum':<28}{'':>25}{sum(totals):>8.1f}")
    return "\n".join(lines)


def markdown(results: list[Result]) -> str:
    """The table as Markdown, for the README's performance section."""
    rows = ["| notebook | kernel start (s) | imports (s) | rest (s) | total (s) |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {r.topic} | {r.kernel_s:.1f} | {r.imports_s:.1f} | {r.rest_s:.1f} | {r.total_s:.1f} |" for r in results]
    if results:
        rows.append(f"| median | | | | {statistics.median(r.total_s for r in results):.1f} |")
    return "\n".join(rows) + "\n"


def starts_table(by_start: dict[str, list[Result]]) -> str:
    """Markdown: one row per notebook, one total column per way of starting it."""
    starts = list(by_start)
    rows = ["| notebook | " + " | ".join(f"{s} (s)" for s in starts) + " |", "|---|" + "---:|" * len(starts)]
    for i, r in enumerate(by_start[starts[0]]):
        rows.append(f"| {r.topic} | " + " | ".join(f"{by_start[s][i].total_s:.1f}" for s in starts) + " |")
    rows.append("| median | " + " | ".join(f"{statistics.median(x.total_s for x in by_start[s]):.1f}" for s in starts) + " |")
    return "\n".join(rows) + "\n"


def verdict(results: list[Result]) -> list[str]:
    """The budget violations, as sentences (empty when within budget)."""
    problems = [f"{r.topic} takes {r.total_s:.1f} s (budget {MAX_S:.0f} s)" for r in results if r.total_s > MAX_S]
    if results and statistics.median(r.total_s for r in results) > MEDIAN_S:
        problems.append(f"the median is {statistics.median(r.total_s for r in results):.1f} s (budget {MEDIAN_S:.0f} s)")
    problems += [f"{r.topic} failed: {r.error}" for r in results if r.error]
    return problems


def chart(results: list[Result], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.topic for r in results][::-1]
    parts = [("kernel start", [r.kernel_s for r in results][::-1], "#9e9e9e"),
             ("imports (first cell)", [r.imports_s for r in results][::-1], "#4c72b0"),
             ("rest of the notebook", [r.rest_s for r in results][::-1], "#dd8452")]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(results) + 2.4))
    left = [0.0] * len(results)
    for label, values, color in parts:
        ax.barh(names, values, left=left, label=label, color=color)
        left = [a + b for a, b in zip(left, values)]
    for r_total, y in zip(left, range(len(names))):
        ax.text(r_total + 0.3, y, f"{r_total:.1f} s", va="center", fontsize=8)
    ax.axvline(MEDIAN_S, color="green", ls="--", lw=1, label=f"target {MEDIAN_S:.0f} s (median)")
    ax.axvline(MAX_S, color="red", ls="--", lw=1, label=f"limit {MAX_S:.0f} s")
    ax.set_xlabel("seconds, fresh kernel, top to bottom")
    ax.set_title(f"Notebook execution time ({platform.node()}, {_cpu_count()} CPUs)")
    ax.set_xlim(0, max(MAX_S, max(left, default=0)) * 1.1)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / (len(results) + 2)), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _cpu_count() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _device() -> str:
    try:
        import torch
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except Exception:  # torch missing or broken: the notebooks will say so themselves
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topics", nargs="*", help="topic folders in solutions/ (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench", help="folder for bench.json and bench.png")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    parser.add_argument("--check", action="store_true", help="exit 1 when the budget is exceeded")
    parser.add_argument("--starts", nargs="+", default=["makefile"],
                        help="ways of starting the notebooks to time: makefile, plain, threads=N (default: makefile)")
    args = parser.parse_args(argv)

    names = check_topics(args.topics or [])
    if not names:
        print("no notebooks in solutions/")
        return 0

    by_start: dict[str, list[Result]] = {}
    for start in args.starts:
        env = start_env(start)
        for topic in names:
            print(f"running {topic} ({start}) ...", flush=True)
            try:
                by_start.setdefault(start, []).append(run_notebook(solution_notebook(topic), timeout=args.timeout, env=env))
            except Exception as exc:  # the kernel did not start, the file is not a notebook ...
                by_start.setdefault(start, []).append(Result(topic, error=f"{type(exc).__name__}: {exc}"[:200]))
    results = by_start[args.starts[0]]
    if len(by_start) > 1:
        print("\ntotal seconds by way of starting:")
        print(starts_table(by_start))

    print()
    print(table(results))
    print("\nslowest cells (seconds, cell index, first line):")
    for r in results:
        print(f"  {r.topic}: " + "; ".join(f"{c.seconds:.1f} s [{c.index}] {c.first_line!r}" for c in r.top()))
    slow = [(r.topic, c) for r in results for c in r.slow_without_bar()]
    if slow:
        print(f"\ncells over {SLOW_CELL_S:.0f} s without a progress bar (add tqdm.auto and tag nbval-ignore-output):")
        for topic, c in slow:
            print(f"  {topic} [{c.index}] {c.seconds:.1f} s {c.first_line!r}")
    problems = [p for start in by_start for p in verdict(by_start[start])]
    print("\nbudget: " + ("; ".join(problems) if problems else
                          f"ok (every notebook <= {MAX_S:.0f} s, median <= {MEDIAN_S:.0f} s)"))

    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"node": platform.node(), "cpus": _cpu_count(), "device": _device(),
                    "python": platform.python_version(), "when": time.strftime("%Y-%m-%d %H:%M:%S")},
        "budget": {"max_s": MAX_S, "median_s": MEDIAN_S},
        "median_s": statistics.median(r.total_s for r in results),
        "problems": problems,
        "notebooks": [asdict(r) for r in results],
        "starts": {start: [asdict(r) for r in rs] for start, rs in by_start.items()},
    }
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench.md").write_text(markdown(results) + ("\n" + starts_table(by_start) if len(by_start) > 1 else ""))
    chart(results, args.out / "bench.png")
    print(f"\nwrote bench.json, bench.md and bench.png to {args.out}")

    if any(r.error for rs in by_start.values() for r in rs):
        return 1
    return 1 if (args.check and problems) else 0


if __name__ == "__main__":
    sys.exit(main())
