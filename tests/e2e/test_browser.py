"""The student's seat: the course driven in a real JupyterLab in headless Chromium.

A JupyterLab server is started from this environment on a loopback port with a throw-away token,
its root a temporary copy of the course (nothing in the repository is modified), and Debian's
Chromium is driven through Playwright for Python (no browser is downloaded; `make test` runs
`make test-deps` first, which installs Chromium with apt when it is missing). For each topic the test

* opens the student notebook from the file browser and runs all cells (Run > Run All Cells),
* checks that the cells before the first exercise ran cleanly and that the first exercise fails
  with NotImplementedError,
* types a correct answer into the solution cell, re-runs it and its tests, and sees them pass,
* presses nbgrader's Validate button and reads the verdict,

and it opens a solution notebook, runs it, and checks that every plot cell shows an image and no
cell shows an error. Screenshots go to artifacts/browser/.

Run it alone with `.venv/bin/python -m pytest tests/e2e/test_browser.py -m browser -q`.
Set BROWSER_TOPICS=00_demo to run it against a small built-in nbgrader notebook instead.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.nbgrader_run import generate_assignment
from coursekit.notebook import exercises, fill_stubs, grade_id, is_answer_cell, new_answer_cell, new_test_cell
from coursekit.paths import ROOT

ARTIFACTS = ROOT / "artifacts" / "browser"
DEMO = "00_demo"
TOPICS = [t for t in os.environ.get("BROWSER_TOPICS", "01_tensors,02_forward_pass").split(",") if t]
# Solution notebooks run in the browser: one with plots and one with widgets keeps the test within ~3 minutes.
SOLUTION_TOPICS = [t for t in os.environ.get(
    "BROWSER_SOLUTION_TOPICS", "02_forward_pass,04_autograd_backprop" if DEMO not in TOPICS else DEMO).split(",") if t]

SERVER_START_S = 90       # JupyterLab start-up on a loaded 2-core machine
KERNEL_START_S = 90       # a kernel reaching "idle" after the notebook opens
RUN_S = 180               # one notebook's Run All (the budget is 60 s; leave room on a busy machine)
VALIDATE_S = 240          # Validate re-executes the whole notebook in a fresh kernel

# JupyterLab user settings for the run: no news pop-up, every cell attached to the DOM (the default
# windowing detaches off-screen cells), and no automatic bracket closing while the test types.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none", "codeCellConfig": {"autoClosingBrackets": False, "lineWrap": False}},
    "@jupyterlab/codemirror-extension/plugin.jupyterlab-settings":
        {"defaultConfig": {"autoClosingBrackets": False}},
}

pytestmark = pytest.mark.browser


# --------------------------------------------------------------------------------------------
# The course copy, the server and the browser
# --------------------------------------------------------------------------------------------

def _demo_topic(course: Path) -> None:
    """A small nbgrader topic (two exercises and a plot) for developing the test without the course."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Demo topic"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n\nvalues = [1, 2, 3]\nprint(sum(values))"),
        new_answer_cell('def square(x):\n    """Return x squared."""\n    ### BEGIN SOLUTION\n    if x < 0:\n'
                        '        x = -x\n    return x * x\n    ### END SOLUTION', "ex1_square"),
        new_test_cell("assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n### END HIDDEN TESTS",
                      "ex1_square_tests", 1),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(3, 2))\nax.plot(values, [v * v for v in values]);"),
        new_answer_cell('def cube(x):\n    """Return x cubed."""\n    ### BEGIN SOLUTION\n    return x ** 3\n'
                        '    ### END SOLUTION', "ex2_cube"),
        new_test_cell("assert cube(2) == 8", "ex2_cube_tests", 1),
    ]
    path = course / "solutions" / DEMO / f"{DEMO}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    generate_assignment(DEMO, course, db_url=f"sqlite:///{course / 'demo-gradebook.db'}")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A throw-away copy of the course: notebooks/, solutions/ and nbgrader_config.py."""
    course = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for folder in ("notebooks", "solutions"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, course / folder, ignore=ignore)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    if DEMO in TOPICS:
        _demo_topic(course)
    return course


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory, start_lab):
    return start_lab(course, tmp_path_factory.mktemp("jupyter-home"), settings=LAB_SETTINGS,
                     start_s=SERVER_START_S)


@pytest.fixture
def page(browser, lab, request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.set_default_timeout(30_000)
    failures_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failures_before:  # the call phase is reported before teardown
            try:
                page.screenshot(path=str(ARTIFACTS / f"FAILED_{_slug(request.node.name)}.png"))
            except Exception:
                pass
            print(f"--- JupyterLab log (tail) ---\n{lab.log()}")  # shown by pytest with the failure
        context.close()
        lab.shutdown_kernels()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


# --------------------------------------------------------------------------------------------
# Driving JupyterLab
# --------------------------------------------------------------------------------------------

def open_lab(page, lab) -> None:
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.locator(".jp-DirListing-content").wait_for(timeout=SERVER_START_S * 1000)


def _exact(text: str):
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def double_click_item(page, name: str) -> None:
    item = page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=_exact(name)))
    item.dblclick()


def open_notebook(page, *parts: str, n_cells: int) -> None:
    """Double-click through the file browser from its home folder, then wait for the cells and the kernel."""
    page.locator(".jp-BreadCrumbs-home").click()
    for name in parts:
        double_click_item(page, name)
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length === n",
        arg=n_cells, timeout=KERNEL_START_S * 1000)
    wait_kernel_idle(page)


def wait_kernel_idle(page, timeout_s: float = KERNEL_START_S) -> None:
    """The status bar reads '<kernel name> | Idle' (it reads 'No Kernel | ...' while the session starts)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e =>"
        " /\\|\\s*Idle\\s*$/.test(e.textContent) && !/^\\s*No Kernel/.test(e.textContent))",
        timeout=timeout_s * 1000)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=_exact(top)).click()
    page.locator(".lm-Menu-itemLabel", has_text=_exact(item)).click()


CELLS_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => {
    const prompt = c.querySelector('.jp-InputArea-prompt');
    const outputs = [...c.querySelectorAll('.jp-OutputArea-output')].map(o => ({
      mime: o.getAttribute('data-mime-type') || '',
      text: (o.innerText || '').slice(0, 4000),
    }));
    return {
      code: c.classList.contains('jp-CodeCell'),
      prompt: prompt ? prompt.innerText.trim() : '',
      outputs: outputs,
      images: c.querySelectorAll('.jp-OutputArea-output img').length,
      widgets: c.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    };
  });
  return {status: status ? status.getAttribute('data-status') : null, cells: cells};
}
"""

WIDGET_CALL = re.compile(r"^(display\()?\s*explore_\w+\(", re.M)  # a cell that shows a utils.interactive widget
ERROR_RE = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b.*$", re.M)


def cell_states(page) -> dict:
    return page.evaluate(CELLS_JS)


def execution_count(cell: dict) -> int | None:
    match = re.fullmatch(r"\[(\d+)\]:", cell["prompt"])
    return int(match.group(1)) if match else None


def error_text(cell: dict) -> str | None:
    """The text of an error (traceback) output of a cell, or None."""
    for out in cell["outputs"]:
        if "stderr" in out["mime"] and ERROR_RE.search(out["text"]):
            return out["text"]
    return None


def wait_executed(page, indices: list[int], timeout_s: float = RUN_S, after: dict | None = None) -> dict:
    """Wait until the kernel is idle, nothing is queued ([*]) and the given cells have execution counts.

    With `after` (an earlier cell_states), those cells must also have counts above the ones they had.
    The state must hold for two polls in a row: the status flickers to idle between queued cells.
    """
    deadline = time.monotonic() + timeout_s
    stable = 0
    while time.monotonic() < deadline:
        state = cell_states(page)
        cells = state["cells"]
        done = (state["status"] == "idle"
                and not any("*" in c["prompt"] for c in cells if c["code"])
                and all(execution_count(cells[i]) is not None for i in indices))
        if done and after is not None:
            done = all(execution_count(cells[i]) > (execution_count(after["cells"][i]) or 0) for i in indices)
        stable = stable + 1 if done else 0
        if stable >= 2:
            return state
        page.wait_for_timeout(500)
    raise AssertionError(f"cells {indices} did not finish executing within {timeout_s} s; "
                         f"prompts: {[c['prompt'] for c in cell_states(page)['cells'] if c['code']]}")


def cell_locator(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def shot(page, name: str, cell_index: int | None = None) -> Path:
    if cell_index is not None:
        cell_locator(page, cell_index).scroll_into_view_if_needed()
    path = ARTIFACTS / f"{_slug(name)}.png"
    page.screenshot(path=str(path))
    return path


def editor_text(page, index: int) -> str:
    lines = cell_locator(page, index).locator(".cm-content .cm-line").all_inner_texts()
    # an empty line is rendered as <br>, whose innerText is "\n"
    return "\n".join(line.replace("\u200b", "").rstrip("\n") for line in lines)


def type_into_cell(page, index: int, source: str) -> None:
    """Replace a cell's text by typing it, line by line, into its CodeMirror editor.

    CodeMirror indents each new line itself; the indentation it inserts is selected (Shift+Home) and
    typed over, so the result is `source` (up to trailing spaces).
    """
    editor = cell_locator(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    for n, line in enumerate(source.split("\n")):
        if n:
            page.keyboard.press("Enter")  # an empty line keeps CodeMirror's indentation; the next Enter drops it
        if line:
            if n:
                page.keyboard.press("Shift+Home")
            page.keyboard.type(line)
    typed = editor_text(page, index)
    norm = lambda text: "\n".join(l.rstrip() for l in text.strip().split("\n"))  # noqa: E731
    assert norm(typed) == norm(source), f"typing went wrong; the editor holds:\n{typed}\n--- expected:\n{source}"


def answer_source(student_source: str, solution_nb, grade_id_: str) -> str:
    """The student's cell with its stub replaced by the solution notebook's code for grade_id_."""
    cell = next((c for c in solution_nb.cells if is_answer_cell(c) and grade_id(c) == grade_id_), None)
    if cell is None:
        raise LookupError(f"no solution cell {grade_id_} in the solution notebook")
    return fill_stubs(student_source, cell.source)


def _need_topic(course: Path, topic: str) -> tuple[Path, Path]:
    student = course / "notebooks" / topic / f"{topic}.ipynb"
    solution = course / "solutions" / topic / f"{topic}.ipynb"
    if not solution.exists():
        pytest.skip(f"{topic} is not in solutions/ yet")
    if not student.exists():
        pytest.fail(f"{topic} has no student version; run `make assignments TOPICS={topic}`")
    return student, solution


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", TOPICS)
def test_student_solves_first_exercise(page, lab, course, topic):
    student_path, solution_path = _need_topic(course, topic)
    student_nb = nbformat.read(student_path, as_version=4)
    found = exercises(student_nb)
    assert found, f"{topic}: the student notebook has no exercise"
    first = found[0]
    checked = list(range(first.solution_index))  # the cells before the first exercise
    code_before = [i for i in checked if student_nb.cells[i].cell_type == "code" and student_nb.cells[i].source.strip()]

    open_lab(page, lab)
    open_notebook(page, "notebooks", topic, f"{topic}.ipynb", n_cells=len(student_nb.cells))
    shot(page, f"{topic}_1_opened")

    # Run > Run All Cells: execution stops at the first error, the unsolved first exercise.
    menu(page, "Run", "Run All Cells")
    state = wait_executed(page, code_before + [first.solution_index])
    cells = state["cells"]
    for i in code_before:
        assert error_text(cells[i]) is None, f"{topic}: cell {i} before the first exercise failed:\n{error_text(cells[i])}"
    failing = [i for i in [first.solution_index, *first.test_indices] if error_text(cells[i])]
    assert failing, f"{topic}: the unsolved exercise {first.grade_id} did not fail"
    assert "NotImplementedError" in error_text(cells[failing[0]]), error_text(cells[failing[0]])
    assert first.test_indices, f"{topic}: exercise {first.grade_id} has no test cell"
    shot(page, f"{topic}_2_not_implemented", failing[0])

    # Type a correct answer, run it and its tests.
    answer = answer_source(student_nb.cells[first.solution_index].source,
                           nbformat.read(solution_path, as_version=4), first.grade_id)
    type_into_cell(page, first.solution_index, answer)
    before = cell_states(page)
    page.keyboard.press("Shift+Enter")  # runs the solution cell and moves to the first test cell
    for _ in first.test_indices:
        page.keyboard.press("Shift+Enter")
    state = wait_executed(page, [first.solution_index, *first.test_indices], after=before)
    for i in [first.solution_index, *first.test_indices]:
        assert error_text(state["cells"][i]) is None, \
            f"{topic}: cell {i} fails after typing the solution:\n{error_text(state['cells'][i])}"
    shot(page, f"{topic}_3_solved", first.test_indices[-1])

    # nbgrader's Validate: saves, re-executes the notebook in a fresh kernel, reports in a dialog.
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar").get_by_text("Validate", exact=True).click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=VALIDATE_S * 1000)
    verdict = message.evaluate("""m => ({
        classes: [...m.classList],
        text: m.innerText,
        failed: [...m.querySelectorAll(':scope > .jp-RenderedText pre')].map(p => p.innerText),
    })""")
    shot(page, f"{topic}_4_validate")
    page.locator(".jp-Dialog .jp-mod-accept").click()

    failed_sources = [s.strip() for s in verdict["failed"][0::2]]
    failed_errors = verdict["failed"][1::2]
    solved_tests = [student_nb.cells[i].source.strip() for i in first.test_indices]
    if len(found) == 1:
        assert "validation-success" in verdict["classes"], verdict["text"]
    else:
        # The other exercises are still stubs: Validate must say so, and only about them.
        assert "validation-failed" in verdict["classes"], verdict["text"]
        assert failed_sources, verdict["text"]
        for source in solved_tests:
            assert source not in failed_sources, f"{topic}: Validate says the solved exercise fails:\n{verdict['text']}"
        assert any("NotImplementedError" in e for e in failed_errors), verdict["text"]
        second = found[1]
        unsolved = {student_nb.cells[i].source.strip() for i in [second.solution_index, *second.test_indices]}
        assert unsolved & set(failed_sources), f"{topic}: Validate does not report {second.grade_id}:\n{verdict['text']}"


@pytest.mark.parametrize("topic", SOLUTION_TOPICS)
def test_solution_notebook_renders(page, lab, course, topic):
    _, solution_path = _need_topic(course, topic)
    nb = nbformat.read(solution_path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    plots = [i for i in code if any("image/png" in o.get("data", {}) for o in nb.cells[i].outputs)]
    widgets = [i for i in code if WIDGET_CALL.search(nb.cells[i].source)]

    open_lab(page, lab)
    open_notebook(page, "solutions", topic, f"{topic}.ipynb", n_cells=len(nb.cells))
    menu(page, "Edit", "Clear Outputs of All Cells")  # so that what is checked below is freshly made
    page.wait_for_function(
        "() => !document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')")
    menu(page, "Run", "Run All Cells")
    state = wait_executed(page, code)
    cells = state["cells"]

    errors = {i: error_text(cells[i]) for i in code if error_text(cells[i])}
    assert not errors, f"{topic}: cells show errors: " + "\n".join(f"[{i}] {t}" for i, t in errors.items())
    counts = [execution_count(cells[i]) for i in code]
    assert counts == list(range(1, len(code) + 1)), f"{topic}: execution counts {counts}"
    missing = [i for i in plots if cells[i]["images"] == 0]
    assert not missing, f"{topic}: plot cells {missing} rendered no image"
    not_rendered = [i for i in widgets if cells[i]["widgets"] == 0]
    assert not not_rendered, f"{topic}: widget cells {not_rendered} rendered no widget"
    assert plots or widgets, f"{topic}: no plot or widget to check; pick a solution notebook with figures"
    shot(page, f"{topic}_solution_top", code[0])
    for n, i in enumerate(plots[:2]):
        shot(page, f"{topic}_solution_plot{n + 1}", i)
    for n, i in enumerate(widgets[:2]):
        shot(page, f"{topic}_solution_widget{n + 1}", i)
    if widgets:
        move_first_slider(page, widgets[0])
        shot(page, f"{topic}_solution_widget1_moved", widgets[0])


def move_first_slider(page, index: int) -> None:
    """Move the widget's first slider with the keyboard and see its figure redrawn by the kernel."""
    cell = cell_locator(page, index)
    handle = cell.locator(".jp-OutputArea-output .widget-slider .noUi-handle, "
                          ".jp-OutputArea-output .widget-slider input[type=range]").first
    image = cell.locator(".jp-OutputArea-output img").first
    assert handle.count() and image.count(), f"cell {index}: the widget shows no slider or no figure"
    before = image.get_attribute("src")
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([el, src]) => { const img = el.querySelector('.jp-OutputArea-output img');"
        " return img && img.getAttribute('src') !== src; }",
        arg=[cell.element_handle(), before], timeout=60_000)
    # Each key press queues a redraw: wait until the kernel is idle and the figure stays the same.
    deadline, last, stable = time.monotonic() + 60, None, 0
    while stable < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        src = image.get_attribute("src")
        idle = cell_states(page)["status"] == "idle"
        stable = stable + 1 if (idle and src == last) else 0
        last = src


# --------------------------------------------------------------------------------------------
# The instructor's seat (issue 22): Formgrader on a graded class, the feedback it leads to
# --------------------------------------------------------------------------------------------
# A formula from each of the formula-heavy topics: the first Markdown cell of the topic's solution
# notebook that holds this TeX (else its first with a formula). Course cells: the grader keeps them as they are.
FORMULA_CELLS = {"03_loss_functions": "\\ell(z, y)", "04_autograd_backprop": "\\frac{1}{N}",
                 "06_nonlinear_regression": "\\hat y = W_2"}
TINY_FAST = 'c.KitSandbox.preload_modules = ["math"]\n'
# the LMS downloads of the class: (file in the download folder, entry name, answer to ex2_square or None)
LMS_DOWNLOADS = [
    ("moodle_folders.zip", "Jane Doe_11_assignsubmission_file_/{nb}", None),
    ("moodle_flat.zip", "Seán O'Brien_12_assignsubmission_file_{nb}", None),
    ("canvas.zip", "doejane_LATE_345_678_{nb}", None),
    ("blackboard.zip", "Homework 1_bbuser_attempt_2024-03-05-14-30-00_{nb}", "def square(x):\n    return 9"),
]
NAMES_SHOWN = {"Jane-Doe": "Doe, Jane", "Seán-O-Brien": "O'Brien, Seán", "doejane": "doejane", "bbuser": "bbuser"}
LOCAL = ("file:", "data:", "blob:", "about:", "http://127.0.0.1", "http://localhost", "http://[::1]")


def formula_cells() -> list[str]:
    out = []
    for topic, tex in FORMULA_CELLS.items():
        nb = nbformat.read(ROOT / "solutions" / topic / f"{topic}.ipynb", as_version=4)
        md = [c.source for c in nb.cells if c.cell_type == "markdown" and "$" in c.source]
        assert md, f"{topic}: no Markdown cell with a formula"
        out.append(next((s for s in md if tex in s), md[0]))
    return out


def _grade_cli(course: Path, *args: str) -> str:
    import subprocess
    import sys

    from coursekit.paths import tool_env
    proc = subprocess.run([sys.executable, "-m", "coursekit", "grade", "00_tiny", "--root", str(course), "--quiet",
                           "--workers", "2", *args], capture_output=True, text=True, timeout=600, env=tool_env(),
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The tiny topic with three course formulas, a class imported from four LMS downloads and graded
    with `python -m coursekit grade` (bbuser answers exercise 2 wrongly)."""
    import io
    import zipfile

    from coursekit import synth

    tmp = tmp_path_factory.mktemp("graded-class")
    folder = synth.write_tiny_topic(tmp / "src")
    path = folder / "00_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1:1] = [nbformat.v4.new_markdown_cell(source) for source in formula_cells()]
    nbformat.write(nb, path)
    course = synth.make_course(tmp / "course", "00_tiny", source_dir=folder, config_extra=TINY_FAST)
    right = synth.correct_answers(course / "solutions" / "00_tiny" / "00_tiny.ipynb")
    downloads = tmp / "downloads"
    downloads.mkdir()
    for file, entry, square in LMS_DOWNLOADS:
        answers = {**right, **({"ex2_square": square} if square else {})}
        data = nbformat.writes(synth.make_submission(course / "notebooks" / "00_tiny" / "00_tiny.ipynb", answers))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(entry.format(nb="00_tiny.ipynb"), data)
        (downloads / file).write_bytes(buf.getvalue())
    out = _grade_cli(course, "--from", str(downloads))
    assert "graded 4, failed to grade 0" in out, out
    return course


@pytest.fixture(scope="module")
def formgrader(graded_class, start_formgrader):
    """`make formgrader`'s server and configuration on the graded class."""
    return start_formgrader(graded_class, SERVER_START_S)


def offline_page(browser, extra_headers: dict | None = None):
    """(context, page, log): a page whose requests to anything but this machine (or a file) are
    aborted and listed in ``log.blocked``; its console messages and errors in ``log.messages``."""
    from types import SimpleNamespace

    context = browser.new_context(viewport={"width": 1300, "height": 900}, extra_http_headers=extra_headers)
    page = context.new_page()
    log = SimpleNamespace(blocked=[], messages=[])

    def route(r):
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            log.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: log.messages.append(m.text))
    page.on("pageerror", lambda e: log.messages.append(f"page error: {e}"))
    return context, page, log


FORMULAS_JS = """
(first) => [...document.querySelectorAll('.text_cell_render')].slice(first, first + 3).map(c => ({
    mjx: c.querySelectorAll('mjx-container').length,
    svg: c.querySelectorAll('mjx-container svg').length,
    raw: /\\\\[a-zA-Z]|\\$/.test(c.innerText.replace(/\\s+/g, ' ')),
    text: c.innerText.slice(0, 120),
}))
"""


def _submission_id(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook("00_tiny", "00_tiny", student).id


def test_formulas_render_offline_in_feedback_and_formgrader(browser, graded_class, formgrader):
    """A formula from each of 03, 04 and 06 is typeset by MathJax (SVG) in the feedback HTML opened as a
    file and in Formgrader's submission view, with every request off this machine aborted."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    views = {"feedback": ((graded_class / "feedback" / "Jane-Doe" / "00_tiny" / "00_tiny.html").as_uri(), None),
             "formgrader": (f"{formgrader.url}/formgrader/submissions/{_submission_id(graded_class, 'Jane-Doe')}/",
                            {"Authorization": f"token {formgrader.token}"})}
    for view, (url, headers) in views.items():
        context, page, log = offline_page(browser, headers)
        try:
            page.goto(url, wait_until="load", timeout=90_000)
            page.wait_for_function("() => document.querySelectorAll('mjx-container').length >= 3", timeout=60_000)
            page.wait_for_timeout(500)
            cells = page.evaluate(FORMULAS_JS, 1)     # the title cell first, then the three formula cells
            page.locator(".text_cell_render").nth(1).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"formulas_{view}.png"))
        finally:
            context.close()
        assert len(cells) == 3 and all(c["mjx"] and c["svg"] for c in cells), (view, cells)
        assert not any(c["raw"] for c in cells), (view, cells)
        assert not log.blocked, (view, log.blocked)
        violations = [m for m in log.messages
                      if ("Content Security Policy" in m and "script" in m) or "page error" in m]
        assert not violations, (view, violations)


def test_formgrader_lists_the_lms_names_and_times(browser, graded_class, formgrader):
    context = browser.new_context(viewport={"width": 1300, "height": 900},
                                  extra_http_headers={"Authorization": f"token {formgrader.token}"})
    page = context.new_page()
    try:
        page.goto(f"{formgrader.url}/formgrader/manage_submissions/00_tiny")
        page.wait_for_function("() => document.querySelectorAll('td.student-id').length === 4", timeout=60_000)
        rows = page.evaluate("""() => [...document.querySelectorAll('#main-table tr')].map(r => ({
            id: r.querySelector('td.student-id').innerText.trim(),
            name: r.querySelector('td.student-name').innerText.trim(),
            time: r.querySelector('td.timestamp').innerText.trim(),
            status: r.querySelector('td.status').innerText.trim()}))""")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "formgrader_names_and_times.png"))
    finally:
        context.close()
    by_id = {r["id"]: r for r in rows}
    assert {i: r["name"] for i, r in by_id.items()} == NAMES_SHOWN, rows
    assert by_id["bbuser"]["time"].startswith("2024-03-05 14:30:00"), rows
    assert all(r["status"] != "needs autograding" for r in rows), rows
    assert not any("None" in r["name"] for r in rows)


def test_a_manual_grade_and_comment_in_formgrader_reach_the_feedback(browser, graded_class, formgrader):
    """Formgrader's own page: a manual score and a comment for bbuser's wrong exercise; then
    `python -m coursekit grade` (no --force) remakes bbuser's feedback, and only theirs."""
    feedback = {s: graded_class / "feedback" / s / "00_tiny" / "00_tiny.html" for s in NAMES_SHOWN}
    before = {s: (p.read_bytes(), p.stat().st_mtime_ns) for s, p in feedback.items()}
    assert "Score: 2.0 / 5.0" in before["bbuser"][0].decode()
    comment = "Square the argument: x * x, not a constant."
    context = browser.new_context(viewport={"width": 1300, "height": 900},
                                  extra_http_headers={"Authorization": f"token {formgrader.token}"})
    page = context.new_page()
    try:
        page.goto(f"{formgrader.url}/formgrader/submissions/{_submission_id(graded_class, 'bbuser')}/")
        score = page.locator("input.score#ex2_square_tests")
        score.wait_for(timeout=60_000)
        page.wait_for_function("() => window.jQuery && document.querySelector('.name-shown, .name-hidden')")
        score.fill("1.5")
        score.press("Tab")
        text = page.locator("textarea#ex2_square-comment")
        text.fill(comment)
        text.press("Tab")
        page.wait_for_timeout(2000)
    finally:
        context.close()
    _grade_cli(graded_class)
    shown = feedback["bbuser"].read_text()
    assert comment in shown and "Score: 3.5 / 5.0" in shown, re.findall(r"Score: [\d.]+ / [\d.]+", shown)[:3]
    for student in set(NAMES_SHOWN) - {"bbuser"}:
        p = feedback[student]
        assert (p.read_bytes(), p.stat().st_mtime_ns) == before[student], f"{student}'s feedback was remade"
    context, page, _ = offline_page(browser)
    try:
        page.goto(feedback["bbuser"].as_uri())
        page.get_by_text(comment).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "feedback_manual_grade_and_comment.png"))
    finally:
        context.close()
