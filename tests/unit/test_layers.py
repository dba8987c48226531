"""The layers of tracker/ hold for every import, including those inside functions (grimp reads them all).

- the import-linter contracts in .importlinter are kept (``lint-imports``, also run by ``make test``);
- no two modules of ours import each other, directly or through others (import-linter cannot say this for
  modules across packages; a function-local import that closes a cycle is still a cycle);
- every module is placed on one side of the use-cases contract, so a new module cannot slip past it;
- every module imports on its own in a fresh process, as a worker or a script imports it, not after the app has
  imported everything (the suite imports the app first, which hid a cycle that failed every job of the worker).
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _our_modules() -> list[str]:
    """Every module of tracker/ except the Alembic scripts (env.py runs only inside Alembic; test_migrations
    runs the version scripts through it)."""
    names = []
    for path in sorted((ROOT / "tracker").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    sys.path.insert(0, str(ROOT))
    try:
        return grimp.build_graph("tracker", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start) & modules)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_import_contracts_hold():
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_of_ours_takes_part_in_an_import_cycle(graph):
    modules = set(_our_modules())
    cycles = _cycles(graph, modules)
    described = [f"{' -> '.join(graph.find_shortest_chain(c[0], c[1]) or ())} -> ... -> "
                 f"{' -> '.join(graph.find_shortest_chain(c[1], c[0]) or ())}" for c in cycles]
    assert cycles == [], "import cycles (move the shared piece down a layer):\n" + "\n".join(described)


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path):
    """The check above would see a cycle closed by a function-local import (grimp reads function bodies)."""
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "services.py").write_text("def run():\n    from cyclic import jobs\n    return jobs\n")
    (package / "jobs.py").write_text("from cyclic import services\n")
    (package / "leaf.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        built = grimp.build_graph("cyclic", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(built, {"cyclic.services", "cyclic.jobs", "cyclic.leaf"}) == [["cyclic.jobs", "cyclic.services"]]


def test_every_module_is_placed_on_one_side_of_the_use_case_contract(graph):
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    contract = config["importlinter:contract:use-cases-below-the-web"]
    assert contract["as_packages"] == "False"

    def expand(option: str) -> set[str]:
        found: set[str] = set()
        for expression in contract[option].split():
            matches = graph.find_matching_modules(expression) if "*" in expression else {expression}
            assert matches, f"{expression} in .importlinter matches no module"
            found |= matches  # the contract lists modules, not packages (as_packages = False)
        return found

    use_cases, entry_points = expand("source_modules"), expand("forbidden_modules")
    assert not use_cases & entry_points, use_cases & entry_points
    unplaced = [m for m in _our_modules() if m not in use_cases | entry_points and m != "tracker"]
    assert unplaced == [], (
        f"{unplaced}: add each to the use-cases contract in .importlinter, under source_modules (a use case or a "
        "building block: it never imports the web) or forbidden_modules (an entry point: a view, the API, a job)")


def _import_each_fresh(modules: list[str], package: str = "tracker", cwd: Path = ROOT) -> dict[str, str | None]:
    env = {**os.environ, "FRESH_IMPORTS_PACKAGE": package, "PYTHONPATH": f"{cwd}{os.pathsep}{ROOT}"}
    result = subprocess.run([sys.executable, "-m", "tests.fresh_imports", *modules], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_the_fresh_import_check_names_the_module_and_the_error(tmp_path):
    """The shape of the bug that failed every worker job: importing a service first runs into a module that is
    still initialising. Importing the package first (as the app does) works, which is why only this check sees it."""
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "routes.py").write_text("def load():\n    return 1\n\nfrom shop.services import total  # noqa\n")
    (package / "services.py").write_text("from shop.routes import load\n\ndef total():\n    return load()\n")
    (package / "app.py").write_text("from shop import routes  # noqa\n")
    outcome = _import_each_fresh(["shop.app", "shop.routes", "shop.services"], package="shop", cwd=tmp_path)
    assert outcome["shop.app"] is None and outcome["shop.routes"] is None  # the order the app imports them in
    assert "ImportError: cannot import name 'total' from partially initialized module 'shop.services'" in (
        outcome["shop.services"] or "")


def test_every_module_imports_on_its_own_in_a_fresh_process():
    modules = _our_modules()
    assert len(modules) > 90 and "tracker.photos.services" in modules and "tracker.jobs" in modules
    started = time.monotonic()
    outcome = _import_each_fresh(modules)
    assert sorted(outcome) == sorted(modules)
    failures = {name: error for name, error in outcome.items() if error}
    assert failures == {}, "\n".join(f"--- import {name} on its own:\n{error}" for name, error in failures.items())
    print(f"{len(modules)} modules imported on their own in {time.monotonic() - started:.1f} s")
