"""Atomization on the installed Python standard library: MGE vs parse-only vs astchunk.

One run, in one process, over the same files (each tool's time includes reading
the files, which are in the page cache after a first warming pass). For each
tool: throughput in MB/s, the ratio to tree-sitter parsing alone (the floor
every tree-sitter chunker pays), the share of files whose pieces join
back to the file exactly, the share of pieces within the tool's maximum size, and
the share of non-whitespace characters missing from the joined pieces.

- *parse-only*: `Parser.parse` of every file with the same grammar MGE uses.
- *mge atomize*: `mge.atomize.atomize_paths` (what `mge atomize` runs) on the
  list of files, with the default config (target 10,
  max 15 LOC, max complexity 3.0): partition, complexity, context, ten criteria.
- *astchunk*: `ASTChunkBuilder.chunkify` (PyPI `astchunk`) with `max_chunk_size`
  set to 15 LOC' worth of non-whitespace characters, measured on this corpus as
  MGE's mean non-whitespace characters per LOC x 15 (its size unit is
  non-whitespace characters). It takes text, so each file is decoded as UTF-8
  with replacement and its pieces are compared with that text. A file counts as
  byte-exact for astchunk if its chunks joined with "" or with "\n" equal the text.

*Whole processes* (what a user runs): `mge atomize FILE...` (the CLI: table output
to /dev/null, one worker process per available CPU) vs a Python process that
imports astchunk and chunks the same files vs one that only parses them, each
started fresh, alternated for `--rounds` rounds; per process its wall time, its
CPU time (user + sys, its children included) and its peak RSS, as `/usr/bin/time -v`
reports them (from `wait4`). The medians are reported, and the ratios to astchunk.
`--mge-src DIR` times another checkout's `mge` (its `src/`) instead, for before/after.

In process, MGE is timed twice: in this process alone (`workers=1`) and with one
worker process per available CPU (what the CLI does); CPU seconds count the
workers too.

Run `python -m bench.atomize [--sample N | --files N] [--rounds R] [--write-docs]`;
`--sample N` keeps every N-th file (sorted by path), `--files N` N files evenly
spread over the sorted list.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from bench._docs import write_section
from mge.atomize import AtomizeConfig, atomize_paths
from mge.atomize._languages import parse
from mge.atomize._text import nws_count

DOCS = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"
SECTION = "## Atomization"


@dataclass
class Row:
    tool: str
    seconds: float
    size_bytes: int
    files: int
    cpu_seconds: float = 0.0
    pieces: int | None = None
    exact_files: int | None = None
    within_max: int | None = None
    max_label: str = ""
    nws_source: int = 0
    nws_pieces: int = 0

    @property
    def mb_per_s(self) -> float:
        return self.size_bytes / 1e6 / self.seconds


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def stdlib_files(sample: int, count: int | None = None) -> list[Path]:
    """The standard library's .py files (not site-packages), sorted, every N-th (or
    `count` of them evenly spread)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(
        p
        for p in root.rglob("*.py")
        if not ({"site-packages", "__pycache__"} & set(p.relative_to(root).parts))
    )
    chosen = paths[::sample]
    if count is not None and count < len(chosen):
        step = len(chosen) / count
        chosen = [chosen[int(index * step)] for index in range(count)]
    for path in chosen:
        path.read_bytes()  # warm the page cache so no tool pays for the first read
    return chosen


def run_parse_only(files: list[Path]) -> Row:
    start, cpu = time.perf_counter(), _cpu()
    total = 0
    for path in files:
        source = path.read_bytes()
        total += len(source)
        parse(source, "python")
    return Row(
        "tree-sitter parse only",
        time.perf_counter() - start,
        total,
        len(files),
        cpu_seconds=_cpu() - cpu,
    )


def run_mge(files: list[Path], config: AtomizeConfig, workers: int = 1) -> tuple[Row, float]:
    start, cpu = time.perf_counter(), _cpu()
    options = {"workers": workers} if workers > 1 else {}
    results = atomize_paths(files, config=config, **options)
    seconds = time.perf_counter() - start
    cpu_seconds = _cpu() - cpu
    sources = [path.read_bytes() for path in files]
    total = sum(len(source) for source in sources)
    atoms = [atom for result in results for atom in result.atoms]
    exact = sum(
        1 for result, source in zip(results, sources, strict=True) if result.joined() == source
    )
    loc = sum(atom.loc for atom in atoms)
    nws_atoms = sum(atom.nws_chars for atom in atoms)
    processes = "1 process" if workers == 1 else f"{workers} worker processes"
    row = Row(
        tool=f"mge atomize (partition + context + criteria; {processes})",
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        size_bytes=total,
        files=len(files),
        pieces=len(atoms),
        exact_files=exact,
        within_max=sum(1 for atom in atoms if atom.loc <= config.max_loc),
        max_label=f"≤ {config.max_loc} LOC",
        nws_source=sum(nws_count(source) for source in sources),
        nws_pieces=nws_atoms,
    )
    return row, nws_atoms / max(loc, 1)


def run_astchunk(files: list[Path], max_nws: int) -> Row:
    from astchunk import ASTChunkBuilder

    builder = ASTChunkBuilder(
        max_chunk_size=max_nws, language="python", metadata_template="default"
    )
    texts: list[str] = []
    chunked: list[list[str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start, cpu = time.perf_counter(), _cpu()
        for path in files:
            text = path.read_bytes().decode("utf-8", errors="replace")
            texts.append(text)
            chunked.append([window["content"] for window in builder.chunkify(text)])
        seconds = time.perf_counter() - start
        cpu_seconds = _cpu() - cpu
    total = sum(len(path.read_bytes()) for path in files)
    pieces = [chunk for chunks in chunked for chunk in chunks]
    exact = sum(
        1
        for text, chunks in zip(texts, chunked, strict=True)
        if "".join(chunks) == text or "\n".join(chunks) == text
    )
    return Row(
        tool=f"astchunk 0.1 (max_chunk_size={max_nws} non-ws chars)",
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        size_bytes=total,
        files=len(files),
        pieces=len(pieces),
        exact_files=exact,
        within_max=sum(1 for chunk in pieces if nws_count(chunk.encode()) <= max_nws),
        max_label=f"≤ {max_nws} non-ws chars",
        nws_source=sum(nws_count(text.encode()) for text in texts),
        nws_pieces=sum(nws_count(chunk.encode()) for chunk in pieces),
    )


def _share(part: int | None, whole: int | None) -> str:
    if part is None or not whole:
        return "n/a"
    return f"{100 * part / whole:.1f}%"


def table(rows: list[Row], floor: Row, peer: Row) -> str:
    lines = [
        "| tool | files | MB | seconds | CPU seconds | MB/s | time vs parse-only "
        "| time vs astchunk | byte-exact files | pieces | pieces within max "
        "| non-ws chars missing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        missing = (
            f"{100 * (row.nws_source - row.nws_pieces) / row.nws_source:.2f}%"
            if row.nws_source
            else "n/a"
        )
        within = (
            f"{_share(row.within_max, row.pieces)} ({row.max_label})"
            if row.pieces is not None
            else "n/a"
        )
        lines.append(
            f"| {row.tool} | {row.files} | {row.size_bytes / 1e6:.1f} | {row.seconds:.2f} "
            f"| {row.cpu_seconds:.2f} | {row.mb_per_s:.2f} | {row.seconds / floor.seconds:.2f}x "
            f"| {row.seconds / peer.seconds:.2f}x "
            f"| {_share(row.exact_files, row.files)} "
            f"| {row.pieces if row.pieces is not None else 'n/a'} | {within} | {missing} |"
        )
    return "\n".join(lines)


_ASTCHUNK_PROCESS = """
import sys, warnings
from astchunk import ASTChunkBuilder
builder = ASTChunkBuilder(
    max_chunk_size=int(sys.argv[1]), language="python", metadata_template="default"
)
pieces = 0
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name in sys.argv[2:]:
        with open(name, "rb") as handle:
            text = handle.read().decode("utf-8", errors="replace")
        pieces += len(builder.chunkify(text))
print(pieces)
"""

_PARSE_PROCESS = """
import sys
from mge.atomize._languages import parse
for name in sys.argv[1:]:
    with open(name, "rb") as handle:
        parse(handle.read(), "python")
"""


@dataclass
class Process:
    tool: str
    wall: list[float]
    cpu: list[float]
    rss_mb: list[float]


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, user + sys CPU seconds, peak RSS MB) of one process run to its
    end, measured by `/usr/bin/time` as a user would (a process forked from this
    one would report this process's RSS as its peak)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        measured = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", report.name, *command]
        subprocess.run(measured, env=env, stdout=subprocess.DEVNULL, check=True)
        wall, user, system, rss_kb = report.read().split()[-4:]
    return float(wall), float(user) + float(system), float(rss_kb) / 1024


def run_processes(
    files: list[Path], max_nws: int, rounds: int, mge_src: Path | None
) -> list[Process]:
    """`mge atomize` vs astchunk vs parse-only, each a fresh process, alternated."""
    env = dict(os.environ)
    if mge_src is not None:
        env["PYTHONPATH"] = str(mge_src)
    names = [str(path) for path in files]
    commands = {
        "mge atomize (CLI)": [sys.executable, "-m", "mge", "atomize", *names],
        "astchunk": [sys.executable, "-c", _ASTCHUNK_PROCESS, str(max_nws), *names],
        "tree-sitter parse only": [sys.executable, "-c", _PARSE_PROCESS, *names],
    }
    found = {tool: Process(tool, [], [], []) for tool in commands}
    for round_number in range(rounds):
        order = list(commands) if round_number % 2 == 0 else list(reversed(commands))
        for tool in order:
            wall, cpu, rss = _timed(commands[tool], env)
            found[tool].wall.append(wall)
            found[tool].cpu.append(cpu)
            found[tool].rss_mb.append(rss)
    return list(found.values())


def process_table(processes: list[Process]) -> str:
    by_tool = {process.tool: process for process in processes}
    peer = by_tool["astchunk"]
    floor = by_tool["tree-sitter parse only"]
    lines = [
        "| process | wall s (median) | CPU s user+sys (median) | max RSS MB "
        "| wall vs astchunk | CPU vs astchunk | wall vs parse-only | CPU vs parse-only |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for process in processes:
        wall, cpu = statistics.median(process.wall), statistics.median(process.cpu)
        lines.append(
            f"| {process.tool} | {wall:.2f} | {cpu:.2f} | {max(process.rss_mb):.0f} "
            f"| {wall / statistics.median(peer.wall):.2f}x "
            f"| {cpu / statistics.median(peer.cpu):.2f}x "
            f"| {wall / statistics.median(floor.wall):.2f}x "
            f"| {cpu / statistics.median(floor.cpu):.2f}x |"
        )
    return "\n".join(lines)


def write_docs(body: str) -> None:
    """Replace (or append) the atomization section, leaving the others untouched."""
    write_section(SECTION, body, DOCS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.atomize")
    parser.add_argument("--sample", type=int, default=1, help="keep every N-th file")
    parser.add_argument("--files", type=int, default=None, help="N files evenly spread")
    parser.add_argument("--rounds", type=int, default=3, help="whole-process rounds (0: none)")
    parser.add_argument("--mge-src", type=Path, default=None, help="time this src/ instead")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args, _unknown = parser.parse_known_args(argv or [])
    config = AtomizeConfig()
    files = stdlib_files(max(1, args.sample), args.files)
    # One per available CPU, as the CLI does; a checkout without the pool (the
    # `before` of docs/BENCHMARKS.md) is timed in one process only.
    workers = len(os.sched_getaffinity(0))
    if "workers" not in inspect.signature(atomize_paths).parameters:
        workers = 1
    floor = run_parse_only(files)
    serial_row, nws_per_loc = run_mge(files, config)
    max_nws = round(nws_per_loc * config.max_loc)
    chunk_row = run_astchunk(files, max_nws)
    rows = [floor, serial_row]
    mge_row = serial_row
    if workers > 1:
        mge_row, _ = run_mge(files, config, workers)
        rows.append(mge_row)
    rows.append(chunk_row)
    rendered = table(rows, floor, chunk_row)
    speedup = mge_row.mb_per_s / chunk_row.mb_per_s
    summary = (
        f"mge atomize ({workers} processes) runs at {mge_row.mb_per_s:.2f} MB/s: "
        f"{mge_row.seconds / chunk_row.seconds:.2f}x astchunk's time "
        f"({serial_row.seconds / chunk_row.seconds:.2f}x in one process, CPU "
        f"{serial_row.cpu_seconds / chunk_row.cpu_seconds:.2f}x), {speedup:.2f}x its "
        f"throughput, and {serial_row.seconds / floor.seconds:.2f}x the parse-only time in "
        f"one process (CPU {serial_row.cpu_seconds / floor.cpu_seconds:.2f}x). "
        f"Mean non-whitespace characters per LOC on this corpus: {nws_per_loc:.1f}."
    )
    print(rendered)
    print(summary)
    if args.rounds:
        processes = run_processes(files, max_nws, args.rounds, args.mge_src)
        rendered += (
            "\n\nWhole processes, medians of " + str(args.rounds) + " alternated rounds:\n\n"
        )
        rendered += process_table(processes)
        print(process_table(processes))
    if args.write_docs:
        command = ".venv/bin/python -m bench --write-docs"
        if args.sample != 1:
            command += f" --sample {args.sample}"
        machine = f"{platform.python_implementation()} {platform.python_version()}, "
        machine += f"{platform.machine()}, 2 cores (one process)"
        body = "\n".join(
            [
                SECTION,
                "",
                "Lossless atomization vs tree-sitter parsing alone vs astchunk on the installed",
                "Python standard library (every `.py` file outside site-packages), one run,",
                "files held in memory. Produced by:",
                "",
                "```",
                f"{command}    # `make bench` prints the same table",
                "```",
                "",
                f"Machine: {machine}. Files: {floor.files} ({floor.size_bytes / 1e6:.1f} MB).",
                "",
                rendered,
                "",
                summary,
                "",
                "What the columns mean: *byte-exact files* = files whose pieces, joined in order,",
                "are the file; *pieces within max* = pieces no larger than the tool's maximum",
                "(MGE: LOC; astchunk: non-whitespace characters, set to 15 LOC' worth);",
                "*non-ws chars missing* = non-whitespace characters of the files absent from",
                "the joined pieces. See `bench/atomize/__init__.py` for the method.",
                "",
            ]
        )
        write_docs(body)
        print(f"wrote {DOCS}")
    return 0
