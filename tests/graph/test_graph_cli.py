"""`mge graph` as a user runs it: JSON, DOT, the human table, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mge.cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def mge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_json_holds_nodes_edges_sccs_waves_and_figures() -> None:
    result = runner.invoke(app, ["graph", str(FIXTURES / "cycles"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    ids = [node["id"] for node in payload["nodes"]]
    assert len(ids) == len(set(ids)) == payload["stats"]["atoms"] == 6
    assert sum(payload["wave_widths"]) == len(ids)
    assert payload["total_waves"] == len(payload["waves"]) == 2
    assert payload["max_parallelism"] == max(payload["wave_widths"]) == 4
    assert payload["has_cycles"] is True
    assert sorted(len(scc["members"]) for scc in payload["sccs"]) == [2, 4]
    assert sum(payload["edges_by_type"].values()) == len(payload["edges"])
    wave_of = {node["id"]: node["wave"] for node in payload["nodes"]}
    for edge in payload["edges"]:
        assert edge["type"] in payload["edges_by_type"]
        if not edge["broken"]:
            assert wave_of[edge["from"]] < wave_of[edge["to"]]
    assert sum(edge["broken"] for edge in payload["edges"]) == payload["stats"]["broken_edges"] == 6
    path = payload["critical_path"]
    assert len(path) == payload["critical_path_length"] == 2
    assert [wave_of[atom] for atom in path] == [1, 2]


def test_dot_has_every_edge_with_its_type(tmp_path: Path) -> None:
    dot = tmp_path / "graph.dot"
    result = runner.invoke(app, ["graph", str(FIXTURES / "pyproj"), "--dot", str(dot)])
    assert result.exit_code == 0, result.output
    assert f"wrote {dot}" in result.stdout
    assert "max parallelism" in result.stdout and "critical path" in result.stdout
    text = dot.read_text()
    assert text.startswith("digraph mge {") and text.rstrip().endswith("}")
    payload = json.loads(runner.invoke(app, ["graph", str(FIXTURES / "pyproj"), "--json"]).stdout)
    for edge in payload["edges"]:
        line = f'"{edge["from"]}" -> "{edge["to"]}" [label="{"+".join(edge["types"])}"'
        assert line in text
    assert text.count(" -> ") == len(payload["edges"])
    assert "color=darkgreen" in text and "color=purple" in text


def test_missing_path_is_one_line_error() -> None:
    result = mge("graph", "no/such/dir")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no/such/dir: no such file or directory"
    assert result.stdout == ""


def test_empty_directory_is_one_line_error(tmp_path: Path) -> None:
    result = mge("graph", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no Python, TypeScript or JavaScript files in {tmp_path}"
    ]


def test_file_without_definitions_is_a_clear_small_graph(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text("# nothing but a comment\n")
    result = mge("graph", "notes.py", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [node["id"] for node in payload["nodes"]] == ["notes.py::<module>#0"]
    assert payload["edges"] == [] and payload["waves"] == [["notes.py::<module>#0"]]
    human = mge("graph", "notes.py", cwd=tmp_path)
    assert human.returncode == 0
    assert "1 file, 1 atom, 0 edges" in human.stdout and "cycles: none" in human.stdout


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("X = 1\n")
    result = mge("graph", str(tmp_path), "--root", str(tmp_path / "m.py"))
    assert result.returncode == 2
    assert "--root is not a directory" in result.stderr
