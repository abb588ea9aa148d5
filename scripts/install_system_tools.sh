#!/usr/bin/env bash
# System tools the tests need that pip cannot provide: bubblewrap (the sandbox
# generated code runs in), node and npm (TypeScript/JavaScript), promtool (and the Prometheus server, from the same
# Debian package) for the alert-rule and dashboard tests.
#
# Idempotent: when promtool is already on PATH this does nothing and needs no
# network. Otherwise it installs Debian's `prometheus` package as root, without
# recommends, and without starting its service: a policy-rc.d that denies every
# start is in place during the install (unless the system already has one), and
# any prometheus server the install still managed to start is stopped afterwards.
set -euo pipefail

# Chromium for the review page's browser tests (Playwright drives Debian's binary;
# `playwright install` is never used). Idempotent: nothing happens when it is there.
if [[ ! -x /usr/bin/chromium ]]; then
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install_system_tools: /usr/bin/chromium is missing; run as root (or: sudo apt-get install chromium)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi

# Node and npm (Debian's) run the TypeScript compiler service and TS/JS projects'
# tests (node --test). Idempotent: nothing happens when node and npm are on PATH.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install_system_tools: node or npm is missing; run as root (or: sudo apt-get install nodejs npm)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi

# bubblewrap (bwrap) is the sandbox generated code runs in (mge.validate.sandbox).
# Idempotent: nothing happens when bwrap is already on PATH.
if ! command -v bwrap >/dev/null 2>&1; then
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install_system_tools: bwrap is missing; run as root (or: sudo apt-get install bubblewrap)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap
fi

if command -v promtool >/dev/null 2>&1; then
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install_system_tools: promtool is missing; run as root (or: sudo apt-get install prometheus)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_system_tools: promtool is missing and apt-get is not available; install Prometheus' promtool by hand" >&2
    exit 1
fi

POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    made_policy=1
fi
cleanup() {
    if [[ "$made_policy" -eq 1 ]]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus

# The package enables a systemd unit; where systemd runs, stop it so the tests own the
# only Prometheus server they talk to.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
    systemctl disable prometheus >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || {
    echo "install_system_tools: the prometheus package installed, but promtool is not on PATH" >&2
    exit 1
}
