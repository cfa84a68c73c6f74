"""``make formgrader``: JupyterLab on the course root, opened on nbgrader's Formgrader.

    python -m coursekit.grading.formgrader [--root DIR] [jupyter lab options, e.g. --allow-root]

* the environment's tools are found without activating it (nbgrader runs ``alembic`` by name when
  it makes the gradebook; without it Formgrader leaves a half-made gradebook.db behind);
* a half-made gradebook (from an earlier start without the tools) is repaired first, with a message;
* Formgrader runs with the kit's guards (:mod:`.formgrader_guard`: a Content-Security-Policy, no
  inline script, cleaned rendering, no per-student Autograde or Generate Feedback);
* the panels that need nbgrader's exchange (Assignment List, Course List), which this LMS-based
  workflow does not use, are switched off for this server (students get feedback/ through the LMS).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from coursekit.config import load_course_config
from coursekit.grading.gradebook import check_and_repair
from coursekit.paths import ROOT, tool_env

PAGE_CONFIG = {"disabledExtensions": {"@jupyter/nbgrader:course-list": True,
                                      "@jupyter/nbgrader:assignment-list": True}}
# nbgrader's Formgrader is loaded by the kit's guard (formgrader_guard.py), not on its own.
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.course_list": False,
                                                       "nbgrader.server_extensions.assignment_list": False,
                                                       "nbgrader.server_extensions.formgrader": False,
                                                       "coursekit.grading.formgrader_guard": True}}}


def config_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "coursekit" / "jupyter-instructor"
    (base / "labconfig").mkdir(parents=True, exist_ok=True)
    (base / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
    (base / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG, indent=1))
    (base / "jupyter_server_config.d" / "coursekit-instructor.json").write_text(json.dumps(SERVER_CONFIG, indent=1))
    return base


def command(root: Path, extra: list[str]) -> tuple[list[str], dict]:
    env = tool_env()
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(config_dir()), env.get("JUPYTER_CONFIG_PATH")]))
    jupyter = str(Path(sys.executable).parent / "jupyter")
    return [jupyter, "lab", f"--ServerApp.root_dir={root}", "--ServerApp.default_url=/formgrader", *extra], env


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    root = ROOT
    if "--root" in argv:
        i = argv.index("--root")
        root = Path(argv[i + 1]).resolve()
        del argv[i:i + 2]
    cfg = load_course_config(root)
    from nbgrader.coursedir import CourseDirectory
    repaired = check_and_repair(CourseDirectory(config=cfg).db_url)
    if repaired:
        print(f"note: {repaired}", file=sys.stderr)
    cmd, env = command(root, argv)
    os.chdir(root)
    os.execve(cmd[0], cmd, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
