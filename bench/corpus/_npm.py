"""The npm corpus: real JavaScript and TypeScript packages, pinned, fetched and staged.

The counterpart of `_projects.CORPUS` for node: each entry pins a package's
registry tarball by name, version and integrity (the registry's `dist.integrity`,
a base64 sha512), so that a package that changes fails loudly instead of moving a
figure. Only packages whose published tarball carries their own `node:test` suite
and whose code and tests need nothing but node's built-in modules are chosen: the
engine runs the project's own tests offline, in the sandbox, with no
`node_modules` to install. Tarballs are downloaded from the registry into
`.test-corpora/npm/` (git-ignored); a file already there with the pinned
integrity is reused without network.

A package is staged as `plan from-code` reads a node project: the folder with its
`package.json` (which names the entry point `require('..')` resolves to), its code
and its tests, without the licence, read-me, benchmarks, type tests and lint
configuration that the tarball also carries.

Standard library only, like `_projects`: `make system-deps` fetches through it
(`python -m bench.corpus fetch --subset`) before MGE is importable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from bench.corpus._download import cached, download_pinned, sri_sha512

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".test-corpora" / "npm"
# Files a tarball carries beside the code that neither the code nor its tests read.
_NOT_STAGED = ("LICENSE*", "README*", "CHANGELOG*", "*.d.ts", "*.tst.ts", ".*")


@dataclass(frozen=True)
class NpmPackage:
    """A pinned registry tarball and where its code and tests sit inside it."""

    name: str  # as the registry spells it, scope included
    version: str
    integrity: str  # "sha512-<base64>", the registry's dist.integrity
    code: tuple[str, ...]  # files and directories of the code, inside `package/`
    tests: tuple[str, ...] = ("test",)
    features: str = ""
    subset: bool = False  # part of the fast subset `make test` checks
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def slug(self) -> str:
        """The name without its scope's `@` and slash: a file and folder name."""
        return self.name.lstrip("@").replace("/", "-")

    @property
    def archive(self) -> Path:
        return CACHE / f"{self.slug}-{self.version}.tgz"

    @property
    def tarball_url(self) -> str:
        registry = os.environ.get("MGE_CORPUS_NPM_REGISTRY", "https://registry.npmjs.org")
        base = self.name.rsplit("/", 1)[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{base}-{self.version}.tgz"

    def from_code_args(self, root: Path) -> list[str]:
        """`mge plan from-code` arguments: the project root (tests found by convention)."""
        return [str(root)]


NPM_CORPUS: tuple[NpmPackage, ...] = (
    NpmPackage(
        "@fastify/forwarded",
        "3.1.2",
        "sha512-89WiRG+hW3VQSfCwg4Hb8b43PeyEX15K5+lEfsZ4EUth/FyOjS/lv8HsVuswUNXWiSnxMGNouE/fq/0w3VumHQ==",
        ("index.js",),
        features="CommonJS, one module whose exports are assigned after its functions; "
        "a character-scanning loop",
        subset=True,
    ),
    NpmPackage(
        "@fastify/error",
        "4.3.0",
        "sha512-mtIdc4R7HnUMOuUDQgnJkEF+Omr2p3JrSSJ44+RME/eAQ5TqdDy5MvXAjze/RyVHhJckuJKkXnMhKfPmFMKqyA==",
        ("index.js",),
        features="CommonJS; constructor functions, prototype chains set at run time, "
        "Error subclassing, three test files",
        subset=True,
    ),
    NpmPackage(
        "fast-content-type-parse",
        "4.0.1",
        "sha512-AAu9Ey/t6KDFqqeCfbwdlASlv7rQBG57gXYf2YU+MXJx1OIJn2q3BEJKmtnZaeGm1y5AYxLzRMmq9VWWXrfRcA==",
        ("index.js",),
        features="CommonJS; a hand-written header parser, lookup tables at module level, "
        "nested subtests (t.test)",
    ),
    NpmPackage(
        "@fastify/csrf",
        "8.1.1",
        "sha512-PWsrdJsT87+wda4M30XAOT34cpMP82rIklTYP3uAZ5VPUAa1I3vfBW1k1UfwuxdOBJaxezuqz6tzeoiXrWKqVA==",
        ("index.js",),
        features="CommonJS; a class built by a function with JSDoc shapes, node:crypto, "
        "options validation",
    ),
    NpmPackage(
        "@fastify/busboy",
        "3.2.6",
        "sha512-UPXdyAMbz/gNvjS8HONpJR2TDaHM3wQKMtSRPFkoh2LTeRRtnm+ICVYKgBYkTwlPOVzDNynOd34EH8qapwfelQ==",
        ("index.js", "lib", "deps"),
        features="CommonJS, 14 modules in lib/ and a vendored deps/ tree; stream "
        "subclasses through util.inherits, a streaming search, many test files",
    ),
    NpmPackage(
        "ghtml",
        "1.7.2",
        "sha512-ZxhlBYTjyT0yPv9EgXP65OWOafSDVQ24p/Loj6YVERsrVnpsA+DL9l6LKqoePr3uo/al+JD0iJvrDhVyRkeipA==",
        ("src",),
        features='ES modules ("type": "module", code in src/); tagged template literals, '
        "generators and async generators, a file the tests read (test/test.md)",
    ),
    NpmPackage(
        "@nearform/sql",
        "1.10.8",
        "sha512-ZzfuNjLFA+Dj3Advw5VsIvr7M4x3A2HfJjwEpcT3CVsO3AkEk00PpukNFMw2c65IvFWtTzPCOVwPKdWpkivHUA==",
        ("SQL.js", "quoteIdentifier.js"),
        ("SQL.test.js", "quoteIdentifier.test.js"),
        features="CommonJS; test files beside the modules (*.test.js); a class with "
        "symbols and getters, static methods, string escaping",
    ),
    NpmPackage(
        "hwp",
        "0.5.0",
        "sha512-IFWeFX72NsnHzCOTNdNLc+dN84d9oLMdLtqYsPLZeKwpO9S+1pztxJ7k88sqio/QZyRC5wrgY5xm16A0kscPHA==",
        ("index.js",),
        features="CommonJS; async iteration with a high-water mark, AbortSignal, "
        "three test files without the .test suffix",
    ),
)

SUBSET = tuple(package for package in NPM_CORPUS if package.subset)


def by_name(name: str) -> NpmPackage:
    for package in NPM_CORPUS:
        if name in (package.name, package.slug):
            return package
    raise KeyError(f"{name} is not in the npm corpus")


def fetch(package: NpmPackage) -> Path:
    """The package's tarball in the cache, downloaded first if missing or not the pinned one.

    Raises:
        RuntimeError: the download failed or does not match the pinned integrity.
    """
    if cached(package.archive, package.integrity, sri_sha512):
        return package.archive
    return download_pinned(
        package.tarball_url, package.archive, package.integrity, sri_sha512, package.label
    )


def stage(package: NpmPackage, scratch: Path) -> Path:
    """Lay the package out as a node project to plan; returns its root."""
    unpacked = scratch / "unpacked" / package.slug
    if unpacked.exists():
        shutil.rmtree(unpacked)
    with tarfile.open(fetch(package)) as tar:
        tar.extractall(unpacked, filter="data")
    top = unpacked / "package"  # a registry tarball holds one `package/` folder
    root = scratch / "stage" / package.slug
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy2(top / "package.json", root / "package.json")
    for item in (*package.code, *package.tests):
        found = top / item
        if found.is_dir():
            shutil.copytree(found, root / item, ignore=shutil.ignore_patterns(*_NOT_STAGED))
        else:
            (root / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, root / item)
    return root


def node_counts(root: Path, timeout: float = 300.0) -> tuple[tuple[int, int, int], str]:
    """The project's suite under plain `node --test` in `root`: ((total, passed,
    failed), last lines of output).

    Independent of the engine's reading of node's TAP: node's JUnit reporter is
    parsed instead, where a test with subtests is a `testsuite` and each leaf a
    `testcase`, so the count is per leaf test as the engine counts; a skipped or
    todo leaf is not counted. node picks the files by its own default patterns, as
    the project's `npm test` does."""
    try:
        done = subprocess.run(
            ["node", "--test", "--test-reporter=junit"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)},
        )
    except subprocess.TimeoutExpired:
        return (0, 0, 0), f"the node --test run timed out after {timeout:.0f} s"
    tail = "\n".join(done.stderr.strip().splitlines()[-15:])
    try:
        report = ElementTree.fromstring(done.stdout)
    except ElementTree.ParseError:
        return (1, 0, 1), f"node --test gave no JUnit report: {tail or done.returncode}"
    total = passed = 0
    for case in report.iter("testcase"):
        if case.find("skipped") is not None:
            continue
        total += 1
        passed += case.find("failure") is None
    return (total, passed, total - passed), tail
