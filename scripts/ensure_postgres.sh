#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for the
# tests. Use the running one when it answers; otherwise install and start one as the
# `postgres` user (the server refuses to run as root).
set -euo pipefail

HOST=127.0.0.1
PORT=5432

answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PORT"
    else
        (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
    fi
}

if answers; then
    exit 0
fi

echo "ensure_postgres: no server on $HOST:$PORT, starting one" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d "/etc/postgresql/$VERSION/main" ]; then
    HBA="/etc/postgresql/$VERSION/main/pg_hba.conf"
    if ! grep -q "mge-trust" "$HBA"; then
        $SUDO sed -i '1i host all all 127.0.0.1/32 trust # mge-trust\nlocal all all trust # mge-trust' "$HBA"
    fi
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || true
else
    DATA=/var/lib/postgresql/mge-data
    BINDIR="/usr/lib/postgresql/$VERSION/bin"
    if [ ! -d "$DATA" ]; then
        $SUDO install -d -o postgres -g postgres "$DATA"
        $SUDO -u postgres "$BINDIR/initdb" -D "$DATA" -A trust -U postgres >/dev/null
    fi
    $SUDO -u postgres "$BINDIR/pg_ctl" -D "$DATA" -o "-h $HOST -p $PORT" -l "$DATA/server.log" -w start >/dev/null
fi

for _ in $(seq 1 30); do
    if answers; then break; fi
    sleep 1
done
answers || { echo "ensure_postgres: server did not come up" >&2; exit 1; }

if command -v psql >/dev/null 2>&1; then
    if ! psql -h "$HOST" -p "$PORT" -U postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
        psql -h "$HOST" -p "$PORT" -U postgres -qc "create database test"
    fi
fi
