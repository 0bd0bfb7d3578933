"""The layering of ARCHITECTURE.md, kept true: every import of every module (at module
level or inside a function) of the project's packages is read with ``ast`` and checked
against what its layer may import, the module graph has no circle, and no module
outgrows the size a reader can hold.

api/ → services/ → models/; tasks/ are the workers' entry into the same services;
meeteasy/ is the shared core under all of them; cli/ (the operator CLI) may use every
layer but the API's handlers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "services", "tasks", "models", "plugins", "beat", "meeteasy", "cli")

# What each layer may import of the project (its own package included).
MAY_IMPORT = {
    "api": {"api", "services", "meeteasy"},
    "services": {"services", "models", "plugins", "meeteasy"},
    "models": {"models", "meeteasy"},
    "plugins": {"plugins", "models", "meeteasy"},
    "tasks": {"tasks", "services", "models", "plugins", "meeteasy"},
    "beat": {"beat", "tasks", "meeteasy"},
    "meeteasy": {"meeteasy"},
    "cli": set(PACKAGES),
}
# Of api/, the CLI runs the app factory and the relay (`meeteasy web`, `meeteasy relay`).
CLI_MAY_IMPORT_OF_API = {"api.app", "api.relay"}

LINE_CEILING = 550
# Modules allowed over the ceiling because their content is one indivisible thing.
LONG_MODULES_ALLOWED = {
    # The JavaScript regex translator: one grammar, read and kept as a whole.
    "models/amis/jsregex.py",
}
NOT_SOURCE = {"tests", "bench", "build", "dist"}


@dataclass(frozen=True)
class Import:
    module: str   # the importing module
    target: str   # the project module it imports
    path: str     # the importing file, relative to the root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}"


def find_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name (a package by its own)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str:
    """The deepest project module that ``name`` (maybe a module's attribute) lies in."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(root: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of a project module by a project module, at any depth of the code.
    ``from pkg import mod`` counts as importing the submodule when it is one."""
    found = []
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in PACKAGES:
                    found.append(Import(module, _known(target, modules),
                                        str(path.relative_to(root)), node.lineno))
    return found


def layer_violations(imports: list[Import]) -> list[str]:
    """Each import its layer may not make, with the rule it breaks."""
    problems = []
    for each in imports:
        layer, target_layer = each.module.split(".")[0], each.target.split(".")[0]
        allowed = MAY_IMPORT[layer]
        if target_layer not in allowed:
            problems.append(f"{each} ({layer}/ may import only {', '.join(sorted(allowed))})")
        elif layer == "cli" and target_layer == "api" and each.target not in CLI_MAY_IMPORT_OF_API:
            problems.append(f"{each} (cli/ may import only "
                            f"{', '.join(sorted(CLI_MAY_IMPORT_OF_API))} of api/)")
    return sorted(problems)


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    iterative), each sorted, in sorted order."""
    graph: dict[str, set[str]] = {}
    for each in imports:
        graph.setdefault(each.module, set())
        graph.setdefault(each.target, set())
        if each.target != each.module:
            graph[each.module].add(each.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return sorted(components)


def source_files(root: Path) -> list[Path]:
    """The project's Python source: everything but tests, benchmarks, build output and
    hidden directories (the virtualenv among them)."""
    return sorted(path for path in root.rglob("*.py")
                  if not ({path.relative_to(root).parts[0]} & NOT_SOURCE)
                  and not any(part.startswith(".") or part.endswith(".egg-info")
                              for part in path.relative_to(root).parts))


def long_modules(root: Path, ceiling: int = LINE_CEILING,
                 allowed=frozenset(LONG_MODULES_ALLOWED)) -> list[str]:
    """Source files over ``ceiling`` lines that are not in ``allowed``."""
    too_long = []
    for path in source_files(root):
        name = path.relative_to(root).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > ceiling and name not in allowed:
            too_long.append(f"{name}: {lines} lines")
    return too_long


# --- the project ----------------------------------------------------------------------


def test_the_checker_reads_the_whole_project():
    modules = find_modules(ROOT)
    assert len(modules) > 50, sorted(modules)
    assert {"api.app", "cli", "cli.serve", "meeteasy.settings", "models.amis.jsregex",
            "services.jobs", "services.seating.assignment.assign", "beat.schedule"} <= set(modules)
    imports = imports_of(ROOT, modules)
    assert len(imports) > 100
    # A function-level import (`meeteasy web` imports the app factory when it runs) and
    # `from package import module`, resolved to the module.
    assert any(i.module == "cli.serve" and i.target == "api.app" for i in imports)
    assert any(i.module == "api.app" and i.target == "api.auth" for i in imports)


def test_each_layer_imports_only_what_it_may():
    problems = layer_violations(imports_of(ROOT, find_modules(ROOT)))
    assert problems == [], "imports that break the layering:\n" + "\n".join(problems)


def test_no_import_cycles():
    cycles = import_cycles(imports_of(ROOT, find_modules(ROOT)))
    assert cycles == [], "modules that import each other (directly or around a circle):\n" + \
        "\n".join(" <-> ".join(cycle) for cycle in cycles)


def test_no_module_is_too_long():
    assert len(source_files(ROOT)) > 50
    for name in LONG_MODULES_ALLOWED:
        assert (ROOT / name).exists(), f"{name} is allowed to be long but no longer exists"
    too_long = long_modules(ROOT)
    assert too_long == [], f"split these by sub-domain (ceiling {LINE_CEILING} lines):\n" + \
        "\n".join(too_long)


# --- the checker itself, on a made-up project -----------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_violations_and_cycles(tmp_path):
    _write(tmp_path, {
        "api/__init__.py": "",
        "api/app.py": "",
        "api/routes.py": "from services import users\n\ndef handler():\n"
                         "    from models import users as user_records\n",
        "services/__init__.py": "",
        "services/users.py": "from models import users\n",
        "models/__init__.py": "",
        "models/users.py": "from models.base import utcnow\nfrom . import tenants\n",
        "models/tenants.py": "def later():\n    import models.users\n",
        "models/base.py": "def utcnow(): ...\n",
        "meeteasy/__init__.py": "",
        "meeteasy/settings.py": "def load():\n    from cli import main\n",
        "cli/__init__.py": "from api.app import create\nfrom api import routes\n",
    })
    modules = find_modules(tmp_path)
    imports = imports_of(tmp_path, modules)
    assert Import("models.users", "models.tenants", "models/users.py", 2) in imports  # relative
    assert Import("models.users", "models.base", "models/users.py", 1) in imports  # an attribute

    problems = layer_violations(imports)
    assert len(problems) == 3, problems
    assert problems[0].startswith("api/routes.py:4: api.routes imports models.users (api/ may")
    assert problems[1].startswith("cli/__init__.py:2: cli imports api.routes (cli/ may import "
                                  "only api.app, api.relay of api/)")
    assert problems[2].startswith("meeteasy/settings.py:2: meeteasy.settings imports cli ")
    assert import_cycles(imports) == [["models.tenants", "models.users"]]


def test_cycles_are_found_around_longer_circles_and_reported_once():
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "d"), ("f", "a")]
    imports = [Import(module, target, f"{module}.py", 1) for module, target in edges]
    assert import_cycles(imports) == [["a", "b", "c"], ["d", "e"]]


def test_long_modules_are_found_unless_allowed(tmp_path):
    _write(tmp_path, {
        "models/big.py": "x = 1\n" * 551,
        "models/fine.py": "x = 1\n" * 550,
        "models/amis/jsregex.py": "x = 1\n" * 900,
        "tests/test_big.py": "x = 1\n" * 900,
        ".venv/lib/big.py": "x = 1\n" * 900,
    })
    assert long_modules(tmp_path) == ["models/big.py: 551 lines"]
