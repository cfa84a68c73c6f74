"""What the browser tests share: Debian's Chromium driven by Playwright (never `playwright install`),
and `make formgrader`'s server on a course of the test's own."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from browsers import CHROMIUM_ARGS, chromium   # tests/e2e/browsers.py (tests/e2e is on sys.path)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def start_formgrader(tmp_path_factory, start_lab):
    """start_formgrader(course_root, start_s) -> `make formgrader`'s server (its configuration, made
    in a cache folder of the test's own) on that course."""
    from coursekit.grading import formgrader as kit_formgrader

    def start(root: Path, start_s: float):
        cache = tmp_path_factory.mktemp("fg-cache")
        old = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = str(cache)
        try:
            config = kit_formgrader.config_dir()     # what `make formgrader` uses
        finally:
            if old is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = old
        return start_lab(root, tmp_path_factory.mktemp("fg-home"), env={"JUPYTER_CONFIG_PATH": str(config)},
                         start_s=start_s)
    return start
