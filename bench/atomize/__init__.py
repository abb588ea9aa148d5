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

Run `python -m bench.atomize [--sample N] [--write-docs]`; `--sample N` keeps every
N-th file (sorted by path) for a quicker look.
"""

from __future__ import annotations

import argparse
import platform
import sysconfig
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
    pieces: int | None = None
    exact_files: int | None = None
    within_max: int | None = None
    max_label: str = ""
    nws_source: int = 0
    nws_pieces: int = 0

    @property
    def mb_per_s(self) -> float:
        return self.size_bytes / 1e6 / self.seconds


def stdlib_files(sample: int) -> list[Path]:
    """The standard library's .py files (not site-packages), sorted, every N-th."""
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(
        p
        for p in root.rglob("*.py")
        if not ({"site-packages", "__pycache__"} & set(p.relative_to(root).parts))
    )
    chosen = paths[::sample]
    for path in chosen:
        path.read_bytes()  # warm the page cache so no tool pays for the first read
    return chosen


def run_parse_only(files: list[Path]) -> Row:
    start = time.perf_counter()
    total = 0
    for path in files:
        source = path.read_bytes()
        total += len(source)
        parse(source, "python")
    return Row("tree-sitter parse only", time.perf_counter() - start, total, len(files))


def run_mge(files: list[Path], config: AtomizeConfig) -> tuple[Row, float]:
    start = time.perf_counter()
    results = atomize_paths(files, config=config)
    seconds = time.perf_counter() - start
    sources = [path.read_bytes() for path in files]
    total = sum(len(source) for source in sources)
    atoms = [atom for result in results for atom in result.atoms]
    exact = sum(
        1 for result, source in zip(results, sources, strict=True) if result.joined() == source
    )
    loc = sum(atom.loc for atom in atoms)
    nws_atoms = sum(atom.nws_chars for atom in atoms)
    row = Row(
        tool="mge atomize (partition + context + criteria)",
        seconds=seconds,
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
        start = time.perf_counter()
        for path in files:
            text = path.read_bytes().decode("utf-8", errors="replace")
            texts.append(text)
            chunked.append([window["content"] for window in builder.chunkify(text)])
        seconds = time.perf_counter() - start
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


def table(rows: list[Row], floor: Row) -> str:
    lines = [
        "| tool | files | MB | seconds | MB/s | time vs parse-only | byte-exact files "
        "| pieces | pieces within max | non-ws chars missing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
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
            f"| {row.mb_per_s:.2f} | {row.seconds / floor.seconds:.2f}x "
            f"| {_share(row.exact_files, row.files)} "
            f"| {row.pieces if row.pieces is not None else 'n/a'} | {within} | {missing} |"
        )
    return "\n".join(lines)


def write_docs(body: str) -> None:
    """Replace (or append) the atomization section, leaving the others untouched."""
    write_section(SECTION, body, DOCS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.atomize")
    parser.add_argument("--sample", type=int, default=1, help="keep every N-th file")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args, _unknown = parser.parse_known_args(argv or [])
    config = AtomizeConfig()
    files = stdlib_files(max(1, args.sample))
    floor = run_parse_only(files)
    mge_row, nws_per_loc = run_mge(files, config)
    max_nws = round(nws_per_loc * config.max_loc)
    chunk_row = run_astchunk(files, max_nws)
    rows = [floor, mge_row, chunk_row]
    rendered = table(rows, floor)
    speedup = mge_row.mb_per_s / chunk_row.mb_per_s
    summary = (
        f"mge atomize runs at {mge_row.mb_per_s:.2f} MB/s: {speedup:.2f}x astchunk's "
        f"throughput and {mge_row.seconds / floor.seconds:.2f}x the parse-only time. "
        f"Mean non-whitespace characters per LOC on this corpus: {nws_per_loc:.1f}."
    )
    print(rendered)
    print(summary)
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
