"""Nothing a student wrote runs as script where the instructor or a student looks (issue 18).

A catalog of XSS vectors (:data:`VECTORS`) is put where a student can put things: Markdown cells
(CommonMark corner cases the old regex escaper got wrong, raw HTML, links), the Markdown answer cell,
attachments, raw cells, cell and notebook metadata, outputs of every type, and the student's id and
name. Every vector, if it runs, pushes its number onto ``self.XSS`` of the window (or frame) it runs
in; a link, form or frame that would run it when clicked counts as well (a latent ``javascript:`` or
``data:text/html`` URL in the page). Headless Chromium opens:

* nbgrader's own rendering (its Formgrader template and its feedback template, no kit) of the
  notebook as the student sent it: most vectors must fire, or the catalog proves nothing;
* nbgrader's own Formgrader template on the notebook the kit stores (``sanitize.notebook_bytes``):
  the sanitiser alone stops every notebook vector;
* the feedback HTML the kit makes (``feedback.generate``) from that notebook, as a file;
* the kit's Formgrader (``make formgrader``'s server and configuration) on a temporary course: the
  submission view of the stored notebook, of a student whose name and of one whose id hold HTML, and
  of the notebook as the student sent it (the template's cleaning and the Content-Security-Policy
  alone), and the pages that list students;

and no vector may fire in any of the kit's views. Formgrader must still work: the submission page
loads without a Content-Security-Policy violation and a manual grade entered there is saved; its
per-student Autograde and Generate Feedback calls are refused.
"""
from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import feedback, sanitize
from coursekit.nbgrader_run import generate_assignment
from coursekit.paths import ROOT

pytestmark = pytest.mark.browser

TOPIC = "xss"
STUDENT = "ann"              # the stored (sanitised) notebook; first/last name hold vectors
ID_STUDENT = None            # set below: a student id that holds a vector
RAW_STUDENT = "rawsub"       # the notebook as the student sent it, in the kit's Formgrader
ARTIFACTS = ROOT / "artifacts" / "browser"
SETTLE_MS = 1500             # time for onload/onerror/autofocus/animations to fire


def J(n: int) -> str:
    """JavaScript that records vector n where it runs (no quotes, slashes, backticks or underscores:
    it must survive every context it is put in unchanged)."""
    return f"(self.XSS=self.XSS||[]).push({n})"


def _svg(n: int) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" onload="{J(n)}"><rect width="9" height="9"/></svg>'


# (number, channel, payload). Channels: md (a Markdown cell of its own), answer (the graded Markdown
# answer cell), attachment, raw, raw_html (raw cell with raw_mimetype text/html), grade_id (cell
# metadata), widgets (notebook metadata), html, html_isolated, markdown, svg, latex, js, widget_view,
# traceback, ename, stream, plain (outputs), name, id (the student).
VECTORS = [
    (1, "md", "escaped backticks \\`<img src=x onerror=\"{J}\">\\`"),
    (2, "md", "inline tildes ~~~ <img src=x onerror=\"{J}\"> ~~~"),
    (3, "md", "unmatched code span `` <img src=x onerror=\"{J}\"> `"),
    (4, "md", "<div>\n<img src=x onerror=\"{J}\">\n</div>"),
    (5, "md", "svg <svg onload=\"{J}\"></svg>"),
    (6, "md", '<iframe srcdoc="&lt;script&gt;{J}&lt;/script&gt;"></iframe>'),
    (7, "md", "<math><mtext><table><mglyph><style><img src=x onerror=\"{J}\"></style></mglyph></table></mtext></math>"),
    (8, "md", '<a href="jav&#x09;ascript:{J}">tab in the scheme</a>'),
    (9, "md", "[a link](javascript:{J})"),
    (10, "md", "[a reference link][r]\n\n[r]: javascript:{J}"),
    (11, "md", "autolink <javascript:{J}>"),
    (12, "md", '<a href="data:text/html,&lt;script&gt;{J}&lt;/script&gt;">data URL</a>'),
    (13, "md", "<style onload=\"{J}\">p {{}}</style>"),
    (14, "md", '<meta http-equiv="refresh" content="0;url=javascript:{J}">'),
    (15, "md", '<base href="javascript:{J}//">'),
    (16, "md", '<form action="javascript:{J}"><button>go</button></form>'),
    (17, "md", "<details open ontoggle=\"{J}\">x</details>"),
    (18, "md", "<input autofocus onfocus=\"{J}\">"),
    (19, "md", "<video><source onerror=\"{J}\"></video>"),
    (20, "md", "<script>{J}</script>"),
    (21, "md", '<noscript><p title="</noscript><img src=x onerror=\"{J}\">"></noscript>'),
    (22, "md", "<svg><animate onbegin=\"{J}\" attributeName=x dur=1s></svg>"),
    (23, "md", '<a href="&#106;avascript:{J}">entity in the scheme</a>'),
    (24, "md", "<!--><img src=x onerror=\"{J}\">-->"),
    (25, "md", '<iframe src="javascript:{J}"></iframe>'),
    (26, "md", '<object data="data:text/html,&lt;script&gt;{J}&lt;/script&gt;"></object>'),
    (27, "md", "| a |\n|---|\n| <img src=x onerror=\"{J}\"> |"),
    (28, "md", "[angle link](<javascript:{J}>)"),
    (29, "md", '<embed src="data:text/html,&lt;script&gt;{J}&lt;/script&gt;">'),
    (30, "md", "<marquee onstart=\"{J}\">m</marquee>"),
    (31, "md", "$x$ <img src=x onerror=\"{J}\"> $$y$$"),
    (32, "md", "* list\n  <img src=x onerror=\"{J}\">"),
    (33, "md", "> quote <img src=x onerror=\"{J}\">"),
    (34, "answer", "My answer \\`<img src=x onerror=\"{J}\">\\`"),
    (35, "attachment", "![a](attachment:a.svg)"),
    (36, "raw", "<img src=x onerror=\"{J}\">"),
    (37, "raw_html", "<img src=x onerror=\"{J}\">"),
    (38, "grade_id", '"><img src=x onerror=\"{J}\">'),
    (39, "widgets", "</script><img src=x onerror=\"{J}\">"),
    (40, "html", "<img src=x onerror=\"{J}\">"),
    (41, "html", "<script>{J}</script>"),
    (42, "html_isolated", "<script>{J}</script>"),
    (43, "markdown", "\\`<img src=x onerror=\"{J}\">\\`"),
    (44, "svg", None),
    (45, "latex", "$x$<img src=x onerror=\"{J}\">"),
    (46, "js", "{J}"),
    (47, "widget_view", "</script><img src=x onerror=\"{J}\">"),
    (48, "traceback", "\x1b[31m<img src=x onerror=\"{J}\">\x1b[0m \x1b[38;2;1;2;3m<script>{J}</script>"),
    (49, "ename", "<img src=x onerror=\"{J}\">"),
    (50, "stream", "<script>{J}</script>"),
    (51, "plain", "<img src=x onerror=\"{J}\">"),
    (52, "name", "<img src=x onerror=\"{J}\">"),
    (53, "id", "id<img src=x onerror=\"{J}\">"),
    # MathJax (issue 22) typesets $...$ in the kit's views: TeX that would make a link or load the html package
    (54, "md", "a formula $\\href{{javascript:{J}}}{{click}}$"),
    (55, "md", "$$\\require{{html}}\\href{{javascript:{J}}}{{y}}\\class{{x}}{{z}}$$"),
]
ID_STUDENT = next(p.format(J=J(n)) for n, ch, p in VECTORS if ch == "id")
NAME_VECTORS = {n for n, ch, _ in VECTORS if ch in ("name", "id")}


def _payload(n: int, text: str | None) -> str:
    return _svg(n) if text is None else text.format(J=J(n))


# --------------------------------------------------------------------------------------------
# The notebook a hostile student sends
# --------------------------------------------------------------------------------------------
def _source_notebook():
    from coursekit.notebook import new_answer_cell, new_test_cell

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    answer = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 2,
                                   "grade_id": "explain", "schema_version": 3}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# XSS topic\n\nExplain *why*, with $x^2$ and `code`."),
        answer,
        new_answer_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "ex1"),
        new_test_cell("assert f(1) == 1", "ex1_tests", 1),
    ]
    return nb


def _output(channel: str, n: int, payload: str) -> dict:
    if channel == "traceback":
        return nbformat.v4.new_output("error", ename="E", evalue="v", traceback=[payload])
    if channel == "ename":
        return nbformat.v4.new_output("error", ename=payload, evalue=payload, traceback=[])
    if channel == "stream":
        return nbformat.v4.new_output("stream", name="stdout", text=payload)
    mime = {"html": "text/html", "html_isolated": "text/html", "markdown": "text/markdown",
            "svg": "image/svg+xml", "latex": "text/latex", "js": "application/javascript",
            "widget_view": "application/vnd.jupyter.widget-view+json", "plain": "text/plain"}[channel]
    value = {"model_id": payload, "version_major": 2, "version_minor": 0} if channel == "widget_view" else payload
    meta = {"text/html": {"isolated": True}} if channel == "html_isolated" else {}
    return nbformat.v4.new_output("display_data", data={mime: value}, metadata=meta)


def hostile_notebook(released) -> dict:
    """The released notebook, answered, with every notebook vector of the catalog in it (as if
    executed: outputs included)."""
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    outputs = []
    for n, channel, text in VECTORS:
        payload = _payload(n, text)
        if channel == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(payload))
        elif channel == "answer":
            next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "explain").source = payload
        elif channel == "attachment":
            cell = nbformat.v4.new_markdown_cell(payload)
            cell.attachments = {"a.svg": {"image/svg+xml": base64.b64encode(_svg(n).encode()).decode()}}
            nb.cells.append(cell)
        elif channel in ("raw", "raw_html"):
            cell = nbformat.v4.new_raw_cell(payload)
            if channel == "raw_html":
                cell.metadata["raw_mimetype"] = "text/html"
            nb.cells.append(cell)
        elif channel == "grade_id":
            cell = nbformat.v4.new_markdown_cell("graded text")
            cell.metadata["nbgrader"] = {"grade": True, "solution": True, "points": 1, "grade_id": payload,
                                         "schema_version": 3, "locked": False}
            nb.cells.append(cell)
        elif channel == "widgets":
            nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                                      {"version_major": 2, "version_minor": 0, "state": {}, "x": payload}}
        elif channel not in ("name", "id"):
            outputs.append(_output(channel, n, payload))
    code = nbformat.v4.new_code_cell("show()", execution_count=1)
    code.outputs = outputs
    nb.cells.append(code)
    return nb


# --------------------------------------------------------------------------------------------
# A temporary course with a gradebook, autograded/ and feedback/
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("xss-course")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    source = root / "solutions" / TOPIC / f"{TOPIC}.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(_source_notebook(), source)
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    generate_assignment(TOPIC, root, db_url=db_url)
    released = nbformat.read(root / "notebooks" / TOPIC / f"{TOPIC}.ipynb", as_version=4)
    hostile = hostile_notebook(released)
    raw = nbformat.writes(hostile).encode()
    released_sources = {c.source.strip() for c in released.cells if c.cell_type == "markdown"}
    stored = sanitize.notebook_bytes(raw, [str(root)], released_sources)   # what the grader stores
    name = next(_payload(n, t) for n, ch, t in VECTORS if ch == "name")
    # nbgrader's feedback stops at a grade id its gradebook does not know: the notebook as sent, less that
    raw_known = json.loads(raw)
    for cell in raw_known["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id", "explain") not in ("explain", "ex1", "ex1_tests"):
            del cell["metadata"]["nbgrader"]
    raw_known = json.dumps(raw_known).encode()
    with Gradebook(db_url) as gb:
        for student, data, names in ((STUDENT, stored, {"first_name": name, "last_name": name}),
                                     (ID_STUDENT, stored, {}), (RAW_STUDENT, raw_known, {})):
            folder = root / "autograded" / student / TOPIC
            folder.mkdir(parents=True)
            (folder / f"{TOPIC}.ipynb").write_bytes(data)
            gb.update_or_create_student(student, **names)
            gb.update_or_create_submission(TOPIC, student)
        ids = {s: gb.find_submission_notebook(TOPIC, TOPIC, s).id for s in (STUDENT, ID_STUDENT, RAW_STUDENT)}
    cfg = {"CourseDirectory": {"root": str(root), "course_id": "xss-course", "db_url": db_url}}
    problems = feedback.generate(cfg, TOPIC, [STUDENT, RAW_STUDENT], hidden_tests=False, progress=False)
    return {"root": root, "raw": hostile, "stored": nbformat.reads(stored.decode(), as_version=4),
            "submission": ids, "name": name, "config": cfg, "feedback_problems": problems}


def nbgrader_render(nb, template: str, out: Path, student: str, name: str | None) -> Path:
    """nbgrader's own template (no kit) on ``nb``, as Formgrader/GenerateFeedback would render it."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader.handlers import template_path

    css = Path(template_path).parent / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    exporter = HTMLExporter(template_name=template, extra_template_basedirs=[template_path],
                            extra_template_paths=[str(css)])
    static_root = Path(template_path).parent.parent.as_uri()   # Formgrader's scripts load from file:
    resources = {"assignment_id": TOPIC, "notebook_id": TOPIC, "submission_id": "s", "index": 0, "total": 1,
                 "base_url": static_root, "student": student, "last_name": name, "first_name": name,
                 "notebook_path": "x", "nbgrader": {"notebook": TOPIC, "score": 0, "max_score": 3,
                                                     "late_penalty": 0}}
    html, _ = exporter.from_notebook_node(nbformat.from_dict(nb), resources=resources)
    out.write_text(html)
    return out


def nbgrader_feedback(course, student: str) -> Path:
    """Plain nbgrader's GenerateFeedback (its defaults, no kit) into feedback_nbgrader/."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    c = Config(course["config"])
    c.CourseDirectory.assignment_id = TOPIC
    c.CourseDirectory.student_id = student
    c.CourseDirectory.feedback_directory = "feedback_nbgrader"
    converter = GenerateFeedback(coursedir=CourseDirectory(config=c), config=c)
    converter.force = True
    converter.start()
    return course["root"] / "feedback_nbgrader" / student / TOPIC / f"{TOPIC}.html"


# --------------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------------
FIRED_JS = r"""
() => {
  const fired = new Set((self.XSS || []).map(String));
  const bad = /^(javascript|vbscript|data:text\/html)/i;
  for (const el of document.querySelectorAll('[href],[src],[action],[formaction],[data],[content],object,embed')) {
    for (const name of ['href', 'src', 'action', 'formaction', 'data', 'content']) {
      let value = el[name] !== undefined && typeof el[name] === 'string' && name !== 'content' ? el[name]
                  : (el.getAttribute(name) || '');
      value = value.replace(/[\t\n\r]/g, '');
      if (name === 'content') value = value.replace(/^[^=]*url=/i, '');
      if (bad.test(value.trim())) {
        const m = /push\((\d+)\)/.exec(decodeURIComponent(value.replace(/%(?![0-9a-f]{2})/gi, '%25')));
        if (m) fired.add(m[1]);
      }
    }
  }
  return [...fired];
}
"""


def fired_in(browser, url: str, shot: str | None = None, messages: list | None = None,
             extra_headers: dict | None = None) -> set[int]:
    """The vector numbers that ran (or wait in a link/form/frame) on the page at ``url``."""
    context = browser.new_context(viewport={"width": 1300, "height": 900}, extra_http_headers=extra_headers)
    page = context.new_page()
    try:
        if messages is not None:
            page.on("console", lambda m: messages.append(m.text))
        page.goto(url, wait_until="load", timeout=90_000)
        page.wait_for_timeout(SETTLE_MS)
        fired = set()
        for frame in page.frames:
            try:
                fired |= {int(x) for x in frame.evaluate(FIRED_JS)}
            except Exception:   # a frame that went away or cannot be read: its vector reported itself or not
                pass
        if shot:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"xss_{shot}.png"), full_page=True)
        return fired
    finally:
        context.close()


def _report(label: str, fired: set[int], considered: set[int]) -> str:
    return f"{label}: {len(fired & considered)} of {len(considered)} vectors fired: {sorted(fired & considered)}"


NOTEBOOK_VECTORS = {n for n, _, _ in VECTORS} - NAME_VECTORS
ALL = {n for n, _, _ in VECTORS}


def test_catalog_is_large_enough():
    assert len(VECTORS) >= 30 and len(ALL) == len(VECTORS)


def test_catalog_fires_without_the_kit(browser, course, tmp_path):
    """nbgrader's own rendering of what the student sent: the catalog must be able to fail."""
    page = nbgrader_render(course["raw"], "formgrade", tmp_path / "formgrade.html", ID_STUDENT, course["name"])
    fired = fired_in(browser, page.as_uri(), "nbgrader_formgrade_raw")
    print(_report("nbgrader's Formgrader template, unsanitised", fired, ALL))
    assert len(fired) >= 0.6 * len(ALL), _report("unsanitised", fired, ALL)
    assert {1, 2, 3, 34, 43} <= fired, "the regex escaper's bypasses do not fire in nbgrader's view"
    assert NAME_VECTORS - {53} <= fired   # the id is shown only when the names are empty
    fb = nbgrader_feedback(course, RAW_STUDENT)
    fired_fb = fired_in(browser, fb.as_uri(), "nbgrader_feedback_raw")
    print(_report("nbgrader's feedback template, unsanitised", fired_fb, NOTEBOOK_VECTORS))
    assert len(fired_fb) >= 0.5 * len(NOTEBOOK_VECTORS)


def test_sanitised_notebook_is_inert_in_nbgraders_own_view(browser, course, tmp_path):
    """The sanitiser alone: the stored notebook rendered by nbgrader's own Formgrader template."""
    page = nbgrader_render(course["stored"], "formgrade", tmp_path / "formgrade.html", STUDENT, "Ann")
    fired = fired_in(browser, page.as_uri(), "nbgrader_formgrade_stored")
    assert not fired & NOTEBOOK_VECTORS, _report("sanitised, nbgrader's template", fired, NOTEBOOK_VECTORS)


def test_kit_feedback_is_inert(browser, course):
    assert course["feedback_problems"] == {STUDENT: None, RAW_STUDENT: None}, course["feedback_problems"]
    for student in (STUDENT, RAW_STUDENT):   # RAW_STUDENT: the template's cleaning and CSP alone
        html = course["root"] / "feedback" / student / TOPIC / f"{TOPIC}.html"
        fired = fired_in(browser, html.as_uri(), f"feedback_{student}")
        assert not fired, _report(f"kit feedback ({student})", fired, ALL)
        assert "Content-Security-Policy" in html.read_text().split("<body", 1)[0]


def test_honest_content_still_renders(course):
    from coursekit.grading import safehtml

    html = safehtml.markdown_html("# Title\n\n*em* **strong** `code` $x^2$\n\n- a\n- b\n\n| a | b |\n|---|---|\n"
                                  "| 1 | 2 |\n\n[site](https://example.org) ![p](attachment:p.png)",
                                  {"p.png": {"image/png": "iVBORw0KGgo="}})
    for part in ("<h1>Title</h1>", "<em>em</em>", "<strong>strong</strong>", "<code>code</code>", "$x^2$",
                 "<li>a</li>", "<table>", '<a href="https://example.org"', 'src="data:image/png;base64,iVBORw0KGgo="'):
        assert part in html, (part, html)
    text = (course["root"] / "feedback" / STUDENT / TOPIC / f"{TOPIC}.html").read_text()
    assert "XSS topic</h1>" in text
    assert "<em>why</em>" in text and "$x^2$" in text


# --------------------------------------------------------------------------------------------
# The kit's Formgrader
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def formgrader(course, start_formgrader):
    return start_formgrader(course["root"], 120)


def _url(server, path: str) -> str:
    return f"{server.url}/{path}"


def test_formgrader_views_are_inert(browser, course, formgrader):
    auth = {"Authorization": f"token {formgrader.token}"}
    ids = course["submission"]
    results = {}
    for student in (STUDENT, ID_STUDENT, RAW_STUDENT):
        results[student] = fired_in(browser, _url(formgrader, f"formgrader/submissions/{ids[student]}/"),
                                    f"formgrader_{'raw' if student == RAW_STUDENT else 'id' if student == ID_STUDENT else 'stored'}",
                                    extra_headers=auth)
    for path in (f"formgrader/manage_submissions/{TOPIC}", f"formgrader/gradebook/{TOPIC}/{TOPIC}",
                 "formgrader/manage_students", f"formgrader/manage_students/{STUDENT}/{TOPIC}"):
        results[path] = fired_in(browser, _url(formgrader, path), None, extra_headers=auth)
    assert not any(results.values()), {k: sorted(v) for k, v in results.items() if v}


def test_formgrader_has_a_policy_and_refuses_the_buttons(course, formgrader):
    import urllib.request

    request = urllib.request.Request(_url(formgrader, f"formgrader/submissions/{course['submission'][STUDENT]}/"),
                                     headers={"Authorization": f"token {formgrader.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        policy = response.headers["Content-Security-Policy"]
        body = response.read().decode()
    scripts = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in scripts and "'self'" not in scripts and "/formgrader/static/" in scripts
    assert "<script>" not in body and "<script type=\"text/javascript\">" not in body and " onclick=" not in body
    for path in (f"formgrader/api/submission/{TOPIC}/{STUDENT}/autograde",
                 f"formgrader/api/assignment/{TOPIC}/{STUDENT}/generate_feedback",
                 f"formgrader/api/assignment/{TOPIC}/generate_feedback"):
        status, answer = formgrader.get(path, method="POST")
        assert status == 403, (path, status, answer[:300])
        assert "make grade" in json.loads(answer)["error"]
    assert not (course["root"] / "feedback" / ID_STUDENT).exists()


def test_formgrader_still_works(browser, course, formgrader):
    """The submission page loads with nbgrader's own scripts (no CSP violation) and a manual grade
    entered there is saved in the gradebook; the Autograde column is hidden."""
    from nbgrader.api import Gradebook

    messages: list[str] = []
    context = browser.new_context(viewport={"width": 1300, "height": 900},
                                  extra_http_headers={"Authorization": f"token {formgrader.token}"})
    page = context.new_page()
    page.on("console", lambda m: messages.append(m.text))
    try:
        page.goto(_url(formgrader, f"formgrader/submissions/{course['submission'][STUDENT]}/"))
        score = page.locator("input.score#explain")
        score.wait_for(timeout=60_000)
        page.wait_for_function("() => window.jQuery && document.querySelector('.name-shown, .name-hidden')")
        score.fill("1.5")
        score.press("Tab")
        page.wait_for_timeout(1500)
        page.goto(_url(formgrader, f"formgrader/manage_submissions/{TOPIC}"))
        page.locator("td.student-id").first.wait_for(timeout=60_000)
        assert not page.locator("td.autograde").first.is_visible()
        assert page.locator("#coursekit-grade-note").is_visible()
    finally:
        context.close()
    violations = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
    assert not violations, violations
    with Gradebook(f"sqlite:///{course['root'] / 'gradebook.db'}") as gb:
        grade = gb.find_grade("explain", TOPIC, TOPIC, STUDENT)
        assert grade.manual_score == 1.5
