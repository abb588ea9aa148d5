"""A plan with no reference code, generated through the official OpenAI SDK talking
to a loopback server that plays the model: skeleton first, then one atom per body."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import send_chat_completion

from mge.db import make_engine, migrate
from mge.db.models import AtomicUnit, AtomStatus
from mge.execute import build_settings, create_run, execute_run, run_report

PLAN = Path(__file__).parent / "fixtures" / "noref" / "plan.yaml"

SKELETON = '''"""Arithmetic on lists of numbers."""


def add(a: int, b: int) -> int:
    """The sum of two numbers."""
    ...


def total(values: list[int]) -> int:
    """The sum of a list, through `add`."""
    ...
'''

BODIES = {
    "calc/ops.py::<module>#0": '"""Arithmetic on lists of numbers."""\n\n\n',
    "calc/ops.py::add#0": 'def add(a: int, b: int) -> int:\n    """The sum of two numbers."""\n'
    "    return a + b\n",
    "calc/ops.py::total#0": 'def total(values: list[int]) -> int:\n    """The sum of a list, '
    'through `add`."""\n    result = 0\n    for value in values:\n'
    "        result = add(result, value)\n    return result\n",
}


class _Model(BaseHTTPRequestHandler):
    prompts: ClassVar[list[str]] = []
    systems: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        prompt = body["messages"][-1]["content"]
        _Model.prompts.append(prompt)
        _Model.systems.append(str(body["messages"][0]["content"]))
        atom = re.search(r"Write the code of atom `([^`]+)`", prompt)
        if atom:
            answer = f"Here it is:\n```python\n{BODIES[atom.group(1)]}```\n"
        else:
            answer = f"```python\n{SKELETON}```"
        send_chat_completion(
            self,
            body["model"],
            answer,
            {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "total_tokens": 120,
                "prompt_tokens_details": {"cached_tokens": 40},
            },
        )


@pytest.fixture
def model_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Model.prompts = []
    _Model.systems = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_plan_without_reference_is_built_from_its_skeleton(
    sqlite_url: str, tmp_path: Path, model_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    out = tmp_path / "out"
    settings = build_settings(model="openai:local-coder", base_url=model_server, out_dir=str(out))
    run_id = create_run(engine, PLAN, settings)
    asyncio.run(execute_run(engine, run_id))
    report = run_report(engine, run_id)
    with Session(engine) as session:
        atoms = session.scalars(select(AtomicUnit).order_by(AtomicUnit.atom_number)).all()
        assert [a.atom_key for a in atoms] == [
            "calc/ops.py::<module>#0",
            "calc/ops.py::add#0",
            "calc/ops.py::total#0",
        ]
        assert all(a.status is AtomStatus.COMPLETED for a in atoms)
        assert all(a.reference_code is None for a in atoms)
    engine.dispose()
    assert report["status"] == "completed" and report["simulated"] is False
    calls = len(_Model.prompts)
    assert calls == 4  # one skeleton, three atoms: every answer passed on its first attempt
    assert report["tokens"] == {"input": 100 * calls, "output": 20 * calls, "cached": 40 * calls}
    written = (out / "calc" / "ops.py").read_text()
    namespace: dict[str, Any] = {}
    exec(compile(written, "ops.py", "exec"), namespace)
    assert namespace["total"]([1, 2, 3]) == 6
    # The shared prefix (plan, task, the file's skeleton) comes first, so every atom of
    # the file sees the interface it builds on.
    total = next(i for i, p in enumerate(_Model.prompts) if "atom `calc/ops.py::total#0`" in p)
    assert "def add(a: int, b: int) -> int:" in _Model.systems[total]
    assert "Task `ops`" in _Model.systems[total]
