# shellcheck shell=bash
# The throwaway PostgreSQL cluster of the shell scripts (statement-costs.sh, audit-ab.sh,
# explain-plans.sh). Source it, then `scratch_pg_cluster NAME PORT [postgresql.conf line ...]`:
# initdb's a cluster in a new /tmp/NAME.XXXXXX (unix socket only; as root the server runs as
# `postgres`, since initdb refuses root), starts it, and stops and deletes it on exit, also on
# error or Ctrl-C. `scratch_pg_start` does the same and then applies Migrations/*.sql each in its
# own transaction (as MigrationRunner does: 0008 locks a table). Both set SCRATCH_DIR (the socket
# directory), SCRATCH_URL and the PSQL command array. Needs ROOT (the repository) and PG_BIN.
# (The Python tools use bidengine's own embedded cluster through scripts/lib/loadmix/cluster.py.)

as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

SCRATCH_DIR=""
SCRATCH_STARTED=0
scratch_pg_cleanup() {
    local rc=$?
    set +e
    ((SCRATCH_STARTED)) && as_pg "$PG_BIN/pg_ctl" -D "$SCRATCH_DIR/data" -m immediate -w stop >/dev/null 2>&1
    [[ -n $SCRATCH_DIR ]] && rm -rf "$SCRATCH_DIR"
    exit "$rc"
}

scratch_pg_cluster() {  # scratch_pg_cluster NAME PORT [conf line ...]
    local name=$1 port=$2 line
    shift 2
    SCRATCH_DIR=$(mktemp -d "/tmp/$name.XXXXXX")
    trap scratch_pg_cleanup EXIT
    trap 'exit 130' INT TERM
    [[ $(id -u) -eq 0 ]] && chown postgres: "$SCRATCH_DIR"
    as_pg "$PG_BIN/initdb" -D "$SCRATCH_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$SCRATCH_DIR'"
        echo "port = $port"
        for line in "$@"; do echo "$line"; done
    } >>"$SCRATCH_DIR/data/postgresql.conf"
    as_pg "$PG_BIN/pg_ctl" -D "$SCRATCH_DIR/data" -l "$SCRATCH_DIR/server.log" -w start >/dev/null
    SCRATCH_STARTED=1
    PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$SCRATCH_DIR" -p "$port" -U postgres -d postgres)
    # shellcheck disable=SC2034  # read by the scripts that source this file
    SCRATCH_URL="postgresql:///postgres?host=$SCRATCH_DIR&port=$port&user=postgres"
}

scratch_pg_start() {  # scratch_pg_start NAME PORT [conf line ...]: the cluster, then the migrations
    scratch_pg_cluster "$@"
    local migration
    for migration in "$ROOT"/Migrations/*.sql; do "${PSQL[@]}" -1 -f "$migration" >/dev/null; done
}

# CPU seconds of the cluster so far: the postmaster, its live children and its reaped children.
# A backend that has just exited counts once the postmaster has reaped it (wait a moment).
scratch_pg_cpu() {
    local postmaster ticks total pid
    postmaster=$(head -1 "$SCRATCH_DIR/data/postmaster.pid")
    ticks=$(getconf CLK_TCK)
    total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat")
    for pid in $(pgrep -P "$postmaster"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    awk -v t="$total" -v hz="$ticks" 'BEGIN { printf "%.4f", t / hz }'
}
