"""The shape of monitor/, read from its source: what imports what, where SQL and names live.

- no import cycle between trialmon's modules;
- SQL only in the store package (``monitor/store/``), and only it talks to SQLite;
- the pure core (normalize, compare, classify and what they import) imports no I/O module;
- a registry is named only in its own package, the registration table and the config wiring;
  a channel only in its own module and the channel table;
- a registry or a channel is imported only by its table.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from monitor.notify.channels import CHANNELS
from monitor.registries import REGISTRIES

from .conftest import ROOT

PACKAGE = ROOT / "monitor"
REGISTRY_TABLE = "monitor/registries/__init__.py"
CHANNEL_TABLE = "monitor/notify/channels.py"
BYTE_SHAPE_TABLE = "monitor/byteshapes.py"  # the keyed registry's byte shape, imported lightly
CONFIG_WIRING = {REGISTRY_TABLE, BYTE_SHAPE_TABLE, "monitor/config.py"}
CHANNEL_WIRING = {CHANNEL_TABLE, "monitor/config.py"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (not imported when running)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


@cache
def imports(name: str) -> frozenset[str]:
    """Every module ``name`` imports when it runs (at its top or in a function)."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    skipped = type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # a submodule, else a name of the module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules() else node.module)
    return frozenset(found)


def internal(name: str) -> set[str]:
    """The trialmon modules ``name`` imports."""
    return {i for i in imports(name) if i in modules() and i != name}


def test_no_import_cycle_in_monitor() -> None:
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in sorted(internal(name)):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(modules()):
        if name not in index:
            visit(name)
    assert cycles == []


# ---------------------------------------------------------------- SQL

SQL = re.compile(
    r"\bselect\b[\s\S]*\bfrom\b|\binsert\s+(or\s+\w+\s+)?into\b|\bupdate\s+\w+\s+set\b"
    r"|\bdelete\s+from\b|\b(create|drop|alter)\s+(temp\s+)?(table|view|index|unique|trigger)\b"
    r"|\bpragma\s+\w+|\bbegin\s+immediate\b",
    re.IGNORECASE,
)
STORE = "monitor/store/"


def docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def strings(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal of a module that is not a docstring (f-strings by their text)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def test_the_scan_finds_the_sql_of_the_store() -> None:
    found = [text for p in (PACKAGE / "store").glob("*.py") for _, text in strings(p)]
    assert sum(bool(SQL.search(text)) for text in found) > 20


def test_sql_strings_are_only_in_the_store_package() -> None:
    outside = [
        f"{relative(path)}:{line}: {text[:60]!r}"
        for path in modules().values()
        if not relative(path).startswith(STORE)
        for line, text in strings(path)
        if SQL.search(text)
    ]
    assert outside == []


def test_only_the_store_talks_to_sqlite() -> None:
    drivers = {"sqlite3", "sqlite_utils", "sqlite_utils.migrations", "sqlite_utils.db"}
    users = [
        name
        for name, path in modules().items()
        if imports(name) & drivers and not relative(path).startswith(STORE)
    ]
    assert users == []


# ---------------------------------------------------------------- the pure core

CORE = (
    "monitor.normalize",
    "monitor.compare",
    "monitor.classify",
    "monitor.spelling",
    "monitor.crossref",
)
IO_MODULES = {
    "sqlite3",
    "sqlite_utils",
    "httpx",
    "smtplib",
    "ssl",
    "socket",
    "apprise",
    "subprocess",
    "click",
    "rich",
    "apscheduler",
    "fcntl",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "time",
    "urllib.request",
    "logging",
}


def closure(names: tuple[str, ...]) -> set[str]:
    """The trialmon modules running ``names`` loads: their imports, and the packages those
    sit in (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parents = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
        todo.extend((internal(name) | parents) - seen)
    return seen


def test_the_pure_core_imports_no_io_module() -> None:
    core = closure(CORE)
    allowed = {*CORE, "monitor", "monitor.models", "monitor.errors", "monitor.configkit"}
    allowed.add("monitor.recordformat")  # one constant: the record format's hash version
    assert core <= allowed, sorted(core - allowed)
    external = {i.split(".")[0] for name in core for i in imports(name)} | {
        i for name in core for i in imports(name)
    }
    assert not external & IO_MODULES, sorted(external & IO_MODULES)


# ---------------------------------------------------------------- names of plugins


def tokens(path: Path) -> Iterator[tuple[int, str]]:
    """Identifiers, strings and comments of a module, with their lines."""
    kinds = {tokenize.NAME, tokenize.STRING, tokenize.COMMENT}
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in kinds:
            yield token.start[0], token.string


def mentions(word: str, exempt: set[str], in_package: str) -> list[str]:
    pattern = re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])", re.IGNORECASE)
    return [
        f"{relative(path)}:{line}: {text[:60]}"
        for path in modules().values()
        if relative(path) not in exempt and not relative(path).startswith(in_package)
        for line, text in tokens(path)
        if pattern.search(text)
    ]


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_a_registry_is_named_only_in_its_package_the_table_and_the_config_wiring(
    kind: str,
) -> None:
    package = f"monitor/registries/{kind}/"
    assert mentions(kind, CONFIG_WIRING, package) == []
    title = REGISTRIES[kind].title
    assert mentions(title, CONFIG_WIRING, package) == []


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_a_registry_package_is_imported_only_by_the_table(kind: str) -> None:
    own = f"monitor.registries.{kind}"
    importers = {
        relative(modules()[name])
        for name in modules()
        if not (name == own or name.startswith(own + "."))
        and any(i == own or i.startswith(own + ".") for i in imports(name))
    }
    assert importers <= {REGISTRY_TABLE}


@pytest.mark.parametrize("kind", sorted(CHANNELS))
def test_a_channel_is_named_only_in_its_module_and_the_channel_table(kind: str) -> None:
    own = f"monitor.notify.{kind}"
    path = relative(modules()[own])
    importers = {
        relative(modules()[name])
        for name in modules()
        if name != own and any(i == own or i.startswith(own + ".") for i in imports(name))
    }
    assert importers <= CHANNEL_WIRING
    capital = kind.capitalize()
    pattern = re.compile(rf"\b{capital}(Notifier|NotifyConfig|Channel)\b|notify\.{kind}\b")
    named = [
        f"{relative(p)}:{line}: {text[:60]}"
        for p in modules().values()
        if relative(p) not in {path, *CHANNEL_WIRING}
        for line, text in tokens(p)
        if pattern.search(text)
    ]
    assert named == []
