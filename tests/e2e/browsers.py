"""Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium() -> str:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if exe is None:  # installing system packages is the make target's job, not a test's
        pytest.fail("Chromium is missing: run `make test-deps` (apt-get install chromium on Debian) "
                    "or install Chromium yourself")
    return exe
