"""The shape of the code, checked: one HTTP layer, domain packages free of the web framework,
and no import cycle between packages.

Every ``import`` in ``src/imagedesigner`` is read from the source (including imports inside
functions; ``if TYPE_CHECKING:`` blocks are skipped, since they never run)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import imagedesigner

ROOT = Path(imagedesigner.__file__).parent
TRANSPORT = {"api", "web"}
COMPOSITION = {"app", "cli", "__main__"}  # may import anything
DOMAIN = {
    "accounts",
    "audit",
    "config",
    "container",
    "db",
    "errors",
    "generation",
    "imaging",
    "infra",
    "kit",
    "privacy",
    "providers",
    "retention",
    "storage",
    "support",
    "webhooks",
}
WEB_FRAMEWORKS = ("fastapi", "starlette")


def unit(module: str) -> str:
    """``imagedesigner.privacy.erasure`` -> ``privacy``; ``imagedesigner.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = (
        _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            for alias in node.names:
                found.add(f"{prefix}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph() -> dict[str, dict[str, set[str]]]:
    """unit -> {imported unit -> {importing module, ...}}, plus external top-level names."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = _module_name(path)
        here = unit(module)
        for name in imports_of(path):
            if name.startswith("imagedesigner."):
                there = unit(name)
                if (
                    there
                    and there != here
                    and (ROOT / there).exists()
                    or ((ROOT / f"{there}.py").exists() and there != here)
                ):
                    edges[here][there].add(module)
            else:
                edges[here][f"<{name.split('.')[0]}>"].add(module)
    return edges


def cycles(edges: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    internal = {u: {v for v in vs if not v.startswith("<")} for u, vs in edges.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(internal.get(u, ())):
            if state.get(v) == 1:
                found.append(stack[stack.index(v) :] + [v])
            elif v not in state:
                dfs(v)
        stack.pop()
        state[u] = 2

    for u in sorted(internal):
        if u not in state:
            dfs(u)
    return found


def test_every_package_is_classified():
    units = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    assert units - TRANSPORT - COMPOSITION - DOMAIN == set(), "classify the new package here"


def test_no_import_cycle_between_packages():
    found = cycles(graph())
    edges = graph()
    detail = [
        " -> ".join(c)
        + "  ("
        + "; ".join(f"{a}->{b}: {sorted(edges[a][b])[0]}" for a, b in zip(c, c[1:], strict=False))
        + ")"
        for c in found
    ]
    assert found == [], "import cycles:\n" + "\n".join(detail)


def test_domain_imports_neither_the_web_framework_nor_the_transport():
    edges = graph()
    bad = []
    for u in sorted(DOMAIN):
        for v, modules in edges.get(u, {}).items():
            if v.strip("<>") in WEB_FRAMEWORKS or v in TRANSPORT or v in COMPOSITION:
                bad.append(f"{u} imports {v} in {sorted(modules)}")
    assert bad == []


def test_routers_live_in_the_transport_and_are_composed_in_the_app_factory():
    """``APIRouter`` is created only in api/ and web/, and every router module is included
    by ``app.py`` (never registered by an import's side effect)."""
    from imagedesigner.app import OPTIONAL_ROUTERS, ROUTERS

    declared = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        if "APIRouter(" in text:
            module = _module_name(path)
            assert unit(module) in TRANSPORT, f"{module} creates a router outside api/ and web/"
            declared.add(module)
    routers = [*ROUTERS, *(router for _, router in OPTIONAL_ROUTERS)]
    composed = {r.routes[0].endpoint.__module__ for r in routers if r.routes}
    assert declared == composed


def test_the_checker_sees_a_cycle_and_a_framework_import():
    """The checks above can fail: a made-up graph with a cycle and a fastapi import."""
    fake = {
        "a": {"b": {"imagedesigner.a.x"}},
        "b": {"a": {"imagedesigner.b.y"}, "<fastapi>": {"y"}},
    }
    assert cycles(fake) == [["a", "b", "a"]]
