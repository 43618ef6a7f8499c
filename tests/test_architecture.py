"""The architecture you can read from the folders: imports run one way, stage by stage.

study → data → train → results → report → rubric: a module imports only from its own stage or
the stages before it. deploy may import study, data, train and results, never report or rubric,
and no stage imports deploy. cli, __main__, pipeline and bench sit on top and nothing below
imports them. The base modules (every other top-level module of the package: errors, files,
backend, resources, formatting, …) import no stage. And no cycles.

Imports are read with `ast`, at module level and inside functions alike (a lazy import still
ties one module to another), relative or absolute, plus `importlib.import_module("cnnreport…")`.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import REPO

STAGES = ("study", "data", "train", "results", "report", "rubric")  # in pipeline order
DEPLOY = "deploy"
DEPLOY_MAY_USE = {"study", "data", "train", "results"}
TOP = {"cli", "__main__", "pipeline", "bench"}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module, dotted (the package itself for a name it defines)
    file: str  # the importing file, relative to the package's parent folder
    line: int


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every .py file of the package at `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module `name` denotes: itself if it is one, else the longest module prefix."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(root: Path) -> list[Import]:
    """Every import of a package module by a package module, wherever it stands in the file."""
    known = modules(root)
    top = root.name
    found = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # `from a import b`: the submodule a.b when there is one, else a itself
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module
                           for a in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                  == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                targets = [node.args[0].value]
            for target in targets:
                if target == top or target.startswith(top + "."):
                    resolved = _resolve(target, known)
                    if resolved and resolved != name:
                        found.append(Import(name, resolved, path.relative_to(root.parent).as_posix(),
                                            node.lineno))
    return found


def layer(module: str) -> str:
    """'top', 'base', a stage's name, or 'deploy'."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"  # the package's own __init__
    if parts[1] in TOP:
        return "top"
    if parts[1] in STAGES or parts[1] == DEPLOY:
        return parts[1]
    return "base"


RULES = ("stage order", "deploy", "top", "base")


def why_not(source: str, target: str) -> tuple[str, str] | None:
    """(rule, reason) when `source` may not import `target`; None when it may."""
    a, b = layer(source), layer(target)
    if a == "top" or b == "base" or a == b:
        return None
    if b == "top":
        return "top", f"{target} is imported from below ({a})"
    if a == "base":
        return "base", f"a base module imports the {b} stage"
    if b == DEPLOY:
        return "deploy", f"the {a} stage imports deploy, which only the top uses"
    if a == DEPLOY:
        return None if b in DEPLOY_MAY_USE else ("deploy", f"deploy imports the {b} stage")
    if STAGES.index(b) > STAGES.index(a):
        return "stage order", f"the {a} stage imports the later {b} stage"
    return None


def cycles(edges: list[Import]) -> list[list[Import]]:
    """One cycle (its imports, in order) per strongly connected group of modules."""
    graph: dict[str, dict[str, Import]] = {}
    for e in edges:
        graph.setdefault(e.source, {}).setdefault(e.target, e)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(v: str) -> None:  # Tarjan; the package is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in list(graph):
        if v not in index:
            visit(v)

    found = []
    for group in groups:  # the shortest way from the group's first module back to itself
        start = min(group)
        parent: dict[str, str | None] = {start: None}
        queue, last = [start], None
        while last is None:
            v = queue.pop(0)
            for w in sorted(graph.get(v, {})):
                if w == start:
                    last = v
                    break
                if w in group and w not in parent:
                    parent[w] = v
                    queue.append(w)
        chain = [last]
        while parent[chain[-1]] is not None:
            chain.append(parent[chain[-1]])
        nodes = chain[::-1] + [start]
        found.append([graph[a][b] for a, b in zip(nodes, nodes[1:])])
    return found


def _show(imports_: list[Import]) -> str:
    return "\n".join(f"  {e.source} → {e.target}  ({e.file}:{e.line})" for e in imports_)


@functools.cache
def package_imports() -> tuple[Import, ...]:
    return tuple(imports(REPO / "cnnreport"))


def test_the_reader_sees_lazy_relative_and_submodule_imports(tmp_path: Path) -> None:
    """The import reader itself, on a made-up package: a reader that misses an import would let
    every rule below pass."""
    pkg = tmp_path / "cnnreport"
    for rel, text in {
        "__init__.py": "",
        "errors.py": "",
        "cli.py": "def main():\n    from cnnreport.study import loading\n",
        "study/__init__.py": "",
        "study/loading.py": "from . import schema\nfrom ..errors import UserError\n",
        "study/schema.py": "import importlib\nM = importlib.import_module('cnnreport.train.plan')\n",
        "train/__init__.py": "from cnnreport.train.plan import RunSpec\n",
        "train/plan.py": "import cnnreport.study.schema as s\nfrom cnnreport import errors, __version__\n",
    }.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    got = {(e.source, e.target) for e in imports(pkg)}
    assert got == {
        ("cnnreport.cli", "cnnreport.study.loading"),            # inside a function
        ("cnnreport.study.loading", "cnnreport.study.schema"),   # from . import submodule
        ("cnnreport.study.loading", "cnnreport.errors"),         # from ..errors import name
        ("cnnreport.study.schema", "cnnreport.train.plan"),      # importlib.import_module
        ("cnnreport.train", "cnnreport.train.plan"),             # a package's __init__
        ("cnnreport.train.plan", "cnnreport.study.schema"),      # import a.b as c
        ("cnnreport.train.plan", "cnnreport.errors"),            # from package import submodule
        ("cnnreport.train.plan", "cnnreport"),                   # from package import name
    }
    (cycle,) = cycles(imports(pkg))
    assert [(e.source, e.target) for e in cycle] == [("cnnreport.study.schema", "cnnreport.train.plan"),
                                                      ("cnnreport.train.plan", "cnnreport.study.schema")]
    assert why_not("cnnreport.study.schema", "cnnreport.train.plan")[0] == "stage order"
    assert why_not("cnnreport.train.plan", "cnnreport.study.schema") is None
    assert why_not("cnnreport.deploy.artifact", "cnnreport.results.x") is None
    assert why_not("cnnreport.deploy.artifact", "cnnreport.report.x")[0] == "deploy"
    assert why_not("cnnreport.report.x", "cnnreport.deploy.artifact")[0] == "deploy"
    assert why_not("cnnreport.rubric.x", "cnnreport.pipeline")[0] == "top"
    assert why_not("cnnreport.files", "cnnreport.train.store")[0] == "base"
    assert why_not("cnnreport.cli", "cnnreport.rubric.grading") is None


def test_the_package_graph_is_read() -> None:
    """Known imports of the real package are found, so an empty graph cannot pass the rules."""
    pairs = {(e.source, e.target) for e in package_imports()}
    assert ("cnnreport.__main__", "cnnreport.cli") in pairs
    assert ("cnnreport.cli", "cnnreport.pipeline") in pairs  # imported inside a command's function
    assert ("cnnreport.pipeline", "cnnreport.train.runner") in pairs
    assert len({e.source for e in package_imports()}) > 40


def test_no_import_cycles() -> None:
    found = cycles(list(package_imports()))
    assert not found, "import cycles:\n" + "\n\n".join(_show(c) for c in found)


@pytest.mark.parametrize("rule", RULES)
def test_imports_follow_the_stage_order(rule: str) -> None:
    """Each rule reported on its own, every offending import with its file and line."""
    bad = [(e, found[1]) for e in package_imports() if (found := why_not(e.source, e.target)) and found[0] == rule]
    assert not bad, f"{rule}:\n" + "\n".join(f"{_show([e])}: {why}" for e, why in bad)
