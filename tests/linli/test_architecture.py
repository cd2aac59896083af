"""The layers of docs/architecture.md hold: the import-linter contracts in pyproject.toml are
kept, and no two modules anywhere in the project import each other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_are_kept() -> None:
    # The same check as `lint-imports` in CI, so that `make test` catches a broken layer too.
    # A subprocess: import-linter resolves external packages through the import system, which
    # pytest's assertion-rewriting hook confuses.
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command is not None
    result = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_contracts_cover_the_layers_docs_name() -> None:
    ids = {contract["id"] for contract in read_configuration()["contracts_options"]}
    assert ids == {
        "linli-is-the-floor",
        "no-foreign-interfaces",
        "models-at-the-bottom",
        "pure-analytics",
        "engine-below-experience",
        "campaigns-below-procurement",
        "ledger-below-derived",
        "app-layout",
        "no-cycles",
    }


def _mutual_imports(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    pairs = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module < imported and graph.direct_import_exists(importer=imported, imported=module):
                pairs.append((module, imported))
    return pairs


def test_no_two_modules_import_each_other() -> None:
    graph = grimp.build_graph("apps", "linli", cache_dir=None)
    assert _mutual_imports(graph) == []


def test_the_mutual_import_check_finds_a_planted_pair() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    assert _mutual_imports(graph) == [("pkg.a", "pkg.b")]


def test_every_id_in_a_url_goes_through_the_database_id_converter() -> None:
    """`<int:…>` lets an id beyond the database's integer reach a query (an HTTP 500); the
    `<id:…>` converter (linli/converters.py) makes it a 404. Django's own admin URLs aside."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def routes(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if "admin" not in route.split("/")[0]:
                    yield from routes(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route

    found = sorted(route for route in routes(get_resolver().url_patterns) if "<int:" in route)
    assert found == []
