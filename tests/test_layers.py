"""The floors of DESIGN.md §8, checked by import-linter inside the test suite: tenancy <-
partners <- incentives <- rewards <- kpis <- config. A wrong import fails here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _configuration() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["tool"]["importlinter"]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", "pyproject.toml"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_every_floor_imports_only_from_the_floors_below():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_wrong_import_breaks_the_contract(tmp_path):
    packages = _configuration()["root_packages"]
    for package in packages:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tenancy" / "upward.py").write_text("from incentives import models  # wrong\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "tenancy is not allowed to import incentives" in result.stdout
    assert "tenancy.upward -> incentives.models" in result.stdout


def test_every_app_of_ours_stands_on_a_floor():
    configuration = _configuration()
    floors = {layer.strip("()") for layer in configuration["contracts"][0]["layers"]}
    ours = {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT)
        and Path(config.path).relative_to(ROOT).parts[0] == config.name.split(".")[0]
        and not config.name.startswith("tests")
    }
    assert ours == {"config", "tenancy", "partners", "incentives"} | (ours & {"rewards", "kpis"})
    assert ours <= set(configuration["root_packages"]) <= floors
