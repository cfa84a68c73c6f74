"""The grading pipeline's parts without kernels (fast): settings, LMS import entry by entry, safe
reading, sanitising, CSV/terminal escaping, resubmission detection, gradebook repair, reports."""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import sqlite3
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit import synth
from coursekit.config import ConfigError, KitGrading, kit_settings
from coursekit.grading import collect, gradebook, integrity, plan, safeio, sanitize
from coursekit.grading.model import JobResult
from coursekit.grading.report import Summary
from traitlets.config import Config

NB = "01_tensors"


# --------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------
def test_a_misspelt_setting_is_reported_with_the_nearest_real_one():
    cfg = Config()
    cfg.KitGrading.worker = 4
    with pytest.raises(ConfigError, match=r"KitGrading.worker is not a setting.*KitGrading.workers"):
        kit_settings(cfg)


def test_a_bad_value_is_reported():
    cfg = Config()
    cfg.KitSandbox.mode = "sometimes"
    with pytest.raises(ConfigError, match="KitSandbox"):
        kit_settings(cfg)


def test_defaults_live_in_one_place():
    """The limits are defined once, as traits in coursekit/config.py: the course's nbgrader_config.py does not
    set them again, and the README's table of defaults says what the code uses (every row, both columns)."""
    from coursekit.config import load_course_config
    from coursekit.paths import ROOT

    cfg = load_course_config(ROOT)
    assert not cfg.get("KitGrading") and not cfg.get("KitSandbox"), "kit settings set again in nbgrader_config.py"
    effective = dict(zip(("KitGrading", "KitSandbox"), kit_settings(cfg)))
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| limit | default | when it is hit |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert len(rows) >= 7, rows
    checked = []
    for row in rows:
        setting, default, when = [c.strip() for c in row.strip("|").split("|")]
        names = re.findall(r"`([\w.]+)`", setting)
        section = names[0].split(".")[0]
        numbers = [float(n) for n in re.findall(r"\d+", default)]
        for name, shown in zip(names, numbers):
            trait = name.split(".")[-1]
            if section == "ExecutePreprocessor":          # nbgrader's own setting: the course's value
                value = cfg.ExecutePreprocessor.timeout
            else:
                value = getattr(effective[section], trait)
                assert value == type(effective[section]).class_traits()[trait].default_value, name
            assert shown == value, f"README says {name} = {shown:g}, the code uses {value}"
            checked.append(name)
        if section != "ExecutePreprocessor" and re.search(r"\d", when):   # "timed out after 600 s" ...
            assert f"{getattr(effective[section], names[0].split('.')[-1]):g}" in when, row
    assert {"KitGrading.submission_timeout", "KitSandbox.memory_limit_mb", "tmp_limit_mb"} <= set(checked), checked


# --------------------------------------------------------------------------------------------
# LMS import
# --------------------------------------------------------------------------------------------
def _nb(text="x") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({text!r})")]
    return nbformat.writes(nb).encode()


def _zip(entries: list[tuple[str, bytes, int | None]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            if mode is not None:
                info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def test_import_entry_by_entry_never_stops_the_class(tmp_path):
    own = _zip([(f"{NB}.ipynb", _nb("own"), None), (f"bob_{NB}.ipynb", _nb("for bob"), None)])
    newer = zipfile.ZipInfo(f"dup_late_{NB}.ipynb", date_time=(2024, 2, 1, 0, 0, 0))
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data, mode in [
            (f"alice_1_assignsubmission_file_{NB}.ipynb", _nb("alice"), 0o4755),   # setuid bits
            (f"../../evil_{NB}.ipynb", _nb("slip"), None),                          # zip-slip: id 'evil'
            (f"/abs/path/abs_{NB}.ipynb", _nb("abs"), None),
            (f"win\\dir\\winny_{NB}.ipynb", _nb("win"), None),
            (f"{'x' * 300}_{NB}.ipynb", _nb("long"), None),
            (f"=2+5_{NB}.ipynb", _nb("formula"), None),
            (f"\x1b[31mred_{NB}.ipynb", _nb("ansi"), None),
            (f"dup_early_{NB}.ipynb", _nb("early"), None),
            (f"carol_{NB}.ipynb.gz", gzip.compress(_nb("carol")), None),
            (f"broken_{NB}.ipynb.gz", b"not gzip at all", None),
            ("dave_submission.zip", own, None),
            ("erin_submission.zip", b"PK\x03\x04 corrupt", None),
            ("notes.txt", b"hello", None),
        ]:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            if mode is not None:
                info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, data)
        zf.writestr(newer, _nb("late"))
    course = tmp_path / "course"
    course.mkdir()
    report = collect.import_download(course, NB, archive, [NB], KitGrading())
    sub = course / "submitted"
    got = sorted(p.name for p in sub.iterdir())
    assert got == ["abs", "alice", "carol", "dave", "dup", "evil", "winny"], got
    assert not list(tmp_path.glob("evil*")) and not (tmp_path.parent / f"evil_{NB}.ipynb").exists()
    mode = (sub / "alice" / NB / f"{NB}.ipynb").stat().st_mode
    assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IXUSR | stat.S_IXOTH)
    assert b"late" in (sub / "dup" / NB / f"{NB}.ipynb").read_bytes()
    assert b"own" in (sub / "dave" / NB / f"{NB}.ipynb").read_bytes()
    assert not (sub / "bob").exists()
    text = "\n".join(report.problems)
    for expected in ("longer than", "invalid student id '=2+5'", "invalid student id", "unreadable",
                     "bob inside dave's zip", "not a readable zip", "two files for dup", "not a notebook"):
        assert expected in text, (expected, text)
    assert "\x1b" not in text


def test_a_corrupt_archive_is_reported_not_fatal(tmp_path):
    archive = tmp_path / "lms.zip"
    archive.write_bytes(b"this is no zip")
    report = collect.import_download(tmp_path, NB, archive, [NB], KitGrading())
    assert report.problems and "not a readable zip" in report.problems[0]


def test_student_ids():
    for ok in ("jdoe42", "zoë", "a.b-c@d", "good_full"):
        assert collect.invalid_student_id(ok) is None
    for bad in ("", "=2+5", "-x", "_x", "../x", "a/b", "x" * 65, "\x1b[31m", "a b"):
        assert collect.invalid_student_id(bad), bad


def test_lms_pattern_matches_the_documented_file_names():
    rx = re.compile(collect.lms_regexp(["01_tensors"]))
    for path, (student, file_id) in {
        "jdoe42_12345_assignsubmission_file_01_tensors.ipynb": ("jdoe42", "01_tensors.ipynb"),
        "x/jdoe42_01_tensors.ipynb": ("jdoe42", "01_tensors.ipynb"),
        "zoë_Prüfung_01_tensors.ipynb": ("zoë", "01_tensors.ipynb"),
    }.items():
        m = rx.match(path)
        assert m and (m["student_id"], m["file_id"]) == (student, file_id)
    for bad in ("01_tensors.ipynb", "jdoe_notes.ipynb", "jdoe_02_mlp.ipynb"):
        assert not rx.match(bad)


# --------------------------------------------------------------------------------------------
# safe reading of what students wrote
# --------------------------------------------------------------------------------------------
def test_safeio_never_follows_links_nor_blocks_on_fifos(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root only")
    os.chmod(secret, 0o600)
    box = tmp_path / "box"
    box.mkdir()
    (box / "link").symlink_to(secret)
    os.mkfifo(box / "fifo")
    (box / "big").write_bytes(b"x" * 2048)
    (tmp_path / "dirlink").symlink_to(box)
    for name in ("link", "fifo"):
        with pytest.raises(safeio.Unsafe):
            safeio.read_file(box, name, 1 << 20)
    with pytest.raises(safeio.Unsafe, match="larger"):
        safeio.read_file(box, "big", 1024)
    with pytest.raises(safeio.Unsafe):
        safeio.read_file(tmp_path / "dirlink", "big", 1 << 20, below=tmp_path)
    assert dict(safeio.list_dir(box))["link"] == "link"
    safeio.write_atomic(box / "link", b"replaced")       # replaces the link, never writes through it
    assert secret.read_text() == "root only" and (box / "link").read_bytes() == b"replaced"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_plan_skips_links_in_submitted_and_detects_resubmission_by_content(tmp_path):
    course = tmp_path
    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(_nb("secret"))
    good = course / "submitted" / "ann" / NB
    good.mkdir(parents=True)
    (good / f"{NB}.ipynb").write_bytes(_nb("ann"))
    sneaky = course / "submitted" / "ben" / NB
    sneaky.mkdir(parents=True)
    (sneaky / f"{NB}.ipynb").symlink_to(secret)
    (course / "submitted" / "cat").symlink_to(good.parent)
    state = plan.State.load(course, NB)
    p = plan.plan(course, NB, [NB], state)
    jobs = {j.student: j for j in p.jobs}
    assert set(jobs) == {"ann", "ben"} and not jobs["ben"].notebooks
    assert any("link" in n for n in jobs["ben"].notes) and any("cat is a link" in x for x in p.problems)
    (course / "autograded" / "ann" / NB).mkdir(parents=True)
    state.record("ann", jobs["ann"].digest, "graded")
    state.save()
    os.utime(good / f"{NB}.ipynb", (1, 1))                   # touched, same content: not regraded
    again = plan.plan(course, NB, [NB], plan.State.load(course, NB))
    assert "ann" in again.skipped
    (good / f"{NB}.ipynb").write_bytes(_nb("ann v2"))         # new content: regraded
    third = plan.plan(course, NB, [NB], plan.State.load(course, NB))
    assert [j.why for j in third.jobs if j.student == "ann"] == ["resubmitted"]


# --------------------------------------------------------------------------------------------
# nothing a student wrote runs where the instructor looks
# --------------------------------------------------------------------------------------------
def test_sanitised_notebook_keeps_no_script():
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell("hi <script>alert(1)</script> [x](javascript:alert(2)) `a < b`")
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<b>ok</b><script>alert(3)</script>"
                                                                  "<img src=x onerror=alert(4)>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(5)", "text/plain": "js"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg onload=alert(6)/>"}),
        nbformat.v4.new_output("display_data", data={"image/png": "AAAA\"><script>alert(7)</script>"}),
        nbformat.v4.new_output("stream", name="stdout", text="/tmp/coursekit-grade-123/j1/out and /work/x"),
    ]
    nb.cells = [md, code]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"x": "<script>"}}
    out = json.loads(sanitize.notebook_bytes(nbformat.writes(nb).encode(), ["/tmp/coursekit-grade-123"]))
    text = json.dumps(out)
    for bad in ("<script", "onerror", "javascript:", "application/javascript", "svg", "widget", "coursekit-grade"):
        assert bad not in text, bad
    assert "<code>a &lt; b</code>" in out["cells"][0]["source"] and "<b>ok</b>" in text


def test_terminal_and_csv_escaping():
    assert "\x1b" not in sanitize.terminal("\x1b[2Jred\rx") and "\\x1b" in sanitize.terminal("\x1b[2J")
    assert sanitize.csv_cell("=2+5") == "'=2+5" and sanitize.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert sanitize.csv_cell("-1+1") == "'-1+1" and sanitize.csv_cell(3.5) == 3.5 and sanitize.csv_cell("ann") == "ann"


def test_summary_lists_flagged_first_and_escapes(tmp_path):
    r = {"ann": JobResult("ann", "d", "graded"), "zed": JobResult("zed", "d", "graded", flags=["cheated"]),
         "bob": JobResult("bob", "d", reason="=HYPERLINK(\x1b[31m)")}
    s = Summary("t", r, [], {"ann": (5, 5), "zed": (5, 5), "bob": (0, 5)}, {}, 1.0, "iso")
    assert [row.student for row in s.rows()] == ["zed", "bob", "ann"]
    text = s.text()
    assert text.index("FLAGGED zed") < text.index("FAILED bob") and "\x1b" not in text
    csv_text = s.write_csv(tmp_path).read_text()
    assert csv_text.splitlines()[1].startswith("zed,yes") and "'=HYPERLINK" in csv_text


# --------------------------------------------------------------------------------------------
# integrity: what the static look flags
# --------------------------------------------------------------------------------------------
def test_suspicious_code_is_found_in_student_cells_only():
    nb = nbformat.v4.new_notebook()
    locked = nbformat.v4.new_code_cell("import ctypes  # the course's own")
    locked.metadata["nbgrader"] = {"locked": True, "grade": True, "solution": False, "grade_id": "t", "points": 1}
    nb.cells = [locked, nbformat.v4.new_code_cell("model.eval()\nimport ctypes\nsys.modules['x'] = 1")]
    hits = integrity.suspicious(json.loads(nbformat.writes(nb)), list(KitGrading().suspicious_code_patterns))
    assert any("ctypes" in h for h in hits) and any("sys" in h for h in hits)
    assert not any("eval" in h for h in hits) and all(h.startswith("cell 2") for h in hits)


# --------------------------------------------------------------------------------------------
# gradebook
# --------------------------------------------------------------------------------------------
def test_a_half_made_gradebook_is_repaired(tmp_path):
    db = tmp_path / "gradebook.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE course (id VARCHAR(128) PRIMARY KEY)")
    con.commit()
    con.close()
    message = gradebook.check_and_repair(f"sqlite:///{db}")
    assert "half-made" in message
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == gradebook.head_revision()
    con.close()
    assert gradebook.check_and_repair(f"sqlite:///{db}") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert "empty" in gradebook.check_and_repair(f"sqlite:///{empty}") and not empty.exists()


# --------------------------------------------------------------------------------------------
# what comes back from a sandbox is checked; where there is no sandbox, it is said loudly
# --------------------------------------------------------------------------------------------
def test_forged_scores_from_a_sandbox_are_refused():
    from types import SimpleNamespace
    from coursekit.grading.worker import _checked_scores
    ctx = SimpleNamespace(cells={"nb": {"t1": 2.0, "t2": 3.0}}, comment_cells={"nb": {"a1"}})
    ok = _checked_scores(ctx, "nb", {"grades": {"t1": [2, 2, False], "t2": [0, 3, False]},
                                     "comments": {"a1": "<script>x</script>", "zz": "no"}, "penalty": 0})
    assert ok.grades["t1"].auto_score == 2.0 and ok.grades["t2"].max_score == 3.0
    import mistune        # comments are Markdown in Formgrader and feedback: what renders must hold no tag
    assert "<script" not in mistune.html(ok.comments["a1"]) and "zz" not in ok.comments
    for forged in ({"grades": {"t1": [5, 5, False], "t2": [0, 3, False]}},       # above the cell's points
                   {"grades": {"t1": [2, 2, False]}},                            # a cell missing
                   {"grades": {"t1": [2, 2, False], "t2": [0, 3, False], "t3": [9, 9, False]}},
                   {"grades": {"t1": ["2", 2, False], "t2": [0, 3, False]}},
                   {"grades": {"t1": [2, 2, False], "t2": [0, 3, False]}, "penalty": -10}):
        assert isinstance(_checked_scores(ctx, "nb", forged), str), forged


def test_no_bubblewrap_means_a_loud_warning_or_a_refusal(monkeypatch):
    from coursekit import sandbox
    monkeypatch.setattr(sandbox.bwrap, "bwrap_path", lambda: None)
    iso = sandbox.probe("auto", 4096, 256, None)
    assert not iso.isolated and "NOT ISOLATED" in iso.warnings[0] and "bubblewrap" in iso.warnings[0]
    assert "NO isolation" in iso.describe()
    with pytest.raises(SystemExit, match="required"):
        sandbox.probe("required", 4096, 256, None)


def test_formgrader_finds_the_tools_and_hides_the_exchange_panels(tmp_path, monkeypatch):
    import sys
    from coursekit.grading import formgrader
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cmd, env = formgrader.command(tmp_path, ["--allow-root"])
    assert cmd[0] == str(Path(sys.executable).parent / "jupyter") and "--ServerApp.default_url=/formgrader" in cmd
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent) and cmd[-1] == "--allow-root"
    config = Path(env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0])
    page = json.loads((config / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:assignment-list"]


# --------------------------------------------------------------------------------------------
# what a grading slot's driver does once instead of in every job (coursekit/slot/driver.py)
# --------------------------------------------------------------------------------------------
NBGRADER_METADATA = [
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "t1", "points": 2},
    {"schema_version": 3, "grade": False, "solution": True, "locked": False, "grade_id": "a1"},
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "t1", "points": "two"},
    {"schema_version": 3, "grade": "yes", "solution": False, "locked": True, "grade_id": "t1", "points": 1},
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "points": 1},
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": 7, "points": 1},
    {"schema_version": 3, "task": True, "grade": False, "solution": False, "locked": True, "grade_id": "k",
     "points": -1},
    {},
]


def test_nbgraders_metadata_check_gives_the_same_verdicts_with_its_schema_checked_once(monkeypatch):
    """nbgrader validates every cell's metadata with jsonschema.validate, which checks the schema
    itself each time; the driver's stand-in checks it once and must decide exactly the same."""
    import jsonschema
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
    from coursekit.slot.driver import _MetadataSchema

    schema = MetadataValidatorV3().schema

    def verdict(validate, meta):
        try:
            validate(meta, schema)
        except jsonschema.ValidationError as err:
            return type(err).__name__, err.message, list(err.path), list(err.schema_path)
        return None

    expected = [verdict(jsonschema.validate, m) for m in NBGRADER_METADATA]
    assert expected.count(None) >= 2 and len(expected) - expected.count(None) >= 4
    cls = jsonschema.validators.validator_for(schema)
    checks = []
    original = cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s, *a, **k: (checks.append(1), original(s))))
    shim = _MetadataSchema(jsonschema)
    assert [verdict(shim.validate, m) for m in NBGRADER_METADATA * 3] == expected * 3
    assert len(checks) == 1
    bad_schema = dict(schema, type=12)
    with pytest.raises(jsonschema.SchemaError):     # a broken schema is still refused, as jsonschema does
        shim.validate({}, bad_schema)
    assert shim.ValidationError is jsonschema.ValidationError    # everything else is jsonschema's own


# nbgrader's update_or_create_submission warns so with an engine per Gradebook too
@pytest.mark.filterwarnings("ignore:Object of type <SubmittedAssignment> not in session")
def test_a_jobs_gradebooks_share_one_engine_and_still_work(tmp_path, monkeypatch):
    import sys
    import nbgrader.api
    import sqlalchemy
    from coursekit.slot.gradebooks import Engines

    shared = Engines(sqlalchemy.create_engine)
    url_a, url_b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    assert shared(url_a, echo=False, future=True) is shared(url_a, echo=False, future=True)
    assert shared(url_a, echo=False, future=True) is not shared(url_b, echo=False, future=True)
    assert shared(url_a, echo=True) is shared(url_a, echo=True)
    assert shared(url_a, echo=True) is not shared(url_a, echo=False, future=True)
    monkeypatch.setattr(nbgrader.api, "create_engine", Engines(sqlalchemy.create_engine))
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}")   # alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with nbgrader.api.Gradebook(url) as gb:          # nbgrader opens, closes and reopens its gradebook
        gb.add_assignment("01_tensors")
        gb.add_student("student")
        with nbgrader.api.Gradebook(url) as inner:   # and nests them
            assert inner.find_assignment("01_tensors").name == "01_tensors"
    for _ in range(3):
        with nbgrader.api.Gradebook(url) as gb:
            gb.update_or_create_submission("01_tensors", "student")
            assert [s.student.id for s in gb.find_assignment("01_tensors").submissions] == ["student"]
    with sqlite3.connect(tmp_path / "gradebook.db") as db:     # it is all on disk
        assert db.execute("select count(*) from submitted_assignment").fetchone() == (1,)


@pytest.mark.filterwarnings("ignore:Object of type <Submitted")
def test_a_job_after_the_rehearsal_compiles_none_of_its_gradebook_sql_and_writes_only_its_own_file(tmp_path, monkeypatch):
    """The slot's rehearsal (coursekit/slot/gradebooks.py) on a scratch copy of the first job's gradebook:
    the job then finds every statement of the same calls compiled, on its own file."""
    import sys
    import nbgrader.api
    import sqlalchemy
    from coursekit.slot import gradebooks

    made_engines = []

    def create_engine(*args, **kwargs):
        made_engines.append(sqlalchemy.create_engine(*args, **kwargs))
        return made_engines[-1]
    engines = gradebooks.Engines(create_engine)
    monkeypatch.setattr(nbgrader.api, "create_engine", engines)
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}")   # alembic
    source = tmp_path / "source.db"
    with nbgrader.api.Gradebook(f"sqlite:///{source}", "course") as gb:
        gb.add_assignment("01_tensors")
        gb.add_notebook("01_tensors", "01_tensors")
        gb.add_grade_cell("t1", "01_tensors", "01_tensors", max_score=2, cell_type="code")
        gb.add_solution_cell("s1", "01_tensors", "01_tensors")
        gb.add_source_cell("t1", "01_tensors", "01_tensors", cell_type="code", source="assert True")
        gb.add_source_cell("s1", "01_tensors", "01_tensors", cell_type="code", source="x = 1")
    engines.release()
    scratch = tmp_path / "rehearsal" / "gradebook.db"
    assert gradebooks.rehearse(engines, source, scratch, "course", "01_tensors", "student")
    assert not scratch.exists()
    assert len(made_engines) == 1
    cache = made_engines[0]._compiled_cache
    made = len(cache)
    job = tmp_path / "job.db"
    assert gradebooks.rehearse(engines, source, job, "course", "01_tensors", "student")  # (the same calls, as a job)
    assert len(made_engines) == 1 and made > 20 and len(cache) == made
    with sqlite3.connect(source) as db:            # the rehearsals wrote only their own copies
        assert db.execute("select count(*) from submitted_assignment").fetchone() == (0,)


def test_the_font_cache_is_found_where_matplotlib_keeps_it_without_importing_it(tmp_path, monkeypatch):
    """The grader copies matplotlib's font list into each sandbox; it looks for it in the folder
    matplotlib itself would use, without importing matplotlib (half a CPU-second)."""
    import subprocess
    import sys
    from coursekit.grading.pipeline import _mpl_cache

    def matplotlib_says(env) -> Path:
        out = subprocess.run([sys.executable, "-c", "import matplotlib; print(matplotlib.get_cachedir())"],
                             env=env, capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())

    config, xdg, home = tmp_path / "config", tmp_path / "xdg", tmp_path / "home"
    for folder in (config, xdg / "matplotlib", home / ".cache" / "matplotlib"):
        folder.mkdir(parents=True)
        (folder / "fontlist-v390.json").write_text("{}")
    base = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME")}
    for extra in ({"MPLCONFIGDIR": str(config)}, {"XDG_CACHE_HOME": str(xdg), "HOME": str(home)},
                  {"HOME": str(home)}):
        env = {**base, **extra}
        for key in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "HOME"):
            monkeypatch.delenv(key, raising=False)
        for key, value in extra.items():
            monkeypatch.setenv(key, value)
        assert _mpl_cache() == [matplotlib_says(env) / "fontlist-v390.json"], extra
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "empty"))
    assert _mpl_cache() == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root grades as throw-away uids")
def test_unisolated_grading_as_root_is_refused_when_its_throwaway_uid_cannot_run_python(tmp_path, monkeypatch):
    """Without isolation, root grades each submission as a throw-away uid; a Python that uid cannot
    run (one under /root, say) used to fail every submission one by one. The run is refused first,
    saying why and what to do."""
    import shutil
    import sys
    from coursekit import sandbox

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    python = locked / "python3"
    shutil.copy(os.path.realpath(sys.executable), python)
    problem = sandbox.unreachable_as(4_000_123, str(python))
    assert problem and "Permission denied" in problem and str(python) in problem and "not under /root" in problem
    monkeypatch.setattr(sandbox, "unreachable_as", lambda uid, python=None: problem)
    with pytest.raises(SystemExit, match="cannot grade: grading without isolation as root"):
        sandbox.probe("off", 512, 64, 4_000_123)
    assert sandbox.probe("off", 512, 64, None).isolated is False     # not as root: runs as you, nothing to check


# --------------------------------------------------------------------------------------------
# locked cells compared with the gradebook's record (as nbgrader's checksums compare them)
# --------------------------------------------------------------------------------------------

def _gradebook_record(topic: str) -> list[tuple[str, str, str, bool]]:
    """The cells nbgrader's SaveCells records for a topic: the solution's, hidden tests included."""
    sol = json.loads((synth.ROOT / "solutions" / topic / f"{topic}.ipynb").read_text(encoding="utf-8"))
    return [(c["metadata"]["nbgrader"]["grade_id"], c["cell_type"], "".join(c["source"]),
             bool(c["metadata"]["nbgrader"].get("locked")))
            for c in sol["cells"] if (c.get("metadata") or {}).get("nbgrader", {}).get("grade_id")]


@pytest.mark.parametrize("topic", ["01_tensors", "05_training_loops", "08_mnist"])
def test_untouched_student_version_is_not_flagged_against_the_gradebook(topic):
    from coursekit.grading import diagnostics
    released = (synth.ROOT / "notebooks" / topic / f"{topic}.ipynb").read_bytes()
    reference = diagnostics.gradebook_cells(_gradebook_record(topic))
    assert diagnostics.tamper_notes(released, reference) == ([], [])
    # an edited visible test is still found
    nb = json.loads(released)
    test = next(c for c in nb["cells"] if (c["metadata"].get("nbgrader") or {}).get("locked")
                and c["cell_type"] == "code" and (c["metadata"]["nbgrader"] or {}).get("grade"))
    test["source"] = "pass\n"
    flags, _ = diagnostics.tamper_notes(json.dumps(nb).encode(), reference)
    assert any("was edited" in f for f in flags), flags


def test_kernel_folder_holds_the_assignments_files_but_no_graded_notebook(tmp_path):
    """A later notebook's kernel never sees the notebooks graded before it (they hold hidden tests)."""
    from coursekit.slot.preprocessors import ClearWorkdir, KernelFolder
    graded = tmp_path / "autograded"
    (graded / "data").mkdir(parents=True)
    (graded / "data" / "numbers.csv").write_text("1,2\n")
    (graded / "part1.ipynb").write_text('{"cells": ["### BEGIN HIDDEN TESTS"]}')
    (graded / "helper.py").write_text("X = 1\n")
    resources = {"metadata": {"path": str(graded)}}
    nb, resources = KernelFolder(folder=str(tmp_path / "kernel")).preprocess(nbformat.v4.new_notebook(), resources)
    seen = sorted(str(p.relative_to(tmp_path / "kernel")) for p in (tmp_path / "kernel").rglob("*"))
    assert seen == ["data", "data/numbers.csv", "helper.py"]
    ClearWorkdir().preprocess(nb, resources)
    assert not (tmp_path / "kernel").exists() and resources["metadata"]["path"] == str(graded)


def test_rebinding_a_check_in_any_module_of_the_checks_package_is_flagged():
    patterns = list(KitGrading().suspicious_code_patterns)

    def flagged(code: str) -> list[str]:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        return integrity.suspicious(json.loads(nbformat.writes(nb)), patterns)

    for cheat in ("import utils\nutils.checks.compare.check_close = lambda *a, **k: None",
                  "utils.checks.check_close = print", "utils.checks._format . fail=None"):
        assert any("utils.checks" in hit for hit in flagged(cheat)), cheat
    for honest in ("from utils.checks import check_close\ncheck_close(result, expected, 'the result')",
                   "utils.checks.compare.check_close(result, expected, what='x', atol=1e-3)",
                   "if utils.checks.compare.check_close == check_close:\n    pass"):
        assert not flagged(honest), honest


def test_a_graded_cell_the_assignment_does_not_have_is_named_in_a_note():
    from coursekit.grading import diagnostics
    released = json.loads((synth.ROOT / "notebooks" / NB / f"{NB}.ipynb").read_bytes())
    nb = json.loads(json.dumps(released))
    pasted = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "other_hw_q3", "grade": True,
                                                                        "solution": True, "points": 5}})
    nb["cells"].append(pasted)
    flags, notes = diagnostics.tamper_notes(json.dumps(nb).encode(), released)
    assert flags == [] and any("other_hw_q3 is not one of the assignment's" in n for n in notes), notes
    assert diagnostics.tamper_notes(json.dumps(released).encode(), released) == ([], [])


@pytest.mark.parametrize("section, values, words", [
    ("Execute", {"enabled": False}, "--no-execute"),
    ("CourseDirectory", {"directory_structure": "{nbgrader_step}/{assignment_id}/{student_id}"}, "directory_structure"),
    ("CourseDirectory", {"student_id": "ann"}, "--student ID"),
])
def test_nbgrader_options_the_kit_does_not_do_are_refused_loudly(section, values, words):
    from coursekit.grading import assignment
    cfg = Config({section: values})
    with pytest.raises(assignment.AssignmentError, match=re.escape(words)):
        assignment.refuse_options(cfg, False)
    assignment.refuse_options(Config({"CourseDirectory": {"student_id": "*", "ignore": [".x"]}}), False)
