"""Static checks of the solution notebooks' conventions (docs/DESIGN.md, "Conventions").

Reads the stored notebooks only (no kernel): fast enough to run on every change. The conventions are
the course's: they apply to its topics (solutions/NN_name/NN_name.ipynb); any other assignment of
solutions/ is skipped with the reason.
"""
from __future__ import annotations

import io
import re
import tokenize

import pytest

from coursekit.notebook import read
from coursekit.paths import assignments, is_topic, not_a_topic, solution_notebook

ASSIGNMENTS = assignments()
MAX_TAGGED = 3  # nbval-ignore-output is for volatile output (progress bars, timings): keep such cells few
IGNORE_TAG = "nbval-ignore-output"

IMPORT_STAR = re.compile(r"^\s*from\s+\S+\s+import\s+\*", re.M)
SYS_PATH = re.compile(r"\bsys\.path\b")
VARIABLE = re.compile(r"\bVariable\b")
TQDM_CALL = re.compile(r"\b(tqdm|trange)\s*\(")
FIT_CALL = re.compile(r"(?<![\w.])fit\s*\(")
PROGRESS_OFF = re.compile(r"progress\s*=\s*False")


def _code(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _strip_comments(source: str) -> str:
    """The code with comments and the text of string literals blanked out (a call named in a message or a
    comment, "the least-squares fit (...)", is not a call)."""
    lines = source.splitlines(keepends=True)
    blank = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type in blank]
    except (tokenize.TokenError, SyntaxError):     # IPython syntax (%magic, !cmd): comments by line only
        return "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    for tok in reversed(tokens):
        (r0, c0), (r1, c1) = tok.start, tok.end
        text = "".join(lines[r0 - 1:r1])
        start, end = c0, len(text) - len(lines[r1 - 1]) + c1
        inner = "".join(ch if ch == "\n" else " " for ch in text[start:end])
        merged = text[:start] + inner + text[end:]
        lines[r0 - 1:r1] = merged.splitlines(keepends=True) or [""]
    return "".join(lines)


def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _output_text(out) -> str:
    if out.get("output_type") == "stream":
        return out.get("text", "")
    if out.get("output_type") == "error":
        return "\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}"
    return str(out.get("data", {}).get("text/plain", ""))


def _shows_progress_bar(cell) -> bool:
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data and "%" in str(data.get("text/plain", "")):
            return True
        if out.get("name") == "stderr" and "%|" in out.get("text", ""):
            return True
    return False


def _loc(topic, i, cell) -> str:
    first = next((l for l in cell.source.splitlines() if l.strip()), "")
    return f"{topic} cell {i} ({first[:50]!r})"


@pytest.fixture(params=ASSIGNMENTS or [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks in solutions/"))])
def notebook(request):
    topic = request.param
    if not is_topic(topic):
        pytest.skip(not_a_topic(topic))
    return topic, read(solution_notebook(topic))


def test_first_code_cell_seeds(notebook):
    topic, nb = notebook
    code = _code(nb)
    assert code, f"{topic} has no code cell"
    i, first = code[0]
    assert re.search(r"\b(setup_notebook|set_seed)\s*\(", first.source), \
        f"{_loc(topic, i, first)}: the first code cell must call setup_notebook(...) or set_seed(...) " \
        "(docs/DESIGN.md, Reproducibility)"


def test_no_star_imports_path_hacks_or_variable(notebook):
    topic, nb = notebook
    problems = []
    for i, cell in _code(nb):
        source = _strip_comments(cell.source)
        if IMPORT_STAR.search(source):
            problems.append(f"{_loc(topic, i, cell)}: `import *` (import names explicitly)")
        if SYS_PATH.search(source):
            problems.append(f"{_loc(topic, i, cell)}: edits sys.path (utils is installed; import it directly)")
        if VARIABLE.search(source):
            problems.append(f"{_loc(topic, i, cell)}: uses torch.autograd.Variable (deprecated since PyTorch 0.4; "
                            "tensors carry requires_grad themselves)")
    assert not problems, "\n".join(problems)


def test_kernel_metadata(notebook):
    topic, nb = notebook
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", \
        f"{topic}: kernelspec must be python3, found {nb.metadata.get('kernelspec')}"
    assert nb.metadata.get("language_info", {}).get("name") == "python", \
        f"{topic}: language_info.name must be python"


def test_progress_bars_are_tagged_and_tags_few(notebook):
    topic, nb = notebook
    problems = []
    for i, cell in _code(nb):
        source = _strip_comments(cell.source)
        bar = (TQDM_CALL.search(source) or _shows_progress_bar(cell)
               or (FIT_CALL.search(source) and not PROGRESS_OFF.search(source) and "def fit" not in source))
        if bar and IGNORE_TAG not in _tags(cell):
            problems.append(f"{_loc(topic, i, cell)}: shows a progress bar but is not tagged {IGNORE_TAG}")
    tagged = [i for i, cell in _code(nb) if IGNORE_TAG in _tags(cell)]
    if len(tagged) > MAX_TAGGED:
        problems.append(f"{topic}: {len(tagged)} cells tagged {IGNORE_TAG} (cells {tagged}); keep it to "
                        f"{MAX_TAGGED} or fewer so that nbval still compares most of the notebook")
    assert not problems, "\n".join(problems)


def test_no_errors_in_stored_outputs(notebook):
    topic, nb = notebook
    problems = []
    for i, cell in _code(nb):
        for out in cell.get("outputs", []):
            text = _output_text(out)
            if out.get("output_type") == "error" or "Traceback (most recent call last)" in text:
                problems.append(f"{_loc(topic, i, cell)}: stored output holds an error: {text.strip()[-200:]}")
    assert not problems, "\n".join(problems) + "\n(demonstrate errors with try/except and print the message)"


def test_execution_counts_in_order(notebook):
    topic, nb = notebook
    cells = [(i, c) for i, c in _code(nb) if c.source.strip()]
    counts = [c.get("execution_count") for _, c in cells]
    expected = list(range(1, len(cells) + 1))
    assert counts == expected, (
        f"{topic}: execution counts {counts} are not 1..{len(cells)} in order; "
        f"re-execute it top to bottom in a fresh kernel with `make execute TOPICS={topic}`")
    empty = [i for i, c in _code(nb) if not c.source.strip()]
    assert not empty, f"{topic}: empty code cells {empty}"


# Every notebook opens the same way: "# NN · Title", what the topic is about, how it fits in the course
# (the topics it builds on or leads to), the learning objectives, and the graded exercises and points.
TITLE = re.compile(r"^# (\d\d) · \S")
OBJECTIVES = "**Learning objectives.** After this notebook you can"
EXERCISE_COUNT = re.compile(r"There are \*\*(\d+) graded exercises\*\* \((\d+) points\)")
TOPIC_REFERENCE = re.compile(r"\btopics? (\d\d)\b|\((\d\d)\)|\btopics (\d\d) (?:to|and) (\d\d)\b")


def test_opening_follows_the_course_structure(notebook):
    from coursekit.notebook import exercises, nbgrader_meta

    topic, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown", f"{topic}: the first cell must be the notebook's introduction"
    text = first.source
    title = TITLE.match(text)
    assert title and title.group(1) == topic[:2], f"{topic}: the introduction must open with '# {topic[:2]} · Title'"
    assert OBJECTIVES in text, f"{topic}: the introduction must hold '{OBJECTIVES}' and the objectives' list"
    intro, objectives = text.split(OBJECTIVES, 1)
    paragraphs = [p for p in intro.split("\n\n")[1:] if p.strip()]
    assert paragraphs, f"{topic}: say what the topic is about between the title and the objectives"
    others = {n for m in TOPIC_REFERENCE.finditer(intro) for n in m.groups() if n} - {topic[:2]}
    assert others, f"{topic}: the introduction must say how the topic fits (the topics it builds on or leads to)"
    assert re.search(r"^\s*(-|\d+\.) ", objectives, re.M), f"{topic}: list the learning objectives"
    count = EXERCISE_COUNT.search(objectives)
    assert count, f"{topic}: end the introduction with 'There are **N graded exercises** (P points)'"
    points = sum(nbgrader_meta(c).get("points", 0) for c in nb.cells if nbgrader_meta(c).get("grade"))
    assert (int(count.group(1)), int(count.group(2))) == (len(exercises(nb)), points), \
        f"{topic}: the introduction says {count.group(0)!r}, the notebook has {len(exercises(nb))} exercises " \
        f"and {points} points"


def test_no_sentence_said_twice_in_a_row(notebook):
    """A sentence repeated within a markdown cell is a copy-and-paste slip."""
    topic, nb = notebook
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|(?<=[.!?][)\]])\s+", cell.source) if len(s.split()) >= 6]
        repeated = sorted({s for s in sentences if sentences.count(s) > 1})
        if repeated:
            problems.append(f"{_loc(topic, i, cell)}: says twice {repeated[0][:80]!r}")
    assert not problems, "\n".join(problems)


def test_calls_named_in_strings_or_comments_are_not_calls():
    source = 'h = fit(model, X)  # fit (again)\nname = "the least-squares fit (LinearRegression)"\n%time x = 1\n'
    code = _strip_comments(source)
    assert [m.start() for m in FIT_CALL.finditer(code)] == [4]
    assert code.count("\n") == source.count("\n") and "%time" in code
