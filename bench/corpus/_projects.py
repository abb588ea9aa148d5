"""The corpus: real pure-Python projects from PyPI, pinned, fetched and staged.

One list, `CORPUS`, used by the fault-0 bench (`bench.corpus`), the precision
bench (`bench.precision._projects`) and the tests (`tests/corpus`). Each entry
pins a source distribution by name, version and sha256, so that a project that
changes on PyPI (a re-upload, a yanked file) fails loudly instead of silently
moving a figure. Each sdist (the published source with its tests) is downloaded
from the package index's simple page by its hash into `.test-corpora/pypi/`,
which git ignores; a file already there with the pinned hash is reused without
network.

A project is staged as a plan's reference is laid out: `<stage>/<package>` (or
`<stage>/<module>.py`), its tests under `<stage>/tests/` (or the name of its one
test directory) unless they live inside the package, its pytest configuration
files at `<stage>/`, since the engine honours them and they change what a suite
collects and how warnings are treated, and the other files its suite reads
(`data`: a README it runs, the package's `.egg-info` metadata, which stands for
the installed distribution a package may read its version from) at `<stage>/`.

This module needs only the standard library: `make system-deps` fetches the
corpus through it (`python -m bench.corpus fetch --subset`) before MGE is
importable.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.corpus._download import cached, download_pinned, sha256_hex

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".test-corpora" / "pypi"
CONFIG_FILES = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


@dataclass(frozen=True)
class Sdist:
    """A pinned PyPI source distribution and where its code and tests sit inside it."""

    name: str
    version: str
    sha256: str
    package: str  # the package directory or single module, inside the unpacked sdist
    tests: tuple[str, ...] = ()  # test files or directories; empty: they are in `package`
    config: tuple[str, ...] = ()  # pytest configuration files to keep beside the package
    features: str = ""  # what the project brings to the corpus (layout, config, code)
    subset: bool = False  # part of the fast subset `make test` checks
    # Files or directories outside the code and tests that the suite reads, kept at
    # the stage root as in the sdist (a README it runs, the package's installed
    # metadata), and named to `plan from-code --support` so the output has them.
    data: tuple[str, ...] = ()
    # Why the suite fails on its reference even when staged as its developers
    # lay it out, when it does: added to the reason the project is left out.
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def archive(self) -> Path:
        return CACHE / f"{self.name}-{self.version}.tar.gz"

    def from_code_args(self, source: Path, tests: Path | None) -> list[str]:
        """The arguments of `mge plan from-code` for the project as `stage` laid it out."""
        args = [str(source)]
        if tests is not None:
            args += ["--tests", str(tests)]
        for item in self.data:
            args += ["--support", str(source.parent / Path(item).name)]
        return args


CORPUS: tuple[Sdist, ...] = (
    Sdist(
        "inflection",
        "0.5.1",
        "1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417",
        "inflection",
        ("test_inflection.py",),
        features="one-module package, one top-level test file; parametrized tests, regexes",
        subset=True,
    ),
    Sdist(
        "cachetools",
        "8.0.0",
        "5ed01bd676800d51f0025605e4fd8ad0891550513e7b0a4c3da478463764e5c3",
        "src/cachetools",
        ("tests",),
        features="src layout; unittest suite with shared base classes; decorators, "
        "descriptors, locks, MutableMapping subclasses",
    ),
    Sdist(
        "first",
        "2.0.2",
        "ff285b08c55f8c97ce4ea7012743af2495c9f1291785f163722bd36f6af6d3bf",
        "first.py",
        ("test_first.py",),
        features="single top-level module; unittest suite; `__all__`, dunder metadata",
        subset=True,
    ),
    Sdist(
        "mccabe",
        "0.7.0",
        "348e0240c33b60bbdf4e523192ef919f28cb2c3d7d5c7794f74009290f236325",
        "mccabe.py",
        ("test_mccabe.py",),
        features="single top-level module; ast visitor classes, optparse plugin "
        "registration, try/except imports",
        note="upstream: without hypothesmith (not installed here) the module's "
        "`@settings(...)` decorator is a NameError; its guard only sets hypothesmith = None",
    ),
    Sdist(
        "six",
        "1.16.0",
        "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926",
        "six.py",
        ("test_six.py",),
        ("setup.cfg",),
        features="single module; setup.cfg [tool:pytest]; metaclasses, module-level "
        "registration loops, lazy module objects, version branches",
        note="this CPython is built without the `_dbm` extension, and "
        "test_move_items[dbm_ndbm] skips only for missing gdbm, tkinter or winreg",
    ),
    Sdist(
        "parse",
        "1.20.2",
        "b41d604d16503c79d81af5165155c0b20f6c8d6c559efa66b4b695c3e5a0a0ce",
        "parse.py",
        ("tests",),
        features="single module with a tests/ directory; long functions, regex building, "
        "tzinfo subclass",
    ),
    Sdist(
        "ordered-set",
        "4.1.0",
        "694a8e44c87657c59292ede72891eb91d34131f6531463aab3009191c77364a8",
        "ordered_set",
        ("test",),
        ("pytest.ini",),
        features="one-module package; pytest.ini with --doctest-modules; @overload, "
        "generics, MutableSet",
    ),
    Sdist(
        "pathspec",
        "0.12.1",
        "a482d51503a1ab33b1c67a6c3813a26953dbdc71c31dacaef9a838c4e29f5712",
        "pathspec",
        ("tests",),
        features="subpackage (patterns/); unittest suite with a helper module; "
        "dataclasses, pattern registry at import time",
    ),
    Sdist(
        "tinydb",
        "4.8.0",
        "6dd686a9c5a75dfa9280088fd79a419aefe19cd7f4bd85eba203540ef856d564",
        "tinydb",
        ("tests",),
        features="package with conftest.py fixtures; abstract base classes, generics, "
        "`if TYPE_CHECKING`, a mypy plugin module",
    ),
    Sdist(
        "semver",
        "3.0.2",
        "6253adb39c70f6e51afed2fa7152bcd414c411286088fb4b9effb133885ab4cc",
        "src/semver",
        ("tests",),
        ("setup.cfg",),
        features="src layout; setup.cfg with --doctest-modules, pythonpath, coverage "
        "options; conftest.py; total_ordering, properties, `__main__`",
    ),
    Sdist(
        "isodate",
        "0.6.1",
        "48c5881de7e8b0a0d648cb024c8062dc84e7b840ed81e864c7614fd3c127bde9",
        "src/isodate",
        features="src layout with tests inside the package; unittest suites built by "
        "load_tests; arithmetic dunders",
    ),
    Sdist(
        "funcy",
        "2.0",
        "3963315d59d41c6f30c04bc910e10ab50a3ac4a225868bfa96feed133df075cb",
        "funcy",
        ("tests",),
        features="many small modules re-exported by `__init__`; decorator factories, "
        "`__all__` built at import time",
    ),
    Sdist(
        "jmespath",
        "1.0.1",
        "90261b206d6defd58fdd5e85f478bf633a2901798906be2ad389150c5c60edbe",
        "jmespath",
        ("tests",),
        features="lexer/parser/visitor; tests read JSON compliance data files",
    ),
    Sdist(
        "pluggy",
        "1.5.0",
        "2cffa88e94fdc978c4c574f15f9e59b7f4201d439195c3715ca9e2486f1d0cf1",
        "src/pluggy",
        ("testing",),
        ("tox.ini",),
        features="src layout; tox.ini [pytest] with filterwarnings = error; "
        "conftest.py; generators as hook wrappers, `if TYPE_CHECKING`, final classes",
    ),
    Sdist(
        "addict",
        "2.4.0",
        "b3b2210e0e067a281f5646c8c5db92e99b7231ea8b0eb5f74dbdf9e259d4e494",
        "addict",
        ("test_addict.py",),
        features="package whose `__init__` only re-exports; dict subclass with "
        "__getattr__/__setattr__ magic; unittest suite",
        subset=True,
    ),
    Sdist(
        "schema",
        "0.7.7",
        "7da553abd2958a19dc2547c388cde53398b39196175a9be59ea1caf5ab0a1807",
        "schema.py",
        ("test_schema.py",),
        features="single module; long validate() with nested try/except and "
        "isinstance chains, a class hierarchy of validators",
        # Its tests validate `open('LICENSE-MIT')` from the project root.
        data=("LICENSE-MIT",),
    ),
    Sdist(
        "toposort",
        "1.10",
        "bfbb479c53d0a696ea7402601f4e693c97b0367837c8898bc6471adfca37a6bd",
        "src/toposort.py",
        ("test",),
        features="src layout with a single module; generator with while/else; "
        "unittest suite in a test/ package",
        note="its test module calls `unittest.main()` at import (run as "
        "`python -m test.test_toposort`), which exits any pytest collection",
    ),
    Sdist(
        "xmltodict",
        "0.13.0",
        "341595a488e3e01a85a9d8911d8912fd922ede5fecc4dce437eb4b6c8d037e56",
        "xmltodict.py",
        ("tests",),
        features="single module; SAX handler class, generators, try/except imports, "
        "`if __name__ == '__main__'` block",
    ),
    Sdist(
        "wcwidth",
        "0.2.13",
        "72ea0c06399eb286d978fdedb6923a9eb47e1c486ce63e9b4e64fc18303972b5",
        "wcwidth",
        ("tests",),
        ("tox.ini",),
        features="large generated tables; tox.ini [pytest] with filterwarnings = error "
        "and coverage options; lru_cache functions",
    ),
    Sdist(
        "tabulate",
        "0.9.0",
        "0095b12bf5966de529c0feb1fa08671671b3368eec77d7ef7ab114be2c068b3c",
        "tabulate",
        ("test",),
        features="one 2.7k-line `__init__.py`; namedtuples, long functions; tests "
        "import a helper by bare name and skip on optional packages",
    ),
    Sdist(
        "more-itertools",
        "10.3.0",
        "e5d93ef411224fbcef366a6e8ddc4c5781bc6359d43412a65dd5964e46111463",
        "more_itertools",
        ("tests",),
        features="large (4.6k-line more.py); generators everywhere, `__all__`, "
        "doctest-loading unittest suite",
    ),
    Sdist(
        "toolz",
        "0.12.1",
        "ecca342664893f177a13dac0e6b41cbd8ac25a358e5f215316d43e2100224f4d",
        "toolz",
        features="tests inside the package (toolz/tests); curried namespace package "
        "built at import time, sandbox subpackage; currying decorators",
    ),
    Sdist(
        "exceptiongroup",
        "1.2.2",
        "47c2edf7c6738fafb49fd34290706d1a1a2f4d1c6df275526b62cbb4aa5393cc",
        "src/exceptiongroup",
        ("tests",),
        ("pyproject.toml",),
        features="src layout; pyproject [tool.pytest.ini_options] with --strict-config; "
        "conftest.py; version-gated test modules; generics, context managers, "
        "`if sys.version_info` branches",
    ),
    Sdist(
        "sqlparse",
        "0.5.1",
        "bb6b4df465655ef332548e24f08e205afc81b9ab86cb1c45657a7ff173a3a00e",
        "sqlparse",
        ("tests",),
        features="subpackages (engine/, filters/); conftest.py fixtures reading SQL "
        "files; keyword tables, token classes, generators",
    ),
    Sdist(
        "semantic-version",
        "2.10.0",
        "bdabb6d336998cbb378d4b9db3a4b56a1e3235701dc05ea2690d9a997ed5041c",
        "semantic_version",
        ("tests",),
        features="package with an optional Django module; unittest suite whose Django "
        "tests skip; total ordering by hand, class-level registries of clause types",
        # `__init__` reads its version from the installed distribution's metadata.
        data=("semantic_version.egg-info",),
    ),
    Sdist(
        "shortuuid",
        "1.0.13",
        "3bb9cf07f606260584b1df46399c0b87dd84773e7b25912b7e391e30797c5e72",
        "shortuuid",
        features="test module inside the package; optional Django field module; "
        "argparse CLI, type hints",
        subset=True,
    ),
    Sdist(
        "simpleeval",
        "0.9.13",
        "4a30f9cc01825fe4c719c785e3762623e350c4840d5e6855c2a8496baaa65fac",
        "simpleeval.py",
        ("test_simpleeval.py",),
        features="single module; ast-walking evaluator with a dispatch dict built in "
        "__init__, module-level constants and warnings; unittest suite",
    ),
    Sdist(
        "boolean.py",
        "4.0",
        "17b9a181630e43dde1851d42bef546d616d5d9b4480357514597e78b203d06e4",
        "boolean",
        config=("setup.cfg",),
        features="test module inside the package; setup.cfg [tool:pytest]; "
        "operator-overloading class hierarchy, a tokenizer generator, long parse()",
    ),
    Sdist(
        "munch",
        "4.0.0",
        "542cb151461263216a4e37c3fd9afc425feeaf38aaa3025cd2a981fadb422235",
        "munch",
        ("tests",),
        ("setup.cfg",),
        features="one `__init__.py` package; setup.cfg testpaths; conftest.py fixtures; "
        "__getattr__/__setattr__ magic, optional yaml registration at import time",
        data=("README.md",),  # tests/test_readme.py runs the README's examples
        subset=True,  # the one subset project whose suite reads a file named with --support
    ),
    Sdist(
        "pyhumps",
        "3.8.0",
        "498026258f7ee1a8e447c2e28526c0bea9407f9a59c03260aee4bd6c04d681a3",
        "humps",
        ("tests",),
        features="package named unlike its distribution; small regex functions with "
        "recursion over dicts and lists; parametrized pytest tests",
        subset=True,
    ),
    Sdist(
        "rfc3986",
        "2.0.0",
        "97aacf9dbd4bfd829baad6e6309fa6573aaf1be3f6fa735c8ab05e46cecb261c",
        "src/rfc3986",
        ("tests",),
        features="src layout; conftest.py fixtures parametrizing many files; "
        "namedtuple subclasses with mixins, compiled ABNF regexes",
    ),
)

SUBSET = tuple(sdist for sdist in CORPUS if sdist.subset)


def by_name(name: str) -> Sdist:
    for sdist in CORPUS:
        if sdist.name == name:
            return sdist
    raise KeyError(f"{name} is not in the corpus")


def fetch(sdist: Sdist) -> Path:
    """The sdist's archive in the cache, downloaded first if missing or not the pinned file.

    The file is found in the package index's simple page (PEP 503) by its pinned
    sha256 and downloaded as is. pip is not used: it builds an sdist's metadata
    before saving it, and recent pips refuse some published sdists' metadata
    (tinydb 4.8.0), although the file itself is exactly what the corpus wants.

    Raises:
        RuntimeError: the index has no file with the pinned hash, or the download
            failed or does not match it: the corpus must not move silently.
    """
    if cached(sdist.archive, sdist.sha256, sha256_hex):
        return sdist.archive
    index = os.environ.get("MGE_CORPUS_INDEX", "https://pypi.org/simple").rstrip("/")
    page = f"{index}/{re.sub(r'[-_.]+', '-', sdist.name).lower()}/"
    try:
        with urllib.request.urlopen(page, timeout=60) as response:
            links = re.findall(r'href="([^"]+)"', response.read().decode("utf-8"))
    except OSError as error:
        raise RuntimeError(f"download of {sdist.label} failed: {error}") from error
    url = next(
        (html.unescape(link) for link in links if link.endswith(f"#sha256={sdist.sha256}")),
        None,
    )
    if url is None:
        raise RuntimeError(f"{sdist.label}: {page} has no file with sha256 {sdist.sha256}")
    return download_pinned(
        urllib.parse.urljoin(page, url), sdist.archive, sdist.sha256, sha256_hex, sdist.label
    )


def unpack(sdist: Sdist, scratch: Path) -> Path:
    """The fetched sdist unpacked under `scratch`; returns its top directory."""
    target = scratch / "unpacked" / sdist.name
    if target.exists():
        shutil.rmtree(target)
    with tarfile.open(fetch(sdist)) as tar:
        tar.extractall(target, filter="data")
    (top,) = target.iterdir()  # an sdist holds one `<name>-<version>/` directory
    return top


def stage(sdist: Sdist, scratch: Path) -> tuple[Path, Path | None]:
    """Lay the project out as a reference; returns (source path, tests directory)."""
    unpacked = unpack(sdist, scratch)
    root = scratch / "stage" / sdist.name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    package = unpacked / sdist.package
    source = root / package.name
    if package.is_dir():
        shutil.copytree(package, source)
    else:
        shutil.copy2(package, source)
    for name in sdist.config:
        shutil.copy2(unpacked / name, root / Path(name).name)
    for name in sdist.data:
        found = unpacked / name
        if found.is_dir():
            shutil.copytree(found, root / found.name)
        else:
            shutil.copy2(found, root / found.name)
    if not sdist.tests:
        return source, None
    # A single test directory keeps its name: `testpaths` in the project's own
    # configuration names it, and pytest warns (an error under
    # `filterwarnings = error`) when testpaths matches nothing.
    (only,) = sdist.tests if len(sdist.tests) == 1 else ("",)
    tests = root / (only if only and (unpacked / only).is_dir() else "tests")
    tests.mkdir()
    for item in sdist.tests:
        found = unpacked / item
        if found.is_dir():
            shutil.copytree(found, tests, dirs_exist_ok=True)
        else:
            shutil.copy2(found, tests / found.name)
    return source, tests
