#!/usr/bin/env bash
# Real code bases the tests atomize and plan from, installed once and reused.
#
# Each corpus is an npm package pinned to one version and installed under
# .test-corpora/<name>/ (git-ignored). A corpus already present at the pinned
# version is left alone, so a second run costs a few stat calls and no network.
#   rxjs      7.8.1    TypeScript sources (src/**/*.ts) of a large real library
#   lodash-es 4.17.21  plain ES-module JavaScript, one function per file
# Then the fast subset of the PyPI corpus (bench/corpus/_projects.py, sdists pinned
# by sha256) that tests/corpus checks, cached under .test-corpora/pypi/: a file
# already there with the pinned hash costs a hash and no network. Then the fast
# subset of the npm corpus (bench/corpus/_npm.py, registry tarballs pinned by
# integrity), cached under .test-corpora/npm/ the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

CORPORA_DIR=.test-corpora
CORPORA=(
    "rxjs 7.8.1"
    "lodash-es 4.17.21"
)

installed_version() {
    local manifest="$CORPORA_DIR/$1/node_modules/$1/package.json"
    [[ -f "$manifest" ]] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$PWD/$manifest"
}

for entry in "${CORPORA[@]}"; do
    read -r name version <<<"$entry"
    if [[ "$(installed_version "$name")" == "$version" ]]; then
        continue
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "install_test_corpora: npm is not installed; cannot fetch $name@$version" >&2
        exit 1
    fi
    echo "install_test_corpora: installing $name@$version into $CORPORA_DIR/$name"
    mkdir -p "$CORPORA_DIR/$name"
    npm install --prefix "$CORPORA_DIR/$name" --no-save --no-package-lock \
        --ignore-scripts --no-audit --no-fund --loglevel=error \
        "$name@$version" >/dev/null 2>&1 \
        || npm install --prefix "$CORPORA_DIR/$name" --no-save --no-package-lock \
            --ignore-scripts --no-audit --no-fund --loglevel=error "$name@$version"
done

PYTHON=.venv/bin/python
[[ -x "$PYTHON" ]] || PYTHON=python3
PYTHONPATH=. "$PYTHON" -m bench.corpus fetch --subset
