#!/usr/bin/env bash
# The npm packages MGE itself runs, pinned by a lockfile committed in the repo:
#   src/mge/validate/ts/  typescript (the compiler L1 checks TS/JS with, and that
#                         compiles TypeScript tests before `node --test` runs them)
#   examples/ts-vitest/reference/  vitest, the runner of the vitest example's own
#                         tests (MGE runs a vitest project with the project's vitest)
#   examples/js-jest/reference/  jest, the runner of the jest example's own tests
# Installed with `npm ci` (exactly the lockfile, integrity hashes checked) into
# node_modules/ beside the lockfile, git-ignored. Idempotent and offline when the
# pinned version is already there: a second run costs one `node -e`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install_node_tools: node and npm are missing; run scripts/install_system_tools.sh as root (or: sudo apt-get install nodejs npm)" >&2
    exit 1
fi

for entry in src/mge/validate/ts:typescript examples/ts-vitest/reference:vitest examples/js-jest/reference:jest; do
    dir=${entry%%:*} package=${entry#*:}
    wanted=$(node -e 'const l=require(process.argv[1]); process.stdout.write(l.packages["node_modules/" + process.argv[2]].version)' "$PWD/$dir/package-lock.json" "$package")
    manifest="$dir/node_modules/$package/package.json"
    if [[ -f "$manifest" ]] && [[ "$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$PWD/$manifest")" == "$wanted" ]]; then
        continue
    fi
    echo "install_node_tools: npm ci in $dir ($package $wanted)"
    npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error
done
