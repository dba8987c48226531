"""Import each named module of ours on its own, in a process where no module of ``tracker`` was ever imported.

Run as a script (``python tests/fresh_imports.py tracker.a tracker.b ...``) from the repository root; prints one
JSON object ``{module: null | "traceback"}``. Used by tests/unit/test_layers.py.

A fresh interpreter per module costs ~0.6 s each (the imaging and web libraries); a hundred of them took a minute
on two cores. So this process, itself a fresh interpreter, first loads the *third-party* libraries our modules
use (found by importing everything once in a throwaway child) and never a module of ``tracker``; each module is
then imported in a process forked from it. What a worker or a script meets — the order in which our modules
import each other, a cycle, a name taken from a partially initialised module — is met here exactly the same.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import subprocess
import sys
import traceback

OURS = os.environ.get("FRESH_IMPORTS_PACKAGE", "tracker")


def _ours(name: str) -> bool:
    return name == OURS or name.startswith(OURS + ".")


def third_party_modules(modules: list[str]) -> list[str]:
    """What importing all of ``modules`` loads besides our own, in load order (found in a throwaway process)."""
    code = ("import importlib, json, sys\nbefore = set(sys.modules)\n"
            f"for name in {modules!r}:\n"
            "    try:\n        importlib.import_module(name)\n    except Exception:\n        pass\n"
            "print(json.dumps([m for m in sys.modules if m not in before]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return [name for name in json.loads(out.splitlines()[-1]) if not _ours(name)]


def probe(name: str) -> tuple[str, str | None]:
    leaked = sorted(m for m in sys.modules if _ours(m))
    if leaked:  # never expected: the parent imports no module of ours
        return name, f"not a fresh process: {leaked} already imported"
    try:
        importlib.import_module(name)
    except BaseException:  # noqa: BLE001 - every failure is the answer
        return name, traceback.format_exc()
    return name, None


def main(modules: list[str]) -> dict[str, str | None]:
    for name in third_party_modules(modules):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001,S112 - a library's optional part; the probe meets it again if it matters
            continue
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=max(2, (multiprocessing.cpu_count() or 1)), maxtasksperchild=1) as pool:
        return dict(pool.map(probe, modules, chunksize=1))


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
