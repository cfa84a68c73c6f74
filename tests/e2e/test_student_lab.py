"""JupyterLab as `make lab` starts it for students shows no instructor panels; as instructors start it, it does.

The server's page configuration (which JupyterLab plugins are disabled) and its HTTP endpoints (which
server extensions are loaded) tell; and in headless Chromium, what a student sees: one Python kernel
in the launcher, no Nbgrader menu, no news notification, and a Validate button that works.
"""
from __future__ import annotations

import json
import re

import pytest

from coursekit.paths import ROOT

pytestmark = pytest.mark.slow

STUDENT_CONFIG = ROOT / "etc" / "jupyter-student"
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                      "@jupyter/nbgrader:menu"}
#: What students have no use for in JupyterLab itself: the news and update notifications.
NOISE_PLUGINS = {"@jupyterlab/apputils-extension:announcements"}


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
    lab_static = [Path(p) / "lab" / "static" for p in jupyter_path()]
    lab_code = "".join(f.read_text(errors="ignore") for d in lab_static if d.is_dir() for f in d.glob("*.js"))
    assert lab_code, "JupyterLab's own static files are not installed"
    config = json.loads((STUDENT_CONFIG / "labconfig" / "page_config.json").read_text())
    assert set(config["disabledExtensions"]) == INSTRUCTOR_PLUGINS | NOISE_PLUGINS
    for plugin in INSTRUCTOR_PLUGINS:
        assert f'"{plugin}"' in code, f"nbgrader has no JupyterLab plugin {plugin}"
    for plugin in NOISE_PLUGINS:
        assert f'"{plugin}"' in lab_code, f"JupyterLab has no plugin {plugin}"
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


# --------------------------------------------------------------------------------------------
# What a student sees, in headless Chromium
# --------------------------------------------------------------------------------------------
NEWS_WAIT_MS = 6000  # JupyterLab asks about news a moment after it has restored its layout


def _validate_notebook(path) -> None:
    """A small notebook with one graded test cell, as nbgrader's Validate sees a student's."""
    import nbformat

    from coursekit.notebook import new_test_cell

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = [nbformat.v4.new_markdown_cell("# Validate me"), nbformat.v4.new_code_cell("answer = 6 * 7"),
                new_test_cell("assert answer == 42", "answer_tests", 1)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory, start_lab):
    """JupyterLab as `make lab` starts it for students (JUPYTER_CONFIG_PATH=etc/jupyter-student), from
    this environment, which also holds the test suite's python3-warm kernelspec; no settings of its
    own, so that JupyterLab's defaults (news included) apply."""
    import shutil

    course = tmp_path_factory.mktemp("student-course")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    _validate_notebook(course / "validate_me.ipynb")
    return start_lab(course, tmp_path_factory.mktemp("student-home"), env={"JUPYTER_CONFIG_PATH": str(STUDENT_CONFIG)})


@pytest.mark.browser
def test_student_sees_one_kernel_no_nbgrader_menu_no_news_and_validate_works(student_lab):
    from playwright.sync_api import sync_playwright

    from browsers import CHROMIUM_ARGS, chromium       # tests/e2e/browsers.py
    from test_browser import ARTIFACTS

    assert "python3-warm" in _kernelspecs_without_student_config(), "the environment should hold python3-warm"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 950}).new_page()
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{student_lab.url}/lab?reset&token={student_lab.token}")
            page.locator(".jp-Launcher").wait_for()
            page.wait_for_timeout(NEWS_WAIT_MS)
            launcher = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.jp-Launcher-section')]
                .map(s => [s.querySelector('.jp-Launcher-sectionTitle').innerText.trim(),
                           [...s.querySelectorAll('.jp-LauncherCard-label')].map(l => l.innerText.trim())]))""")
            menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
            toasts = page.locator(".Toastify__toast").all_inner_texts()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "student_launcher.png"))
            assert launcher.get("Notebook") == ["Python 3 (ipykernel)"], f"the launcher's notebooks: {launcher}"
            assert launcher.get("Console") == ["Python 3 (ipykernel)"], f"the launcher's consoles: {launcher}"
            assert "Nbgrader" not in [m.strip() for m in menus], f"menu bar: {menus}"
            assert not [t for t in toasts if "news" in t.lower() or "update" in t.lower()], f"notifications: {toasts}"

            # Validate is still there, and works
            page.goto(f"{student_lab.url}/lab/tree/validate_me.ipynb?token={student_lab.token}")
            toolbar = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar")
            toolbar.get_by_text("Validate", exact=True).click()
            message = page.locator(".jp-Dialog #validation-message")
            message.wait_for(timeout=180_000)
            classes, text = message.evaluate("m => [[...m.classList], m.innerText]")
            page.screenshot(path=str(ARTIFACTS / "student_validate.png"))
            assert "validation-success" in classes, text
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "FAILED_student_lab.png"))
            print(f"--- JupyterLab log (tail) ---\n{student_lab.log()}")
            raise
        finally:
            browser.close()
            student_lab.shutdown_kernels()


def _kernelspecs_without_student_config() -> set[str]:
    from jupyter_client.kernelspec import KernelSpecManager

    return set(KernelSpecManager().find_kernel_specs())
