"""Two rules of docs/design.md, checked on the source (its syntax tree), so a change that
breaks one fails here rather than in review:

- every expected failure names its category: no `DecnetError(...)` (the root of the tree, which
  the API would answer with 400 `error` and the CLI with 1 whatever went wrong), and no
  category made outside decnet/errors.py by deriving from the root;
- decnet/core is pure: no file, process, network, database, clock or global randomness, and
  nothing from the shell (store, engine, runner, api, cli, …) — nor in the decnet modules it
  imports (models, errors, text).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import decnet

PACKAGE = Path(decnet.__file__).resolve().parent
ROOT_ERROR = "DecnetError"

# --- the exception tree ---------------------------------------------------------------------

_CHECKS = frozenset({"isinstance", "issubclass", "suppress", "exception_handler"})
"""Calls that take an exception class to test or catch it, never to raise it."""


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _annotations(tree: ast.AST) -> set[ast.AST]:
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            roots.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            roots.append(node.returns)
    return {n for root in roots for n in ast.walk(root)}


def _called(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _is_root(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == ROOT_ERROR) or (
        isinstance(node, ast.Attribute) and node.attr == ROOT_ERROR
    )


def _allowed_use(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Catching or testing for the root is fine; anything else may raise it."""
    parent = parents.get(node)
    if isinstance(parent, ast.Tuple):  # except (DecnetError, OSError), isinstance(e, (...))
        node, parent = parent, parents.get(parent)
    if isinstance(parent, ast.ExceptHandler):
        return parent.type is node
    if isinstance(parent, ast.Call):
        return node in parent.args and _called(parent.func) in _CHECKS
    return False


def root_error_uses(source: str, *, in_errors_module: bool = False) -> list[str]:
    """`line: what` for each use of the root exception that is not a catch or a check."""
    tree = ast.parse(source)
    parents, annotations = _parents(tree), _annotations(tree)
    found = []
    for node in ast.walk(tree):
        derived = isinstance(node, ast.ClassDef) and any(_is_root(b) for b in node.bases)
        if derived and not in_errors_module:
            assert isinstance(node, ast.ClassDef)
            found.append(f"{node.lineno}: class {node.name} derives from {ROOT_ERROR}")
        if not _is_root(node) or node in annotations:
            continue
        if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Store):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.ClassDef) and node in parent.bases:
            continue  # reported above (or the errors module's own tree)
        if not _allowed_use(node, parents):
            found.append(f"{node.lineno}: {ast.unparse(parent or node)[:80]}")
    return found


def _sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts), path


def test_every_raise_names_its_category() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{use}"
        for module, path in _sources()
        for use in root_error_uses(path.read_text(), in_errors_module=module == "decnet.errors")
    ]
    assert not found, (
        "raise a category of decnet/errors.py (NotFound, Conflict, UsageError, "
        "EnvironmentProblem, …), not DecnetError itself; add a category there only if none "
        "fits:\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source",
    [
        "raise DecnetError('x')",
        "raise errors.DecnetError('x', hint='y')",
        "def f():\n    return DecnetError('x')",
        "cls = UsageError if code == 2 else DecnetError\nraise cls('x')",
        "class Mine(DecnetError):\n    pass",
        "ERRORS = [DecnetError]",
    ],
)
def test_the_check_finds_a_bare_root_error(source: str) -> None:
    assert root_error_uses(source), source


def test_the_check_lets_catches_and_annotations_through() -> None:
    source = """
try:
    pass
except DecnetError as err:
    pass
except (DecnetError, OSError):
    pass
with contextlib.suppress(DecnetError):
    pass
ok = isinstance(err, (DecnetError, ValueError))
def report(err: DecnetError) -> DecnetError | None: ...
@app.exception_handler(DecnetError)
async def handler(request, err): ...
class NotFound(DecnetError): ...
"""
    assert root_error_uses(source, in_errors_module=True) == []


# --- the pure core --------------------------------------------------------------------------

IMPURE_MODULES = frozenset(
    {
        # files, processes, the interpreter's own I/O
        "os", "pathlib", "io", "shutil", "tempfile", "glob", "fileinput", "mmap", "sys",
        "subprocess", "multiprocessing", "threading", "concurrent", "asyncio", "signal",
        # network and databases, and the libraries of the shell
        "socket", "ssl", "select", "selectors", "http", "urllib", "httpx", "requests",
        "sqlite3", "sqlite_utils", "ansible", "ansible_runner", "docker",
        "fastapi", "starlette", "uvicorn", "typer", "click", "rich",
        # the clock, global randomness, process-wide state
        "time", "uuid", "secrets", "logging", "atexit",
    }
)  # fmt: skip
"""Modules the core may not import at all."""
PURE_DECNET = (
    "decnet.core",
    "decnet.models",
    "decnet.errors",
    "decnet.text",
    "decnet.events",
    "decnet.policy",
)
"""What the core may import from decnet (models and rules: the event types, the status policy):
the shell (store, engine, runner, api, cli, testbed, settings, files) does I/O."""
PURE_STDLIB = ("urllib.parse",)
"""Modules of an impure package that only compute (URL parsing)."""
RANDOM_OK = frozenset({"Random"})
"""`random.Random(seed)` is a value passed around; `random.random()` & co. are global state."""
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"})
IMPURE_BUILTINS = frozenset({"open", "print", "input", "breakpoint", "exec", "eval", "__import__"})
IMPURE_ATTRIBUTES = frozenset({"FileSystemLoader", "PackageLoader", "ModuleLoader"})
"""jinja2's loaders read files: a template reaches the core as text."""
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("decnet.core.catalog", "importlib.resources"): (
        "the catalogue is package data (decnet/data/catalog.yml), read once and cached: a "
        "constant of the installed package, like a module's own source, not the environment"
    ),
}
"""(module, import) pairs allowed despite the rules, each with its reason."""


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """What an import statement brings in, by full name: `from a import b` is `a.b` (a module
    or a name in `a`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolve against the importing module's package
        base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names]


def _imports(source: str, module: str) -> list[str]:
    return [
        name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _imported(node, module)
    ]


def _import_problem(name: str, module: str) -> str | None:
    if (module, name) in EXCEPTIONS or name == "__future__":
        return None
    top = name.split(".")[0]
    if top == "decnet":
        if name == "decnet" or name.startswith(PURE_DECNET):
            return None
        return f"imports {name} (the shell)"
    if top in IMPURE_MODULES and not name.startswith(PURE_STDLIB):
        return f"imports {name}"
    if top == "importlib":
        return f"imports {name} (reads files or loads code)"
    if top == "random" and name not in ("random", *(f"random.{n}" for n in RANDOM_OK)):
        return f"imports {name} (global randomness)"
    return None


def _zoned(node: ast.Call) -> bool:
    """`datetime.fromtimestamp(t, tz)`: a conversion of a value, the same on every host."""
    func = node.func
    zone = len(node.args) == 2 or any(k.arg == "tz" for k in node.keywords)
    return isinstance(func, ast.Attribute) and func.attr == "fromtimestamp" and zone


def _call_problem(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id in IMPURE_BUILTINS:
        return f"calls {func.id}()"
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        if owner == "random" and func.attr not in RANDOM_OK:
            return f"calls random.{func.attr}() (global randomness)"
        if func.attr in CLOCK_CALLS and not _zoned(node):
            return f"calls .{func.attr}() (the clock, or the host's time zone)"
    return None


def impurities(source: str, module: str) -> list[str]:
    """`line: what` for each import or call of `source` that does I/O or reads global state."""
    found = []
    for node in ast.walk(ast.parse(source)):
        problems: list[str | None] = []
        if isinstance(node, ast.Import | ast.ImportFrom):
            problems = [_import_problem(name, module) for name in _imported(node, module)]
        elif isinstance(node, ast.Call):
            problems = [_call_problem(node)]
        elif isinstance(node, ast.Attribute) and node.attr in IMPURE_ATTRIBUTES:
            problems = [f"uses {node.attr}"]
        found += [f"{node.lineno}: {p}" for p in problems if p]
    return found


def _core_closure() -> dict[str, Path]:
    """decnet/core's modules and every decnet module they import, transitively."""
    paths = dict(_sources())
    todo = [m for m in paths if m.startswith("decnet.core")]
    seen: dict[str, Path] = {}
    while todo:
        module = todo.pop()
        if module in seen or module not in paths:
            continue
        seen[module] = paths[module]
        for name in _imports(paths[module].read_text(), module):
            todo += [name, name.rpartition(".")[0]]  # `from a.b import c`: a.b or a.b.c
    return seen


def test_the_core_does_no_io() -> None:
    closure = _core_closure()
    assert {"decnet.core.render", "decnet.models", "decnet.errors", "decnet.text"} <= set(closure)
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{problem}"
        for module, path in sorted(closure.items())
        for problem in impurities(path.read_text(), module)
    ]
    assert not found, (
        "decnet/core is pure (docs/design.md): take the value as an argument and do the I/O "
        "in the shell (engine, store, runner):\n" + "\n".join(found)
    )


def test_every_allowed_exception_is_still_needed() -> None:
    closure = _core_closure()
    for (module, name), reason in EXCEPTIONS.items():
        assert reason
        imports = _imports(closure[module].read_text(), module)
        assert name in imports, f"{module} no longer imports {name}: drop its exception"


@pytest.mark.parametrize(
    "source",
    [
        "import sqlite3",
        "import subprocess as sp",
        "from pathlib import Path",
        "import os.path",
        "from time import monotonic",
        "import uuid",
        "from decnet.store import Store",
        "from decnet.engine.bundle import read_template",
        "from decnet import settings",
        "from ..engine import rollout",
        "from importlib import resources",
        "from random import shuffle",
        "import random\nrandom.shuffle(items)",
        "from datetime import datetime\nstamp = datetime.now()",
        "text = open('compose.yml.j2').read()",
        "print('hello')",
        "env = jinja2.Environment(loader=jinja2.FileSystemLoader('templates'))",
    ],
)
def test_the_check_finds_impure_code(source: str) -> None:
    assert impurities(source, "decnet.core.render"), source


def test_the_check_lets_pure_code_through() -> None:
    source = """
from __future__ import annotations
import json, re, ipaddress, hashlib, hmac, math, random, bisect, difflib
from collections.abc import Mapping
from dataclasses import dataclass
import jinja2, yaml
from pydantic import BaseModel
from decnet.core.allocate import allocate
from decnet.models import Topology
from decnet.errors import InvalidTopology
from decnet.text import shown
from .hashing import desired_hash
rng = random.Random(seed)
rng.shuffle(items)
template = jinja2.Environment().from_string(text)
"""
    assert impurities(source, "decnet.core.render") == []
