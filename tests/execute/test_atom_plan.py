"""The skeleton answer is the atom plan, for every model.

A plan of 60 atoms is generated through the official OpenAI SDK talking to a
loopback server whose scripted skeletons carry steps and declared callees; the
atoms, edges and output must be exactly what those answers imply. Then the same
replay run with and without the engine knowing the reference path must be the
same run in every respect but the labelled reference measurements.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import send_chat_completion

from mge.atomize import AtomizeConfig
from mge.db import make_engine, migrate
from mge.db.models import AtomDependency, AtomicUnit, AtomRetryHistory, AtomStatus
from mge.execute import build_settings, create_run, execute_run, run_report
from mge.llm import make_model
from mge.llm._reference import PlanReference

MODULES = 5
SINGLES = 5  # one-atom functions per module
STEPPED = 2  # three-step functions per module


def _header(k: int) -> str:
    imports = f"from shop.m{k - 1} import f{k - 1}_0\n\n\n" if k else "\n"
    return f'"""Module {k}."""\n\n{imports}'


def _single(k: int, i: int) -> tuple[str, tuple[str, ...]]:
    """A one-atom function: its code and the names it declares."""
    callee = (f"f{k - 1}_0" if k else "") if i == 0 else f"f{k}_{i - 1}"
    body = f"    return {callee}(x) + 1\n" if callee else "    return x + 1\n"
    head = f'def f{k}_{i}(x: int) -> int:\n    """Step up from {callee or "x"}."""\n'
    return head + body + "\n\n", ((callee,) if callee else ())


def _stepped(k: int, j: int) -> list[str]:
    """The three pieces of a three-step function, as the model writes them."""
    return [
        f'def g{k}_{j}(x: int) -> int:\n    """Sum f{k}_0 over a range."""\n    total = 0\n',
        f"    for i in range(x):\n        total += f{k}_0(i)\n",
        "    return total\n\n\n",
    ]


def _skeleton(k: int) -> str:
    parts = [_header(k)]
    for i in range(SINGLES):
        code, calls = _single(k, i)
        head = code.split("    return", 1)[0]
        plan = f"    # calls: {', '.join(calls)}\n" if calls else ""
        parts.append(f"{head}{plan}    ...\n\n\n")
    for j in range(STEPPED):
        parts.append(
            f'def g{k}_{j}(x: int) -> int:\n    """Sum f{k}_0 over a range."""\n'
            "    # step: start the total\n"
            f"    # step: add f{k}_0 of each number below x | calls: f{k}_0\n"
            "    # step: give the total back\n"
            "    ...\n\n\n"
        )
    return "".join(parts).rstrip("\n") + "\n"


def _bodies() -> dict[str, str]:
    bodies: dict[str, str] = {}
    for k in range(MODULES):
        file = f"shop/m{k}.py"
        bodies[f"{file}::<module>#0"] = _header(k)
        for i in range(SINGLES):
            bodies[f"{file}::f{k}_{i}#0"] = _single(k, i)[0]
        for j in range(STEPPED):
            for piece, code in enumerate(_stepped(k, j)):
                bodies[f"{file}::g{k}_{j}#{piece}"] = code
        last = f"{file}::g{k}_{STEPPED - 1}#2"
        bodies[last] = bodies[last].rstrip("\n") + "\n"
    return bodies


class _Server(BaseHTTPRequestHandler):
    prompts: ClassVar[list[str]] = []
    # file -> answers to give in turn for its skeleton (the last one repeats)
    skeletons: ClassVar[dict[str, list[str]]] = {}
    bodies: ClassVar[dict[str, str]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        prompt = body["messages"][-1]["content"]
        _Server.prompts.append(prompt)
        atom = re.search(r"Write the code of atom `([^`]+)`", prompt)
        if atom:
            answer = f"```python\n{_Server.bodies[atom.group(1)]}```\n"
        else:
            file = re.search(r"Write the skeleton of `([^`]+)`", prompt)
            assert file is not None
            answers = _Server.skeletons[file.group(1)]
            answer = f"```python\n{answers.pop(0) if len(answers) > 1 else answers[0]}```"
        send_chat_completion(
            self,
            body["model"],
            answer,
            {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        )


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Server.prompts = []
    _Server.bodies = _bodies()
    _Server.skeletons = {f"shop/m{k}.py": [_skeleton(k)] for k in range(MODULES)}
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


@contextlib.contextmanager
def _imported(out: Path, module: str) -> Iterator[Any]:
    """A module of the generated project, imported from `out` and forgotten after."""
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(module)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
            del sys.modules[name]


def _plan(tmp_path: Path) -> Path:
    tasks = [
        {
            "id": f"m{k}",
            "name": f"Module {k}",
            "files": [f"shop/m{k}.py"],
            "depends_on": [f"m{k - 1}"] if k else [],
        }
        for k in range(MODULES)
    ]
    plan = {
        "version": 1,
        "name": "shop",
        "language": "python",
        "phases": [{"name": "Core", "milestones": [{"name": "All", "tasks": tasks}]}],
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    return path


def _run(sqlite_url: str, tmp_path: Path, server: str) -> tuple[Any, Path]:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    out = tmp_path / "out"
    settings = build_settings(
        model="openai:local-coder", base_url=server, out_dir=str(out), levels="atomic"
    )
    run_id = create_run(engine, _plan(tmp_path), settings)
    asyncio.run(execute_run(engine, run_id))
    return engine, out


def test_atoms_edges_and_output_are_what_the_skeleton_answers_imply(
    sqlite_url: str, tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine, out = _run(sqlite_url, tmp_path, server)
    with Session(engine) as session:
        rows = session.scalars(select(AtomicUnit).order_by(AtomicUnit.atom_number)).all()
        keys = [row.atom_key for row in rows]
        assert keys == list(_bodies())
        assert len(keys) == MODULES * (1 + SINGLES + 3 * STEPPED) == 60
        kinds = {row.atom_key: row.kind for row in rows}
        assert kinds["shop/m2.py::g2_1#0"] == "function"
        assert kinds["shop/m2.py::g2_1#1"] == kinds["shop/m2.py::g2_1#2"] == "block"
        assert all(row.status is AtomStatus.COMPLETED for row in rows)
        by_id = {row.id: row.atom_key for row in rows}
        callees = {row.atom_key: list(row.context_callees) for row in rows}
        assert callees["shop/m3.py::g3_0#1"] == ["f3_0"]
        assert callees["shop/m3.py::g3_0#0"] == [] == callees["shop/m3.py::g3_0#2"]
        assert callees["shop/m3.py::f3_0#0"] == ["f2_0"]
        intents = {row.atom_key: row.extra.get("intent") for row in rows}
        assert intents["shop/m1.py::g1_0#2"] == "give the total back"
        edges = {
            (by_id[e.from_atom_id], by_id[e.to_atom_id], e.dependency_type.name)
            for e in session.scalars(select(AtomDependency))
        }
        # Sizes are measured on the accepted code, not planned.
        loc = {row.atom_key: row.loc for row in rows}
        assert loc["shop/m0.py::g0_0#1"] == 2 and loc["shop/m0.py::f0_1#0"] == 3
    engine.dispose()
    pairs = {(source, target) for source, target, _ in edges}
    for k in range(MODULES):
        file = f"shop/m{k}.py"
        for i in range(1, SINGLES):  # declared same-module calls
            assert (f"{file}::f{k}_{i - 1}#0", f"{file}::f{k}_{i}#0", "FUNCTION_CALL") in edges
        for j in range(STEPPED):  # the declared call sits in the second step only
            assert (f"{file}::f{k}_0#0", f"{file}::g{k}_{j}#1") in pairs
            assert (f"{file}::f{k}_0#0", f"{file}::g{k}_{j}#2") not in pairs
            assert (f"{file}::g{k}_{j}#0", f"{file}::g{k}_{j}#1") in pairs  # steps in order
        if k:  # a call through an import reaches the other module's definition
            assert (f"shop/m{k - 1}.py::f{k - 1}_0#0", f"{file}::f{k}_0#0") in pairs
    bodies = _bodies()
    for k in range(MODULES):
        file = f"shop/m{k}.py"
        expected = "".join(code for key, code in bodies.items() if key.startswith(file + "::"))
        assert (out / file).read_text() == expected
    with _imported(out, "shop.m4") as m4:
        assert m4.g4_1(3) == sum(4 + 1 + i for i in range(3))
    # Each step's intent reaches the prompt of the atom that writes it.
    step = next(p for p in _Server.prompts if "atom `shop/m1.py::g1_0#1`" in p)
    assert "add f1_0 of each number below x" in step


def test_a_malformed_plan_is_retried_with_its_errors_and_a_lost_file_fails_alone(
    sqlite_url: str, tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    good = _skeleton(1)
    malformed = good.replace("# step: start the total", "# Step: start the total", 1)
    _Server.skeletons["shop/m1.py"] = [malformed, good]
    nowhere = _skeleton(3).replace("| calls: f3_0", "| calls: f3_0, tally", 1)
    _Server.skeletons["shop/m3.py"] = [nowhere]
    engine, out = _run(sqlite_url, tmp_path, server)
    report = run_report(engine, _run_id(engine))
    engine.dispose()
    asked = [p for p in _Server.prompts if "Write the skeleton of `shop/m1.py`" in p]
    assert len(asked) == 2
    assert "malformed plan line '# Step: start the total'" in asked[1]
    retries = [p for p in _Server.prompts if "Write the skeleton of `shop/m3.py`" in p]
    # A skeleton's budget: 3 attempts, and the second pass's 2 (a lost skeleton
    # loses its whole file).
    assert len(retries) == 5
    assert "'tally', which exists nowhere in the file" in retries[-1]
    assert report["status"] == "completed"
    # m3's task failed with its evidence; m4, which imports from it, and the rest ran.
    assert (out / "shop/m1.py").read_text().count("def g1_") == STEPPED
    # The lost file is written as a stand-in, so m4's import of it still works;
    # using what it should have defined says which file is missing.
    stand_in = (out / "shop/m3.py").read_text()
    assert "NotImplementedError" in stand_in and "shop/m3.py" in stand_in
    assert "def f3_0" not in stand_in and "def g3_" not in stand_in
    assert (out / "shop/m4.py").exists()


def _run_id(engine: Any) -> Any:
    from mge.db.models import GenerationRun

    with Session(engine) as session:
        return session.scalars(select(GenerationRun.id)).one()


def _everything(url: str, out: Path) -> dict[str, Any]:
    """A run as data, its reference measurements and own identity aside."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            atoms = [
                (
                    r.atom_key,
                    r.kind,
                    r.status.value,
                    r.attempts,
                    r.code,
                    r.loc,
                    r.complexity,
                    list(r.context_callees),
                    dict(r.extra),
                    r.confidence_score,
                )
                for r in session.scalars(select(AtomicUnit).order_by(AtomicUnit.atom_number))
            ]
            keys = {r.id: r.atom_key for r in session.scalars(select(AtomicUnit))}
            attempts = sorted(
                (
                    keys[a.atom_id],
                    a.attempt_number,
                    a.prompt,
                    a.generated_code,
                    a.succeeded,
                    a.error_type,
                    a.input_tokens,
                    a.output_tokens,
                )
                for a in session.scalars(select(AtomRetryHistory))
            )
        report = run_report(engine, _run_id(engine))
    finally:
        engine.dispose()
    for key in (
        "run_id",
        "duration_seconds",
        "reference_match_percent",
        "silent_faults",
        "started_at",
        "finished_at",
        "out_dir",
        "plan_path",
        "masterplan_id",
    ):
        report.pop(key, None)
    files = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.py"))}
    return {
        "atoms": atoms,
        "attempts": attempts,
        "report": json.dumps(report, sort_keys=True, default=str),
        "files": files,
    }


def test_the_engine_runs_the_same_without_the_reference_path(
    tmp_path: Path, example_plan: Path
) -> None:
    reference = example_plan.parent / "reference"
    bare = yaml.safe_load(example_plan.read_text())
    del bare["reference"]
    bare_plan = tmp_path / "bare" / "plan.yaml"
    bare_plan.parent.mkdir()
    bare_plan.write_text(yaml.safe_dump(bare))
    common = {"fault_rate": 0.1, "seed": 3, "levels": "atomic", "mutation": False}
    results = []
    for name, plan, model in (
        ("with", example_plan, None),
        (
            "without",
            bare_plan,
            make_model(
                "replay",
                reference=PlanReference(reference, AtomizeConfig()),
                fault_rate=0.1,
                seed=3,
            ),
        ),
    ):
        url = f"sqlite:///{tmp_path / name}.db"
        migrate.upgrade(url)
        engine = make_engine(url)
        out = tmp_path / name / "out"
        settings = build_settings(out_dir=str(out), tests_dir=str(reference), **common)
        run_id = create_run(engine, plan, settings, model=model)
        asyncio.run(execute_run(engine, run_id, model=model))
        engine.dispose()
        results.append(_everything(url, out))
    with_reference, without = results
    for ours, theirs in zip(with_reference["atoms"], without["atoms"], strict=True):
        assert ours == theirs
    assert len(with_reference["attempts"]) > len(with_reference["atoms"])  # faults retried
    assert with_reference["attempts"] == without["attempts"]
    assert with_reference["files"] == without["files"]
    assert with_reference["report"] == without["report"]


def test_a_failed_atom_blocks_only_what_needs_its_behaviour(
    sqlite_url: str, tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    broken = "def {0}(x: int) -> int:\n    return (x\n"
    _Server.bodies["shop/m2.py::f2_0#0"] = broken.format("f2_0")
    _Server.bodies["shop/m1.py::g1_0#0"] = broken.format("g1_0")
    engine, out = _run(sqlite_url, tmp_path, server)
    with Session(engine) as session:
        status = {row.atom_key: row.status.value for row in session.scalars(select(AtomicUnit))}
    engine.dispose()
    assert status["shop/m2.py::f2_0#0"] == status["shop/m1.py::g1_0#0"] == "failed"
    # The later steps of a failed body need its behaviour: they wait.
    assert status["shop/m1.py::g1_0#1"] == status["shop/m1.py::g1_0#2"] == "blocked"
    # Callers need only the signature: they are generated, here and across an import.
    for caller in ("shop/m2.py::f2_1#0", "shop/m2.py::g2_0#1", "shop/m3.py::f3_0#0"):
        assert status[caller] == "completed", caller
    assert sum(value == "blocked" for value in status.values()) == 2
    # The output still imports: the failed atoms are stubs.
    with _imported(out, "shop.m1") as m1:
        with pytest.raises(NotImplementedError):
            m1.g1_0(2)
        assert m1.f1_4(0) == 6
