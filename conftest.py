"""pytest configuration for the whole repository (tests/ and the nbval run over solutions/)."""
import sys
from pathlib import Path

# The test modules share small helpers in tests/ (notebook_tools.py).
sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

# Training cells are compared number by number with the tolerance they declare (coursekit/nbcompare.py).
pytest_plugins = ["coursekit.nbcompare"]
