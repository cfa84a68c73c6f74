"""JupyterLab as `make lab` starts it for students shows no instructor panels; as instructors start it, it does.

No browser: the server's page configuration (which JupyterLab plugins are disabled) and its HTTP
endpoints (which server extensions are loaded) tell.
"""
from __future__ import annotations

import json
import re

import pytest

from coursekit.paths import ROOT

pytestmark = pytest.mark.slow

STUDENT_CONFIG = ROOT / "etc" / "jupyter-student"
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list"}


def _page_config(server) -> dict:
    status, body = server.get("lab")
    assert status == 200, status
    match = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    return json.loads(match.group(1))


def _disabled(config: dict) -> set[str]:
    disabled = config.get("disabledExtensions", [])
    return set(disabled if isinstance(disabled, list) else (k for k, v in disabled.items() if v))


def test_the_disabled_plugins_exist_in_nbgrader():
    """A renamed plugin would silently stay enabled: every id must name one nbgrader ships."""
    from pathlib import Path

    from jupyter_core.paths import jupyter_path

    statics = [Path(p) / "@jupyter" / "nbgrader" / "static" for p in jupyter_path("labextensions")]
    code = "".join(f.read_text(errors="ignore") for d in statics if d.is_dir() for f in d.glob("*.js"))
    assert code, "nbgrader's JupyterLab extension is not installed"
    config = json.loads((STUDENT_CONFIG / "labconfig" / "page_config.json").read_text())
    assert set(config["disabledExtensions"]) == INSTRUCTOR_PLUGINS
    for plugin in INSTRUCTOR_PLUGINS:
        assert f'"{plugin}"' in code, f"nbgrader has no JupyterLab plugin {plugin}"
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/etc/jupyter-student" in (ROOT / "Makefile").read_text()


def test_student_lab_has_no_instructor_panels(tmp_path, start_lab):
    server = start_lab(tmp_path, tmp_path / "home", env={"JUPYTER_CONFIG_PATH": str(STUDENT_CONFIG)})
    assert INSTRUCTOR_PLUGINS <= _disabled(_page_config(server))
    assert "@jupyter/nbgrader:validate-assignment" not in _disabled(_page_config(server))
    assert server.get("formgrader")[0] == 404, "the Formgrader server extension is loaded"
    assert "nbgrader.server_extensions.formgrader" not in server.log()


def test_instructor_lab_has_them(tmp_path, start_lab):
    server = start_lab(tmp_path, tmp_path / "home")
    assert not INSTRUCTOR_PLUGINS & _disabled(_page_config(server))
    assert server.get("formgrader")[0] != 404
