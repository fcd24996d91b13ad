"""Apps depend one way (coop.lib <- bottom <- domain <- top); import-linter checks it."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps

BASE_DIR = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_contracts_are_kept():
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_lower_app_importing_a_higher_one_is_caught(tmp_path):
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path)
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            BASE_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (tmp_path / "members" / "_upward.py").write_text("from coop.dashboard import selectors\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "members._upward -> coop.dashboard.selectors" in result.stdout


def test_every_app_of_ours_is_in_a_layer():
    """A new app (say volunteers) must be placed in the contract, or nothing checks it."""
    layered = {
        module.strip()
        for contract in CONFIG["contracts"]
        if contract["type"] == "layers"
        for layer in contract["layers"]
        for module in layer.split("|")
    }
    ours = {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(BASE_DIR)
        and "site-packages" not in config.path
    }
    assert ours - {"coop.lib"}, "found none of our apps"
    assert ours <= layered, f"not in a layer: {sorted(ours - layered)}"
