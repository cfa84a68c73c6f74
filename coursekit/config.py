"""The kit's own settings, as traitlets Configurables read from the course's ``nbgrader_config.py``.

Each setting is a trait with its default and its help in one place (here), set in the course's
configuration file like nbgrader's own::

    c.KitGrading.workers = 4
    c.KitSandbox.memory_limit_mb = 4096

A misspelt name (``c.KitGrading.worker = 4``) or a value of the wrong type stops the command with a
message naming the setting and, for a typo, the nearest real one. ``python -m coursekit grade
--help-config`` prints every setting with its help.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from traitlets import Bool, Enum, Float, Int, List, TraitError, Unicode
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader


class KitGrading(Configurable):
    """How ``make grade`` / ``python -m coursekit grade`` grades a topic."""

    workers = Int(0, help="Submissions graded at once (each in its own sandbox); 0: one per CPU core, plus one "
                          "(a slot idles while its kernel starts and while nbgrader reads and writes; on 2 cores "
                          "3 workers grade 10% faster than 2). Each takes about 1.5 GiB at its peak.").tag(config=True)
    judge = Bool(
        True, help="Run the graded test cells (visible and hidden) in a judge kernel of their own, in a sandbox of "
                   "its own, that never executes student code: every verdict, expected value and message is "
                   "computed there, and the hidden tests never reach the student's kernel. The names a test cell "
                   "takes from the notebook are looked up in the student's kernel as data (coursekit/judge); objects "
                   "a test cell passes into student code must be data, torch.nn/torch.optim/DataLoader objects or "
                   "the instruments of utils.checks.instruments. False: plain nbgrader's way, for comparison only: the "
                   "test cells (hidden ones included) run in the student's own kernel, which can change their "
                   "verdicts, with no defence (the static look still flags suspicious code).").tag(config=True)
    cluster = Unicode(
        "", help="The address of a Dask scheduler (e.g. 'tcp://grader-head:8786'): grade on its workers instead of "
                 "this machine's cores (--cluster). Each worker runs the same sandboxes, one submission per worker "
                 "thread, and must have the course environment and bubblewrap (checked first; a worker that fails "
                 "is refused with the reason). The gradebook, autograded/, feedback and grades.csv are written "
                 "here only. Empty: grade here.").tag(config=True)
    submission_timeout = Float(
        600.0, help="Seconds one submission may take altogether (kernel start, every cell, saving). Over it: "
                    "0 points and the reason 'timed out after N s'. The per-cell limit is nbgrader's "
                    "ExecutePreprocessor.timeout.").tag(config=True)
    feedback_hidden_tests = Bool(
        False, help="Show the hidden tests (and the tracebacks of the cells holding them) in the feedback "
                    "HTML. Off by default: feedback shows the visible tests and each failing cell's "
                    "message only.").tag(config=True)
    max_notebook_mb = Float(
        20.0, help="Largest notebook accepted from a submission or an archive entry (MiB); a larger one is "
                   "reported and skipped. Also the cap on the executed notebook read back from the sandbox "
                   "(times 4: outputs grow).").tag(config=True)
    max_download_entries = Int(
        100000, help="Budget of one upload (the LMS download, or each LMS zip in a --from folder): most entries read "
                     "from it, students' own zips included. A class of 500 with 20 files each uses a tenth. Over "
                     "it: the rest of that upload is listed (students named) and skipped.").tag(config=True)
    max_download_mb = Float(8192.0, help="Budget of one upload: most bytes read from it, decompressed "
                                         "(MiB).").tag(config=True)
    max_student_entries = Int(
        1000, help="Budget of one student: most entries read for them (their files and their own zip's entries); "
                   "a student's zip that declares more is skipped whole. Over it: only that student's further "
                   "entries are skipped, and the summary says so first.").tag(config=True)
    max_student_mb = Float(200.0, help="Budget of one student: most bytes read for them, their zip and what it "
                                       "decompresses to (MiB).").tag(config=True)
    max_archive_depth = Int(3, help="Most archives one inside another (the download, a student's zip, a .gz in "
                                    "it); a zip inside a student's zip is always refused.").tag(config=True)
    lms_time_zone = Unicode(
        "UTC", help="The time zone of submission times read from an LMS download's file names (Blackboard's "
                    "'_attempt_YYYY-MM-DD-HH-MM-SS_': the Blackboard server's zone), e.g. 'Europe/Berlin'. nbgrader "
                    "compares them with the due date (`python -m coursekit deadline`).").tag(config=True)
    max_name_length = Int(255, help="Longest archive entry name accepted (characters).").tag(config=True)
    max_student_id_length = Int(64, help="Longest student id accepted (characters).").tag(config=True)
    suspicious_code_patterns = List(
        Unicode(),
        ["ctypes", r"sys\.modules", "get_ipython", "input_transformers", "ast_transformers", "set_custom_exc",
         r"\bbuiltins\b", r"__builtins__", r"settrace|setprofile", r"gc\.get_referrers|gc\.get_objects",
         r"\bos\.fork\b|\bfork\(|subprocess|os\.system|os\.exec|multiprocessing", r"utils\.checks(\s*\.\s*\w+)+\s*=(?!=)",
         r"setattr\(\s*(torch|np|numpy|utils|math)\b", r"\b(torch|np|numpy|math)(\.\w+)+\s*=[^=]",
         r"importlib|__import__", r"(?<![.\w])(exec|eval|compile)\s*\("],
        help="Regular expressions searched in the code a student wrote (not in locked cells). A match "
             "does not change the score: the submission is flagged for a human to read.").tag(config=True)
    similarity_threshold = Float(
        2.0, help="Pairs of students whose similarity score is at least this are listed in the summary, the "
                  "per-student report and similarity_<topic>.html (the score: exercises' worth of rare code two "
                  "students share, plus shared notebook traces). On synthetic classes of 40 with planted copies "
                  "(every topic, `python -m coursekit bench similarity`): 2.0 found 69% of them with 0.4 false "
                  "pairs per class; 2.5 found 56% with 0.05. Scores never change.").tag(config=True)


class KitSandbox(Configurable):
    """The isolated space each submission is graded in (bubblewrap, limits)."""

    mode = Enum(["auto", "required", "off"], "auto",
                help="auto: isolate with bubblewrap where the machine allows it, otherwise grade with a loud "
                     "warning; required: refuse to grade without isolation; off: no isolation (your own "
                     "trusted notebooks only).").tag(config=True)
    memory_limit_mb = Int(
        4096, help="Real memory (RAM, counted by a cgroup: the kernel, nbgrader and the sandbox's /tmp "
                   "together) one submission may use; 0: none. Measured peak of the heaviest solution "
                   "(07/08): about 1 GiB. Where no cgroup can be made, address_space_mb applies "
                   "instead.").tag(config=True)
    address_space_mb = Int(
        12288, help="Fallback when no cgroup is available: the address-space limit (RLIMIT_AS) of the "
                    "student kernel; 0: none. It counts reserved, not used, memory: torch with "
                    "OMP_NUM_THREADS=1 reserves about 4.8 GiB at its peak in the course's solutions, so keep "
                    "it well above that.").tag(config=True)
    max_processes = Int(256, help="Most processes and threads one submission may run at once (cgroup pids "
                                  "limit, or RLIMIT_NPROC for the sandbox's own uid).").tag(config=True)
    disk_limit_mb = Int(512, help="Size of the submission's private writable space (its working copy, "
                                  "counted in memory) (MiB).").tag(config=True)
    tmp_limit_mb = Int(256, help="Size of the private /tmp and of /dev/shm inside the sandbox (MiB each).").tag(config=True)
    max_file_mb = Int(256, help="Largest file a student kernel may write (RLIMIT_FSIZE) (MiB).").tag(config=True)
    kernel_threads = Int(1, help="OMP_NUM_THREADS / MKL_NUM_THREADS of student kernels. The course's "
                                 "networks are tiny: one thread per kernel is the fastest when several "
                                 "kernels share the cores.").tag(config=True)
    warm_kernels = Bool(
        True, help="Fork each submission's kernel from a process of its grading slot that has already imported "
                   "torch, NumPy, matplotlib, IPython and utils, and enter the submission's own sandbox (the "
                   "same namespaces, file system and limits) before any student code runs: 0.2 s instead of "
                   "2 to 3 s of CPU per kernel. False: every kernel starts cold. Where the sandbox cannot be "
                   "entered after a fork, kernels start cold and the run says so.").tag(config=True)
    preload_modules = List(
        Unicode(), ["numpy", "numpy.random", "torch", "torch.nn", "torch.nn.functional", "torch.utils.data",
                    "torch.testing", "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg",
                    "utils", "utils._arrays", "utils._course_notes", "utils.training", "utils.checks",
                    "utils.plotting"],
        help="With warm_kernels: the course's modules each grading slot imports once, before it forks kernels "
             "(what every notebook imports; add a library your notebooks all use). Nothing whose import "
             "looks for a running IPython shell (matplotlib_inline, ipywidgets, tqdm.auto).").tag(config=True)
    uid_base = Int(400000, help="As root, each sandbox runs as its own unused uid from "
                                "[uid_base, uid_base + uid_count), locked while it runs, so that concurrent "
                                "grading runs never share one.").tag(config=True)
    uid_count = Int(60000, help="Size of the uid range for sandboxes (see uid_base).").tag(config=True)


KIT_CLASSES = (KitGrading, KitSandbox)


class ConfigError(SystemExit):
    """A setting in nbgrader_config.py that the kit does not know or cannot use."""


def load_course_config(root: Path) -> Config:
    """The course's ``nbgrader_config.py`` (traitlets Config) with ``CourseDirectory.root = root``."""
    root = Path(root).resolve()
    cfg = Config()
    if (root / "nbgrader_config.py").exists():
        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    return cfg


def _check_section(cls, cfg: Config) -> None:
    section = cfg.get(cls.__name__, {})
    known = set(cls.class_trait_names(config=True))
    for name in section:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {cls.__name__}.{near[0]}?" if near else ""
            raise ConfigError(f"nbgrader_config.py: c.{cls.__name__}.{name} is not a setting of the kit{hint} "
                              f"(`python -m coursekit grade --help-config` lists them)")


def kit_settings(cfg: Config) -> tuple[KitGrading, KitSandbox]:
    """The kit's Configurables built from ``cfg``; ConfigError for an unknown name or a bad value."""
    out = []
    for cls in KIT_CLASSES:
        _check_section(cls, cfg)
        try:
            out.append(cls(config=cfg))
        except TraitError as exc:
            raise ConfigError(f"nbgrader_config.py: a {cls.__name__} setting has a bad value: {exc}") from None
    return out[0], out[1]


def help_text() -> str:
    """Every kit setting with its default and help, as printed by ``--help-config``."""
    parts = []
    for cls in KIT_CLASSES:
        text = cls.class_get_help().replace(f"--{cls.__name__}.", f"c.{cls.__name__}.")
        parts.append(text.replace("=<", " = <"))
    return "In nbgrader_config.py:\n\n" + "\n".join(parts)
