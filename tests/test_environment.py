"""One environment, described twice: pyproject.toml (pip) and environment.yml (conda) must agree."""
import tomllib
from importlib.metadata import version

import yaml
from packaging.requirements import Requirement

from coursekit.paths import ROOT


def _pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {Requirement(r).name.lower(): str(Requirement(r).specifier) for r in reqs}


def _conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for line in pip_section:
        if line.startswith("-e"):
            continue
        req = Requirement(line)
        pins[req.name.lower()] = str(req.specifier)
    return pins


def test_every_dependency_is_pinned_exactly():
    loose = {name: spec for name, spec in _pyproject_pins().items() if not spec.startswith("==")}
    assert not loose, f"pyproject.toml has unpinned dependencies: {loose}"


def test_environment_yml_matches_pyproject():
    pip_pins, conda_pins = _pyproject_pins(), _conda_pins()
    only_pip = {k: v for k, v in pip_pins.items() if conda_pins.get(k) != v}
    only_conda = {k: v for k, v in conda_pins.items() if pip_pins.get(k) != v}
    assert not only_pip and not only_conda, (
        f"pyproject.toml and environment.yml disagree.\n  pyproject.toml only: {only_pip}\n"
        f"  environment.yml only: {only_conda}\nUpdate environment.yml to the pins in pyproject.toml."
    )


def test_installed_versions_match_the_pins():
    wrong = {name: (spec, version(name)) for name, spec in _pyproject_pins().items()
             if version(name).split("+")[0] != spec.removeprefix("==")}
    assert not wrong, f"installed versions differ from the pins (pin, installed): {wrong}; run `make setup`"


def test_utils_importable_from_anywhere(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", "import utils, coursekit; print(utils.__file__)"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(ROOT / "utils")), proc.stdout
