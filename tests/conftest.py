import sys
from pathlib import Path

import pytest

# The test modules share small helpers in tests/ (notebook_tools.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`--dist loadgroup`), keep the cells of one notebook on one worker:
    nbval runs them in order in a single kernel."""
    for item in items:
        if item.nodeid.split("::")[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=item.nodeid.split("::")[0]))
