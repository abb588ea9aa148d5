"""`mge atomize` and `mge skeleton` driven through the real Typer app.

Errors are raised as MgeError and turned into `error: …` by `mge.cli.app.main`;
through CliRunner they surface as the exception, so these tests run `main()` with
patched argv to see exactly what a person sees: one line and an exit code.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mge.cli.app import app, main

from .conftest import FIXTURES, fixture_bytes

runner = CliRunner()

ATOM_FIELDS = {
    "id",
    "file",
    "language",
    "kind",
    "name",
    "qualname",
    "start_byte",
    "end_byte",
    "start_line",
    "end_line",
    "loc",
    "complexity",
    "atomicity_score",
    "violations",
    "context",
    "context_completeness",
    "depends_on",
    "code",
    "nws_chars",
}
CONTEXT_FIELDS = {"imports", "types", "preconditions", "postconditions", "callees", "signature"}


def run_main(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["mge", *argv])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    for name in ("inventory.py", "cart.ts", "widget.tsx", "format.js"):
        shutil.copy(FIXTURES / name, root / "pkg" / name)
    (root / "README.md").write_text("# readme\n")
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text("module.exports = 1;\n")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.py").write_text("x = 1\n")
    (root / "generated").mkdir()
    (root / "generated" / "out.py").write_text("y = 2\n")
    (root / ".gitignore").write_text("generated/\n")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "env" / "lib.py").write_text("z = 3\n")
    return root


def test_json_carries_every_contract_field(project: Path) -> None:
    result = runner.invoke(app, ["atomize", str(project), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"files", "atoms", "stats"}
    files = sorted(Path(f["path"]).name for f in payload["files"])
    assert files == ["cart.ts", "format.js", "inventory.py", "widget.tsx"]
    for atom in payload["atoms"]:
        assert set(atom) == ATOM_FIELDS
        assert set(atom["context"]) >= CONTEXT_FIELDS
        assert atom["depends_on"] == []
    for file_entry in payload["files"]:
        assert set(file_entry) == {
            "path",
            "language",
            "size_bytes",
            "has_syntax_error",
            "utf8",
            "notices",
            "atoms",
            "loc",
            "loc_max",
            "violations",
        }
        source = Path(file_entry["path"]).read_bytes()
        pieces = [a for a in payload["atoms"] if a["file"] == file_entry["path"]]
        assert "".join(a["code"] for a in pieces).encode() == source
    stats = payload["stats"]
    assert stats["files"] == 4
    assert stats["atoms"] == len(payload["atoms"])
    assert stats["loc_max"] >= stats["loc_p90"] >= stats["loc_p50"] > 0


def test_human_output_and_check(project: Path) -> None:
    result = runner.invoke(app, ["atomize", str(project), "--check"])
    assert result.exit_code == 0, result.output
    assert "inventory.py" in result.stdout
    assert "p50" in result.stdout and "violations:" in result.stdout
    assert "partition check: 4 files rejoin byte for byte" in result.stdout


def test_options_reach_the_decomposer(project: Path) -> None:
    target = str(project / "pkg" / "inventory.py")
    wide = runner.invoke(
        app, ["atomize", target, "--json", "--max-loc", "80", "--target-loc", "40"]
    )
    narrow = runner.invoke(
        app, ["atomize", target, "--json", "--max-loc", "4", "--target-loc", "3"]
    )
    assert len(json.loads(narrow.stdout)["atoms"]) > len(json.loads(wide.stdout)["atoms"])
    assert json.loads(wide.stdout)["stats"]["config"]["max_loc"] == 80


def test_exclude_glob(project: Path) -> None:
    result = runner.invoke(app, ["atomize", str(project), "--json", "--exclude", "*.ts*"])
    assert result.exit_code == 0, (result.output, result.exception)
    names = sorted(Path(f["path"]).name for f in json.loads(result.stdout)["files"])
    assert names == ["format.js", "inventory.py"]


def test_language_override(tmp_path: Path) -> None:
    script = tmp_path / "build-script"
    script.write_bytes(b"def main():\n    return 1\n")
    result = runner.invoke(app, ["atomize", str(script), "--language", "python", "--json"])
    atoms = json.loads(result.stdout)["atoms"]
    assert [a["kind"] for a in atoms] == ["function"]


def test_check_fails_naming_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mge.cli.atomize as cli_module

    target = project / "pkg" / "format.js"
    monkeypatch.setattr(cli_module, "check_partition", lambda result, source: False)
    code, _out, err = run_main(["atomize", str(target), "--check"], monkeypatch, capsys)
    assert code == 1
    assert "partition check failed" in err and str(target) in err


# -- bad input ------------------------------------------------------------------------------


def test_missing_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_main(["atomize", str(tmp_path / "nope.py")], monkeypatch, capsys)
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'nope.py'}: no such file or directory"
    assert "Traceback" not in err


def test_binary_file_named_and_in_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = tmp_path / "blob.py"
    blob.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    code, _out, err = run_main(["atomize", str(blob)], monkeypatch, capsys)
    assert code == 2 and "binary file" in err and "Traceback" not in err
    (tmp_path / "ok.py").write_bytes(b"x = 1\n")
    code, out, err = run_main(["atomize", str(tmp_path), "--json"], monkeypatch, capsys)
    assert code == 0
    assert [Path(f["path"]).name for f in json.loads(out)["files"]] == ["ok.py"]
    assert "skipped 1 binary file(s)" in err


def test_non_utf8_file_stays_lossless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = tmp_path / "latin.py"
    source = b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n\n\ndef f():\n    return '\xff'\n"
    latin.write_bytes(source)
    code, out, err = run_main(["atomize", str(latin), "--json", "--check"], monkeypatch, capsys)
    assert code == 0
    assert "not valid UTF-8" in err
    payload = json.loads(out)
    assert payload["files"][0]["utf8"] is False
    spans = [(a["start_byte"], a["end_byte"]) for a in payload["atoms"]]
    assert b"".join(source[s:e] for s, e in spans) == source


def test_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.ts"
    empty.write_bytes(b"")
    code, out, _err = run_main(["atomize", str(empty), "--json", "--check"], monkeypatch, capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["atoms"] == []
    assert payload["files"][0]["size_bytes"] == 0


def test_ten_megabyte_generated_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generated = tmp_path / "table_pb.py"
    rows = b"".join(b"    (%d, 'k%07d', %d.5),\n" % (i, i, i) for i in range(380_000))
    source = b'"""Generated table; do not edit."""\n\nTABLE = [\n' + rows + b"]\n"
    assert len(source) >= 10_000_000
    generated.write_bytes(source)
    code, out, _err = run_main(["atomize", str(generated), "--check"], monkeypatch, capsys)
    assert code == 0
    assert "partition check: 1 files rejoin byte for byte" in out
    assert "size" in out


def test_unsupported_extension_named_and_in_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    code, _out, err = run_main(["atomize", str(notes)], monkeypatch, capsys)
    assert code == 2
    assert "unsupported file type '.txt'" in err and "Traceback" not in err
    (tmp_path / "a.py").write_text("a = 1\n")
    code, _out, err = run_main(["atomize", str(tmp_path)], monkeypatch, capsys)
    assert code == 0
    assert "notice: skipped 1 file(s) with unsupported extensions (.txt: 1)" in err


def test_bad_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    code, _out, err = run_main(
        ["atomize", str(tmp_path), "--max-loc", "3", "--target-loc", "10"], monkeypatch, capsys
    )
    assert code == 2 and "max_loc (3) must be at least target_loc (10)" in err
    code, _out, err = run_main(
        ["atomize", str(tmp_path), "--language", "cobol"], monkeypatch, capsys
    )
    assert code == 2 and "unknown language 'cobol'" in err


# -- skeleton -------------------------------------------------------------------------------


def test_skeleton_command(tmp_path: Path) -> None:
    target = tmp_path / "inventory.py"
    target.write_bytes(fixture_bytes("inventory.py"))
    result = runner.invoke(app, ["skeleton", str(target)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "def take(self, count: int) -> int:" in out
    assert "Raises:" in out
    assert "self.quantity -= count" not in out
    assert "if __name__" not in out


def test_skeleton_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_main(["skeleton", str(tmp_path / "x.py")], monkeypatch, capsys)
    assert code == 2 and "no such file" in err
    (tmp_path / "x.rb").write_text("puts 1\n")
    code, _out, err = run_main(["skeleton", str(tmp_path / "x.rb")], monkeypatch, capsys)
    assert code == 2 and "unsupported file type" in err
