"""The metadata a user checks first: a LICENSE file that matches the declared license, authors, URLs."""

import pathlib

import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_license_file_matches_the_metadata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # PEP 639: the SPDX string only


def test_authors_urls_and_classifiers_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["authors"] and {"Documentation", "Source", "Issues"} <= set(project["urls"])
    assert any(c.startswith("Programming Language :: Python :: 3") for c in project["classifiers"])


def test_every_c_source_the_runtime_builds_ships_in_the_wheel():
    """The runtime compiles its C libraries from files beside it; linalg.c was left out of the
    package data, so compiled linear algebra failed from an installed (non-editable) symflux."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(setuptools["package-data"]["codegen"])
    sources = {f"runtime/{p.name}" for p in (ROOT / "codegen" / "runtime").glob("*.c")}
    assert sources <= declared, sources - declared
