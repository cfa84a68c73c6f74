"""pytest configuration for the whole repository (tests/ and the nbval run over solutions/).

Training cells are compared number by number with the tolerance they declare (coursekit/nbcompare.py).
"""
pytest_plugins = ["coursekit.nbcompare"]
