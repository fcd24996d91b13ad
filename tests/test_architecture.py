"""Apps depend one way (coop.lib <- bottom <- domain <- top); import-linter checks it."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
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
    (tmp_path / "members" / "_upward.py").write_text("from reports import selectors\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "members._upward -> reports.selectors" in result.stdout


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


# What coop/ may hold besides the bottom: the project's wiring, which names every app.
PROJECT_WIRING = {"coop", "coop.settings", "coop.urls", "coop.celery", "coop.wsgi", "coop.asgi"}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*CONFIG["root_packages"], include_external_packages=False)


def test_coop_holds_only_the_project_and_the_bottom():
    graph = _graph()
    above = [package for package in CONFIG["root_packages"] if package != "coop"]
    assert {"members", "finance", "reports"} <= set(above)
    offending = sorted(
        f"{module} -> {imported}"
        for module in graph.find_descendants("coop") | {"coop"}
        if module not in PROJECT_WIRING
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.split(".")[0] in above
    )
    assert not offending, offending


def test_no_services_module_imports_a_tasks_module():
    """Tasks call services; a service queues a task by name (coop.lib.tasks.task_enqueue)."""
    graph = _graph()
    modules = set().union(*(graph.find_descendants(p) for p in CONFIG["root_packages"]))
    services = {m for m in modules if "services" in m.split(".")}
    tasks = {m for m in modules if m.split(".")[-1] == "tasks" and m != "coop.lib.tasks"}
    assert services and tasks
    offending = sorted(
        f"{module} -> {imported}"
        for module in services
        for imported in graph.find_modules_directly_imported_by(module)
        if imported in tasks
    )
    assert not offending, offending


def test_every_package_of_ours_is_linted():
    """A new top-level app must be in root_packages, or import-linter never reads it."""
    ours = {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(BASE_DIR)
        and "site-packages" not in config.path
    }
    assert ours <= set(CONFIG["root_packages"]), sorted(ours - set(CONFIG["root_packages"]))
