"""Whose entry is it? The LMS download layouts the import knows, and which part of a name the LMS controls.

Every layout splits an entry's path into the part the LMS wrote (it says whose the file is) and the
part the student chose (their own file name, which only says *which notebook* it is, never whose).
The layout is detected per upload: each layout counts the entries it can read, the one that reads
the most wins, ties going to the more specific layout (the order of ``LAYOUTS``). In a real download
the right layout reads every entry, so a student, who can only add entries inside their own part of
the download, can never make another layout win; entries the chosen layout cannot read are listed
and skipped. ``--pattern`` replaces detection. Moodle's part holds the participant's full name: the
id is its slug (``Jane-Doe``), the name goes to the gradebook; Canvas's and Blackboard's hold a
login, Blackboard's the attempt time (the submission's time).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from coursekit.grading.sanitize import one_line

LMS_PATTERN_HELP = (
    "detected per upload: Moodle ('Jane Doe_123_assignsubmission_file_<file>' or, downloaded in folders, "
    "'Jane Doe_123_assignsubmission_file_/<file>'; the id is the name as 'Jane-Doe'), "
    "Canvas ('<name>_[late_]<userid>_<fileid>_<file>', the name Canvas's lower-cased 'doejane'), "
    "Blackboard ('<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>'), a folder per student "
    "('<student_id>/<file>', as nbgrader's submitted/<student_id>/<topic>/), or '<student_id>_<anything>_<notebook>"
    ".ipynb'; the id comes from the LMS's part of the name, the file only says which notebook it is; "
    "a student's own zip counts for that student only; a student's other files (data, modules, images) "
    "go beside their notebooks, with their folders"
)
_ID_CHARS = re.compile(r"[^\W_][\w.@-]*")
# Unicode categories never allowed in an id: controls, format characters (bidi overrides, zero-width),
# surrogates, private use, unassigned, and every kind of separator (line, paragraph, space).
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}


def shown(name: str) -> str:
    return one_line(name, 80)


def invalid_student_id(sid: str, max_length: int = 64) -> str | None:
    """Why ``sid`` cannot be a student id, or None."""
    if not sid:
        return "empty student id"
    if len(sid) > max_length:
        return f"student id longer than {max_length} characters"
    for ch in sid:
        if unicodedata.category(ch) in _BAD_CATEGORIES or ch.isspace():
            return (f"invalid student id {shown(sid)!r}: it contains the character U+{ord(ch):04X} "
                    f"({unicodedata.category(ch)}: control, format or space)")
    if unicodedata.normalize("NFC", sid) != sid:
        return "student id not in Unicode normal form (NFC)"
    if not _ID_CHARS.fullmatch(sid):
        return (f"invalid student id {shown(sid)!r} (letters, digits, '_', '.', '-', '@'; starting with a letter "
                "or digit)")
    return None


@dataclass(frozen=True)
class Named:
    """What an entry's name says: ``student`` (the id, from the LMS's part), ``key`` (the LMS's own
    identity of the submitter: two keys for one id are two people, and neither is imported),
    ``file`` (the student's own file name, folders included), ``order`` (the LMS's own order of two
    files, newer last; compared before the entry dates)."""
    student: str
    key: str
    file: str
    order: tuple = ()
    timestamp: str | None = None
    notebook: str | None = None        # set when the layout's pattern names the notebook (--pattern)
    receipt: bool = False              # an LMS's own note about a submission (Blackboard's .txt)
    names: tuple | None = None         # (first, last) as the LMS wrote them, for the gradebook
    lms: tuple | None = None           # (LMS, its own id of the submitter, the name it wrote): for lms_export
    late: bool = False                 # the LMS marks it late but records no time (Canvas's 'late_')
    stamp_file: bool = False           # a timestamp.txt in a folder per student (nbgrader's submission time)


class Layout:
    name = "?"
    rx: re.Pattern

    def parse(self, path: str) -> Named | None:
        m = self.rx.fullmatch(path)
        return self.named(m) if m else None

    def named(self, m: re.Match) -> Named | None:
        raise NotImplementedError


def slug(name: str) -> str:
    """A student id made from a full name (Moodle's prefix): NFC, letters and digits kept, every run of
    other characters one '-' ('Jane Doe' -> 'Jane-Doe', "Seán O'Brien" -> 'Seán-O-Brien')."""
    name = unicodedata.normalize("NFC", name)
    return re.sub(r"-{2,}", "-", "".join(ch if ch.isalnum() else "-" for ch in name)).strip("-")


def split_name(name: str) -> tuple[str | None, str | None]:
    """(first, last) of a full name, split at its last space ('Mary Ann Lee' -> ('Mary Ann', 'Lee'))."""
    words = unicodedata.normalize("NFC", name).split()
    if not words:
        return None, None
    return (" ".join(words[:-1]) or None), words[-1]


def blackboard_time(stamp: str) -> str:
    """Blackboard's attempt time '2016-01-30-15-00-00' as nbgrader's timestamp '2016-01-30 15:00:00'."""
    y, mo, d, h, mi, sec = stamp.split("-")
    return f"{y}-{mo}-{d} {h}:{mi}:{sec}"


def submission_time(text: str | None):
    """A submission time (Blackboard's, a --pattern's) as nbgrader reads timestamp.txt: a naive UTC
    datetime, or None (no time, or not one: dateutil alone would read 'tuesday' as a date)."""
    if not text or not re.match(r"\d{4}-\d{1,2}-\d{1,2}", text.strip()):
        return None
    from nbgrader.utils import parse_utc
    try:
        return parse_utc(text.strip())
    except Exception:       # noqa: BLE001 - dateutil's ParserError, OverflowError ...
        return None


def moodle_named(m: re.Match) -> Named:
    """Moodle's prefix holds the participant's full name and number: the id is the name's slug, the
    name goes to the gradebook, the number is the LMS key (two participants, one slug: neither)."""
    return Named(slug(m["name"]), f"participant {m['uid']}", m["file"], names=split_name(m["name"]),
                 lms=("moodle", m["uid"], m["name"]))


MOODLE_BY_NUMBER = r"(?:.*/)?[^/_]+_(?P<student_id>\d+)_assignsubmission_file_/?(?P<file_id>[^/]+)$"


class MoodleFolders(Layout):
    # Moodle (mod/assign/locallib.php, download_submissions, "Download submissions in folders", the default
    # since 3.1): prefix = str_replace('_', ' ', fullname) . '_' . uniqueid; folder = prefix . '_' . subtype
    # . '_' . type [. '_'], then the student's own file path. The folder is Moodle's; no '_' in the name part.
    name = "Moodle, in folders"
    rx = re.compile(r"(?P<name>[^/_]+)_(?P<uid>\d+)_assignsubmission_file_?/(?P<file>.+)", re.S)

    def named(self, m):
        return moodle_named(m)


class Moodle(Layout):
    # Moodle, flat (same source): clean_filename(prefix . '_' . subtype . '_' . type . '_' . filename); the
    # student's file name starts after the first '_assignsubmission_file_' (it may contain that text again).
    name = "Moodle"
    rx = re.compile(r"(?P<name>[^/_]+)_(?P<uid>\d+)_assignsubmission_file_(?P<file>[^/]+)", re.S)

    def named(self, m):
        return moodle_named(m)


class Blackboard(Layout):
    # Blackboard Learn's gradebook download: '<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>' and
    # a receipt '<Assignment>_<username>_attempt_<...>.txt' (nbgrader's FileNameCollectorPlugin.named_regexp
    # example 'ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb'; vangef/BBGradebookOrganiser takes
    # the username as file_name.split('_attempt_')[0].split('_')[-1]). The *first* '_attempt_<time>' is
    # Blackboard's (the student's file name may contain another); the assignment name may contain '_', so
    # the LMS key is the whole prefix: a username with '_' in it is then refused, never given to someone else.
    name = "Blackboard"
    rx = re.compile(r"(?P<pre>[^/]+?)_attempt_(?P<ts>\d{4}(?:-\d\d){5})(?:_(?P<file>[^/]+)|(?P<receipt>\.txt))",
                    re.S)

    def named(self, m):
        student = m["pre"].rsplit("_", 1)[-1]
        order = tuple(int(x) for x in m["ts"].split("-"))
        return Named(student, f"Blackboard {m['pre']}", m["file"] or "", order, receipt=bool(m["receipt"]),
                     timestamp=blackboard_time(m["ts"]), names=(None, student), lms=("blackboard", student, ""))


class Canvas(Layout):
    # Canvas "Download Submissions" (lib/content_zipper.rb: [sortable name, 'LATE' if late, user id].join('_'),
    # every non-word character removed and lower-cased, then '_<attachment id>_<file name>'):
    # 'doejane_101_5001_<file>', late 'doejane_late_101_5001_<file>'; the user id is the gradebook's "ID"
    # (lms_export); a resubmitted file gets '-<n>' before its extension
    # (TimHanneman/Canvas_submission_sort: "a student name, two id fields ... an extra field if the
    # assignment was submitted late ... a number is added at the end of the filename").
    name = "Canvas"
    rx = re.compile(r"(?P<name>[^/_]+)_(?:(?P<late>LATE|late)_)?(?P<uid>\d+)_(?P<attempt>\d+)_(?P<file>[^/]+)", re.S)

    def named(self, m):
        return Named(m["name"], f"Canvas user {m['uid']}", m["file"], (int(m["attempt"]),),
                     names=(None, m["name"]), lms=("canvas", m["uid"], m["name"]), late=bool(m["late"]))


class Folders(Layout):
    # A folder per student: '<student_id>/<anything>' (nbgrader's own submitted/<student_id>/<assignment>/;
    # a common top folder such as 'submitted/' is removed first, see detect()).
    name = "a folder per student"
    rx = re.compile(r"(?P<name>[^/]+)/(?P<file>.+)", re.S)

    def named(self, m):
        return Named(m["name"], f"folder {m['name']}", m["file"],
                     stamp_file=m["file"].rsplit("/", 1)[-1] == "timestamp.txt")


class Generic(Layout):
    # The kit's own: '<student_id>_<anything>' (any folders in front), e.g. 'jdoe42_01_tensors.ipynb'.
    name = "<student_id>_<file>"
    rx = re.compile(r"(?:.*/)?(?P<name>[^/_]+)_(?P<file>[^/]+)", re.S)

    def named(self, m):
        return Named(m["name"], m["name"], m["file"])


class Pattern(Layout):
    """--pattern: a regular expression for the whole path, groups student_id, file_id, optionally timestamp.
    A student's zip is read with the kit's own '<student_id>_<anything>.zip'."""
    name = "--pattern"

    def __init__(self, pattern: str):
        self.rx = re.compile(pattern)

    def parse(self, path):
        if path.lower().endswith(".zip"):
            return Generic().parse(path)
        m = self.rx.match(path)
        if not m:
            return None
        file_id = m.group("file_id") or ""
        notebook = file_id[:-len(".ipynb")] if file_id.endswith(".ipynb") else file_id
        return Named(m.group("student_id") or "", m.group("student_id") or "", file_id,
                     timestamp=m.groupdict().get("timestamp"), notebook=notebook)


LAYOUTS = (MoodleFolders(), Moodle(), Blackboard(), Canvas(), Folders(), Generic())


def common_top(paths: list[str]) -> str:
    """The top folder every path shares ('submitted/', a re-zipped download's own folder), or ''."""
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths):
        return tops.pop() + "/"
    return ""


def detect(paths: list[str]) -> tuple[Layout, str]:
    """The layout (and the top folder to remove) that reads the most of ``paths``; ties: LAYOUTS' order, and
    a top folder all paths share is removed (a re-zipped download, nbgrader's 'submitted/') unless only the
    kit's own flat layout reads the paths without it.

    A download of one submitter laid out in folders is the exception: there the shared top folder is the
    LMS's own part ('Alice Smith_12_assignsubmission_file_/', or 'alice/' of a folder per student), and
    removing it would let the student's own subfolders ('Bob Jones_34_assignsubmission_file_/', 'bob/')
    say whose work it is. So the top folder stays where, without it, the entries would name one submitter
    only and the top folder itself reads as an LMS's folder (nbgrader's 'submitted/' is always removed)."""
    def best_of(prefix: str) -> tuple[Layout, int, list[str]]:
        names = [p[len(prefix):] for p in paths]
        best, count = LAYOUTS[-1], -1
        for layout in LAYOUTS:
            n = sum(1 for p in names if layout.parse(p) is not None)
            if n > count:
                best, count = layout, n
        return best, count, names

    plain, plain_count, _ = best_of("")
    top = common_top(paths)
    if not top:
        return plain, ""
    stripped, stripped_count, names = best_of(top)
    if stripped_count < plain_count or (stripped_count == plain_count and isinstance(stripped, Generic)):
        return plain, ""
    submitters = {n.key for n in (stripped.parse(p) for p in names) if n is not None}
    top_is_lms_folder = (not isinstance(plain, (Folders, Generic))
                         or (isinstance(plain, Folders) and isinstance(stripped, Folders)))
    if (len(submitters) <= 1 and plain_count >= stripped_count and top_is_lms_folder
            and top != "submitted/"):
        return plain, ""
    return stripped, top


def notebook_of(file: str, notebooks: list[str]) -> str | None:
    """Which of the topic's notebooks the student's own file name is: '<notebook>.ipynb', or ending in
    '_<notebook>.ipynb', with Canvas's '-<n>' of a resubmission allowed before '.ipynb'."""
    base = file.rsplit("/", 1)[-1]
    if not base.endswith(".ipynb"):
        return None
    stem = re.sub(r"-\d+$", "", base[:-len(".ipynb")])
    for nb in sorted(notebooks, key=len, reverse=True):
        if stem == nb or stem.endswith("_" + nb):
            return nb
    return None


def lms_regexp(notebooks: list[str]) -> str:
    """The kit's own flat name for a notebook as one regular expression (groups student_id, file_id)."""
    names = "|".join(re.escape(n) for n in sorted(notebooks, key=len, reverse=True))
    return rf"^(?:.*/)?(?P<student_id>[^/_]+)_(?:[^/]*_)?(?P<file_id>(?:{names})\.ipynb)$"
