"""One pinned download for both corpora: a file that is not the pinned one never lands.

The PyPI sdists and the npm tarballs are pinned by different digests (sha256 hex,
npm's SRI sha512), but the rule is the same: fetch beside the cache into a `.part`
file, compare with the pin, and only then move it into place, so an interrupted or
tampered download leaves the cache as it was.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.request
from collections.abc import Callable
from pathlib import Path

Digest = Callable[[Path], str]


def sha256_hex(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def sri_sha512(path: Path) -> str:
    """npm's `dist.integrity` form: `sha512-` and the base64 digest."""
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def cached(archive: Path, pinned: str, digest: Digest) -> bool:
    return archive.is_file() and digest(archive) == pinned


def download_pinned(url: str, archive: Path, pinned: str, digest: Digest, label: str) -> Path:
    """`archive`, downloaded from `url`, once its digest is the pinned one.

    Raises:
        RuntimeError: the download failed or is not the pinned file; the cache
            keeps whatever it held before.
    """
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            partial.write_bytes(response.read())
    except OSError as error:
        raise RuntimeError(f"download of {label} failed: {error}") from error
    found = digest(partial)
    if found != pinned:
        partial.unlink()
        raise RuntimeError(f"{label}: digest {found} is not the pinned {pinned}")
    partial.replace(archive)
    return archive
