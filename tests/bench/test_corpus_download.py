"""The corpora's pinned download, against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.corpus._download import (
    cached,
    download_pinned,
    sha256_hex,
    sri_sha512,
)

BODY = b"a release archive\n" * 100


class _Serve(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pkg.tgz"
    server.shutdown()
    server.server_close()


def test_a_file_with_the_pinned_digest_lands_in_the_cache(url: str, tmp_path: Path) -> None:
    archive = tmp_path / "cache" / "pkg.tgz"
    pinned = hashlib.sha256(BODY).hexdigest()
    assert not cached(archive, pinned, sha256_hex)
    assert download_pinned(url, archive, pinned, sha256_hex, "pkg") == archive
    assert archive.read_bytes() == BODY
    assert cached(archive, pinned, sha256_hex)
    assert not archive.with_suffix(".part").exists()


def test_a_file_that_is_not_the_pinned_one_never_replaces_the_cache(
    url: str, tmp_path: Path
) -> None:
    archive = tmp_path / "pkg.tgz"
    archive.write_bytes(b"what the cache held")
    with pytest.raises(RuntimeError, match=r"pkg: digest sha512-.* is not the pinned sha512-x"):
        download_pinned(url, archive, "sha512-x", sri_sha512, "pkg")
    assert archive.read_bytes() == b"what the cache held"
    assert not archive.with_suffix(".part").exists()


def test_an_unreachable_server_is_one_error_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="download of pkg failed"):
        download_pinned("http://127.0.0.1:9/x.tgz", tmp_path / "x.tgz", "", sha256_hex, "pkg")


def test_the_npm_digest_is_the_registrys_integrity_form(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    # The SRI string npm publishes for an empty file.
    assert sri_sha512(path) == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )
