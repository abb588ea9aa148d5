#!/usr/bin/env bash
# Real code bases the tests atomize and plan from (installed once, reused).
set -euo pipefail
cd "$(dirname "$0")/.."
