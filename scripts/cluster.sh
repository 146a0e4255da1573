#!/usr/bin/env bash
# The scale-out engines on this machine, for tests, benchmarks and trying cluster
# mode: PostgreSQL 15 (Debian's postgresql-15) and Milvus 2.3.5 standalone (PyPI's
# `milvus` 2.3.5, the real server with its embedded etcd and local storage).
#
#   scripts/cluster.sh start     install what is missing, start both, wait until ready
#   scripts/cluster.sh stop      stop what this script started (by its PIDs)
#   scripts/cluster.sh status
#
# Both listen on 127.0.0.1 only. PostgreSQL is told to (listen_addresses). Milvus
# binds every interface it sees, so it runs in a network namespace of its own
# (`unshare -n`) that has only a loopback; socat carries 127.0.0.1:19530 of the host
# to it through a Unix socket (with TCP_NODELAY on both TCP legs, or a request whose
# headers and body arrive in two writes waits out a delayed ACK). Ports: LINEUP_PG_PORT (54329), LINEUP_MILVUS_PORT
# (19530). State, data and logs: .lineup/cluster/ (git-ignored).
# Prints the addresses to use: LINEUP_POSTGRES_URL and LINEUP_MILVUS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/.lineup/cluster
pg_port=${LINEUP_PG_PORT:-54329}
milvus_port=${LINEUP_MILVUS_PORT:-19530}
pg_bin=/usr/lib/postgresql/15/bin
venv=$root/.lineup/venv-milvus
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

install() {
    local missing=()
    for package in postgresql-15 socat iproute2 util-linux curl; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        local sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null \
            || die "apt-get install ${missing[*]} failed"
    fi
    if ! "$venv/bin/python" -c 'import milvus' 2>/dev/null; then
        say "installing milvus 2.3.5 (the standalone server) from PyPI"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check milvus==2.3.5 || die "pip install milvus==2.3.5 failed"
    fi
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# PostgreSQL refuses to run as root: its data belong to the postgres account.
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
    local data=$state/postgres/data
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating the PostgreSQL cluster in $data"
        mkdir -p "$state/postgres"
        [ "$(id -u)" -eq 0 ] && chown postgres "$state/postgres"
        as_postgres "$pg_bin/initdb" -D "$data" -U lineup --auth=trust -E UTF8 >/dev/null || die "initdb failed"
    fi
    if ! as_postgres "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "starting PostgreSQL on 127.0.0.1:$pg_port"
        as_postgres "$pg_bin/pg_ctl" -D "$data" -l "$state/postgres/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$state/postgres" start >/dev/null \
            || die "PostgreSQL did not start: see $state/postgres/server.log"
    fi
    head -1 "$data/postmaster.pid" > "$state/postgres.pid"
    "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U lineup -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'lineup'" \
        | grep -q 1 || "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U lineup lineup
    # amcheck (in Debian's postgresql-15) lets `lineup status --check` check the indexes and tables.
    "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U lineup -d lineup -qtAc "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null \
        || die "could not add the amcheck extension"
}

# How soon an erased template leaves Milvus's files (see README, Backups and erasure).
# Lineup compacts the segments an erasure deleted from; the garbage collector then
# removes the old segment files once they have been unused for dropTolerance seconds,
# looking every interval seconds (defaults: hourly, after three hours). The message
# log keeps each insert until its page (rocksmqPageSize of later writes) is older
# than the retention, and RocksDB's compaction rewrites its files (defaults: 64 MB
# pages, three days, daily).
erasure_settings="--extra-config dataCoord.gc.interval=30 --extra-config dataCoord.gc.dropTolerance=60 \
    --extra-config rocksmq.retentionTimeInMinutes=60 --extra-config rocksmq.rocksmqPageSize=4194304 \
    --extra-config rocksmq.compactionInterval=3600"

start_milvus() {
    mkdir -p "$state/milvus"
    if ! alive "$state/milvus.pid"; then
        say "starting Milvus 2.3.5 in its own network namespace"
        rm -f "$state/milvus.sock"
        # One process group (setsid), so stop ends the server, its children and the bridge.
        setsid unshare -n sh -c "ip link set lo up && \
            (socat UNIX-LISTEN:$state/milvus.sock,fork,unlink-early TCP:127.0.0.1:19530,nodelay &) && \
            exec $venv/bin/milvus-server --data $state/milvus/data $erasure_settings" > "$state/milvus/server.log" 2>&1 < /dev/null &
        echo $! > "$state/milvus.pid"
    fi
    if ! alive "$state/bridge.pid"; then
        setsid socat "TCP-LISTEN:$milvus_port,bind=127.0.0.1,reuseaddr,fork,nodelay" "UNIX-CONNECT:$state/milvus.sock" \
            > "$state/bridge.log" 2>&1 < /dev/null &
        echo $! > "$state/bridge.pid"
    fi
    local waited=0
    until curl -sf -m 2 "http://127.0.0.1:$milvus_port/v1/vector/collections" 2>/dev/null | grep -q '"code":200'; do
        alive "$state/milvus.pid" || die "Milvus stopped: see $state/milvus/server.log"
        [ $waited -ge 240 ] && die "Milvus not ready after 240 s: see $state/milvus/server.log"
        sleep 2; waited=$((waited + 2))
    done
}

stop_group() { # pid file
    if alive "$1"; then
        local pid; pid=$(cat "$1")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

case "${1:-}" in
    start)
        install
        mkdir -p "$state"
        # Each server is tried even when the other fails; the exit status says if either did.
        # `start postgres` or `start milvus` starts one of them.
        failed=()
        if [ "${2:-postgres}" = postgres ]; then
            if (start_postgres); then echo "LINEUP_POSTGRES_URL=postgres://lineup@127.0.0.1:$pg_port/lineup"; else failed+=(PostgreSQL); fi
        fi
        if [ "${2:-milvus}" = milvus ]; then
            if (start_milvus); then echo "LINEUP_MILVUS_URL=http://127.0.0.1:$milvus_port"; else failed+=(Milvus); fi
        fi
        [ ${#failed[@]} -eq 0 ] || die "not started: ${failed[*]}"
        ;;
    stop)
        stop_group "$state/bridge.pid"
        stop_group "$state/milvus.pid"
        if [ -f "$state/postgres/data/PG_VERSION" ]; then
            as_postgres "$pg_bin/pg_ctl" -D "$state/postgres/data" -m fast stop >/dev/null 2>&1 || true
        fi
        rm -f "$state/postgres.pid" "$state/milvus.sock"
        ;;
    status)
        alive "$state/postgres.pid" && echo "postgres: running (pid $(cat "$state/postgres.pid"))" || echo "postgres: stopped"
        alive "$state/milvus.pid" && echo "milvus: running (pid $(cat "$state/milvus.pid"))" || echo "milvus: stopped"
        ;;
    *) echo "usage: scripts/cluster.sh start [postgres|milvus]|stop|status" >&2; exit 2 ;;
esac
