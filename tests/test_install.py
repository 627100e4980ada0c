"""pyproject.toml and requirements-lock.txt: what `pip install -e ".[dev]"` and `make` install."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    every = [*project["dependencies"], *(r for group in extras.values() for r in group)]
    return project, [Requirement(r) for r in every]


def locked():
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_declared_range_holds_the_locked_version():
    project, requirements = declared()
    pins = locked()
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(project["name"]):  # [dev] pulls in the other extras
            assert requirement.extras <= set(project["optional-dependencies"]), requirement
            continue
        assert name in pins, f"{requirement} is declared but not in requirements-lock.txt"
        assert requirement.specifier.contains(pins[name]), f"{requirement} excludes {pins[name]}"


def test_the_lock_pins_every_package_once_and_not_the_project_itself():
    text = (ROOT / "requirements-lock.txt").read_text().splitlines()
    names = [canonicalize_name(line.split("==")[0]) for line in text if "==" in line]
    assert len(names) == len(set(names)) > 50
    assert "keraslstm" not in names
    assert not [line for line in text if line and not line.startswith("#") and "==" not in line]
