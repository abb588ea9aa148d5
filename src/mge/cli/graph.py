"""`mge graph`: a thin shell over `mge.graph.build_graph`.

Prints the typed edges by type, the cycles (strongly connected components) and
how they were broken, the waves with their widths, the widest wave and the
critical path; `--json` prints the same as one object, `--dot` writes Graphviz.
"""

from __future__ import annotations

import json
import posixpath
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mge.atomize import Atom, atomize_paths
from mge.errors import GraphError
from mge.graph import EdgeType, GraphAnalysis, build_graph

__all__ = ["graph_payload", "register", "to_dot"]

_stdout = Console(highlight=False, soft_wrap=True)
_stderr = Console(stderr=True, highlight=False, soft_wrap=True)

_COLOURS = {
    EdgeType.IMPORT: "blue",
    EdgeType.FUNCTION_CALL: "darkgreen",
    EdgeType.TYPE: "purple",
    EdgeType.DATA_FLOW: "orange",
    EdgeType.TEMPORAL: "gray50",
}
_MAX_WAVE_ROWS = 30


def graph_payload(atoms: list[Atom], analysis: GraphAnalysis) -> dict[str, Any]:
    """The `--json` object: nodes, edges, edges by type, SCCs, waves and figures."""
    wave_of = analysis.wave_of()
    broken = {(edge.source, edge.target) for edge in analysis.broken_edges}
    nodes = [
        {
            "id": atom.id,
            "file": atom.file,
            "kind": atom.kind,
            "qualname": atom.qualname,
            "loc": atom.loc,
            "wave": wave_of.get(atom.id),
            "depends_on": list(atom.depends_on),
            "external": list(atom.context.get("external", [])),
            "unresolved": list(atom.context.get("unresolved", [])),
        }
        for atom in atoms
    ]
    edges = [
        {**edge.to_dict(), "broken": (edge.source, edge.target) in broken}
        for edge in analysis.edges
    ]
    return {
        "nodes": nodes,
        "edges": edges,
        "edges_by_type": analysis.edges_by_type(),
        "has_cycles": analysis.has_cycles,
        "sccs": [component.to_dict() for component in analysis.cycles],
        "waves": [list(wave) for wave in analysis.waves],
        "wave_widths": analysis.wave_widths,
        "total_waves": len(analysis.waves),
        "max_parallelism": analysis.max_parallelism,
        "critical_path": list(analysis.critical_path),
        "critical_path_length": len(analysis.critical_path),
        "critical_path_loc": analysis.critical_path_loc,
        "stats": {
            "files": len({atom.file for atom in atoms}),
            "atoms": len(atoms),
            "edges": len(analysis.edges),
            "broken_edges": len(broken),
        },
    }


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _quote(*lines: str) -> str:
    """A DOT string; several lines are joined by DOT's own line break."""
    return '"' + "\\n".join(_escape(line) for line in lines) + '"'


def to_dot(atoms: list[Atom], analysis: GraphAnalysis) -> str:
    """Graphviz DOT: one cluster per file, edges coloured and labelled by type;
    edges broken to resolve a cycle are dashed."""
    broken = {(edge.source, edge.target) for edge in analysis.broken_edges}
    lines = [
        "digraph mge {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    by_file: dict[str, list[Atom]] = {}
    for atom in atoms:
        by_file.setdefault(atom.file, []).append(atom)
    for number, (file, members) in enumerate(by_file.items()):
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={_quote(file)};")
        for atom in members:
            label = _quote(
                f"{atom.qualname}#{atom.id.rsplit('#', 1)[-1]}", f"{atom.kind}, {atom.loc} LOC"
            )
            lines.append(f"    {_quote(atom.id)} [label={label}];")
        lines.append("  }")
    for edge in analysis.edges:
        style = "dashed" if (edge.source, edge.target) in broken else "solid"
        label = "+".join(kind.name for kind in edge.all_types)
        lines.append(
            f"  {_quote(edge.source)} -> {_quote(edge.target)} "
            f"[label={_quote(label)}, color={_COLOURS[edge.type]}, style={style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _shortener(atoms: list[Atom]) -> Callable[[str], str]:
    """Atom ids without the directory all the files share, for narrow tables."""
    directories = {posixpath.dirname(atom.file) for atom in atoms}
    try:
        common = posixpath.commonpath(sorted(directories)) if directories else ""
    except ValueError:  # absolute and relative paths mixed
        common = ""
    prefix = common.rstrip("/") + "/" if common else ""

    def shorten(atom_id: str) -> str:
        return atom_id[len(prefix) :] if prefix and atom_id.startswith(prefix) else atom_id

    return shorten


def _human(atoms: list[Atom], analysis: GraphAnalysis) -> None:
    short = _shortener(atoms)
    files = len({atom.file for atom in atoms})
    _stdout.print(
        f"{_count(files, 'file')}, {_count(len(atoms), 'atom')}, "
        f"{_count(len(analysis.edges), 'edge')} "
        f"({len(analysis.kept_edges)} kept, {len(analysis.broken_edges)} broken)"
    )
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("edge type")
    table.add_column("edges", justify="right")
    for name, count in analysis.edges_by_type().items():
        table.add_row(name, str(count))
    _stdout.print(table)
    if analysis.cycles:
        _stdout.print(f"cycles: {len(analysis.cycles)} strongly connected components")
        for number, component in enumerate(analysis.cycles, 1):
            kinds = ", ".join(f"{name} {count}" for name, count in component.edge_types.items())
            _stdout.print(
                f"  SCC {number}: {len(component.members)} atoms ({kinds}); "
                f"broke {len(component.broken_edges)} edges"
            )
            for member in component.members:
                _stdout.print(f"    {short(member)}")
    else:
        _stdout.print("cycles: none")
    waves = Table(show_edge=False, pad_edge=False)
    waves.add_column("wave", justify="right")
    waves.add_column("width", justify="right")
    waves.add_column("atoms")
    for number, wave in enumerate(analysis.waves[:_MAX_WAVE_ROWS], 1):
        shown = ", ".join(short(atom) for atom in wave[:3])
        shown += f", … (+{len(wave) - 3})" if len(wave) > 3 else ""
        waves.add_row(str(number), str(len(wave)), shown)
    _stdout.print(waves)
    if len(analysis.waves) > _MAX_WAVE_ROWS:
        _stdout.print(f"… {len(analysis.waves) - _MAX_WAVE_ROWS} more waves (see --json)")
    _stdout.print(f"waves: {len(analysis.waves)}; max parallelism: {analysis.max_parallelism}")
    _stdout.print(
        f"critical path: {len(analysis.critical_path)} atoms, {analysis.critical_path_loc} LOC"
    )
    for atom in analysis.critical_path:
        _stdout.print(f"  {short(atom)}")


def graph_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to graph.")],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print nodes, edges, SCCs, waves and figures as JSON."),
    ] = False,
    dot: Annotated[
        Path | None,
        typer.Option("--dot", help="Also write the graph as Graphviz DOT to this file."),
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="Directory Python module names are relative to "
            "(default: inferred from __init__.py files).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Gitignore-style glob to leave out (repeatable)."),
    ] = None,
) -> None:
    """Build the typed dependency graph of atoms: edges, cycles, waves, critical path."""
    if root is not None and not root.is_dir():
        raise GraphError(f"{root}: --root is not a directory")
    results = atomize_paths(
        paths,
        exclude=exclude or (),
        on_notice=lambda line: _stderr.print(f"notice: {line}"),
        keep_trees=True,  # build_graph reads them instead of parsing again
    )
    if not results:
        shown = ", ".join(str(path) for path in paths)
        raise GraphError(f"no Python, TypeScript or JavaScript files in {shown}")
    atoms, analysis = build_graph(results, root=root)
    if dot is not None:
        try:
            dot.write_text(to_dot(atoms, analysis), encoding="utf-8")
        except OSError as exc:
            raise GraphError(f"{dot}: cannot write ({exc.strerror or exc})") from exc
    if as_json:
        sys.stdout.write(json.dumps(graph_payload(atoms, analysis), ensure_ascii=False) + "\n")
        return
    _human(atoms, analysis)
    if dot is not None:
        _stdout.print(f"wrote {dot}")


def register(app: typer.Typer) -> None:
    """Add `graph` to the `mge` app."""
    app.command("graph")(graph_command)
