#!/usr/bin/env bash
# A streaming read replica of the local PostgreSQL 15 (the one scripts/setup-postgres.sh prepares), made on
# this machine with pg_basebackup -R on another port, for DATABASE_READ_URL and its tests.
#
#   bash scripts/setup-replica.sh            make it (or start it) and wait until it streams; a no-op when it does
#   bash scripts/setup-replica.sh --status   say whether it runs and how far behind it is
#   bash scripts/setup-replica.sh --stop     stop it (its files stay; the next run starts it again)
#   bash scripts/setup-replica.sh --remove   stop it and delete its files
#
# REPLICA_PORT (5433), REPLICA_DIR (/var/tmp/cinegraph-replica: outside /tmp, which gets cleaned),
# PRIMARY_PORT (5432). The primary is changed only by what a reload applies: a `host replication`
# line for 127.0.0.1 in its pg_hba.conf. It is never restarted; if it would need one (wal_level
# minimal, max_wal_senders 0) the script says so and stops.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICA_PORT="${REPLICA_PORT:-5433}"
REPLICA_DIR="${REPLICA_DIR:-/var/tmp/cinegraph-replica}"
DATA="${REPLICA_DIR}/data"
# Written by this script only: nothing without it is ever deleted or overwritten.
MARKER="${REPLICA_DIR}/made-by-cinegraph-setup-replica"
OWNER=postgres
PSQL_PRIMARY=(psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
PSQL_REPLICA=(psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)

log() { printf '[setup-replica] %s\n' "$*"; }
die() { printf '[setup-replica] ERROR: %s\n' "$*" >&2; exit 1; }
as_owner() { if [ "$(id -un)" = "$OWNER" ]; then "$@"; else runuser -u "$OWNER" -- "$@"; fi; }

replica_up() { "$BIN/pg_isready" -h 127.0.0.1 -p "$REPLICA_PORT" -q; }
ours_running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }
streaming() {
  [ "$("${PSQL_REPLICA[@]}" -c "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = "streaming" ]
}

stop_replica() {
  if ours_running; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    log "stopped the replica on port ${REPLICA_PORT}"
  else
    log "the replica is not running"
  fi
}

case "${1:-}" in
  --stop) stop_replica; exit 0 ;;
  --remove)
    stop_replica
    if [ -f "$MARKER" ]; then rm -rf "$REPLICA_DIR"; log "removed ${REPLICA_DIR}"; fi
    exit 0 ;;
  --status)
    if replica_up && streaming; then
      log "streaming on port ${REPLICA_PORT} from ${DATA}: $("${PSQL_REPLICA[@]}" -c \
        "SELECT 'replayed up to ' || pg_last_wal_replay_lsn() || CASE WHEN pg_is_wal_replay_paused() THEN ' (replay paused)' ELSE '' END")"
    else
      log "not streaming on port ${REPLICA_PORT}"; exit 1
    fi
    exit 0 ;;
  "") ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option $1 (try --help)" ;;
esac

"$BIN/pg_isready" -h 127.0.0.1 -p "$PRIMARY_PORT" -q ||
  die "the primary on port ${PRIMARY_PORT} is down: run bash scripts/setup-postgres.sh first"

# Something already answers on the replica port: fine if it is this replica and it streams.
if replica_up; then
  serving="$("${PSQL_REPLICA[@]}" -c "SHOW data_directory" 2>/dev/null || true)"
  if [ "$serving" != "$DATA" ]; then
    die "port ${REPLICA_PORT} is taken by another server (data directory ${serving:-unknown}); set REPLICA_PORT"
  fi
  for _ in $(seq 1 20); do streaming && break; sleep 0.5; done
  if streaming; then
    # A test that paused replay to simulate lag and died before resuming leaves it paused for good.
    if [ "$("${PSQL_REPLICA[@]}" -c "SELECT pg_is_wal_replay_paused()")" = "t" ]; then
      "${PSQL_REPLICA[@]}" -c "SELECT pg_wal_replay_resume()" >/dev/null
      log "replay was paused; resumed it"
    fi
    log "already streaming on port ${REPLICA_PORT} (${DATA}): nothing to do"
    exit 0
  fi
  log "the replica runs but does not stream; making it again"
  stop_replica
fi

# The primary: settings that only a restart changes are checked, never changed.
wal_level="$("${PSQL_PRIMARY[@]}" -c "SHOW wal_level")"
senders="$("${PSQL_PRIMARY[@]}" -c "SHOW max_wal_senders")"
if [ "$wal_level" = "minimal" ] || [ "$senders" = "0" ]; then
  die "!!! the primary has wal_level=${wal_level}, max_wal_senders=${senders}: streaming needs wal_level=replica and
max_wal_senders >= 1, which only a RESTART of the primary applies (it would cut off everyone using it).
Set them in $("${PSQL_PRIMARY[@]}" -c "SHOW config_file") and restart it yourself, then run this again."
fi
hba="$("${PSQL_PRIMARY[@]}" -c "SHOW hba_file")"
if ! "${PSQL_PRIMARY[@]}" -c "SELECT 1 FROM pg_hba_file_rules WHERE 'replication' = ANY(database)
      AND type IN ('host', 'hostnossl') AND address IN ('127.0.0.1', '0.0.0.0', 'all', 'samehost')
      AND auth_method = 'trust' LIMIT 1" | grep -q 1; then
  printf '\n# Added by cinegraph scripts/setup-replica.sh: the local streaming replica connects here.\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
  "${PSQL_PRIMARY[@]}" -c "SELECT pg_reload_conf()" >/dev/null
  log "primary: added 'host replication all 127.0.0.1/32 trust' to ${hba} and reloaded (no restart)"
else
  log "primary: pg_hba.conf already admits replication from 127.0.0.1"
fi

start_replica() {
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "${REPLICA_DIR}/replica.log" -w -t 60 start >/dev/null ||
    { tail -n 20 "${REPLICA_DIR}/replica.log" >&2 || true; return 1; }
  for _ in $(seq 1 40); do streaming && return 0; sleep 0.5; done
  return 1
}

# An existing copy is started and must catch up by streaming; without a replication slot the primary
# may have recycled the WAL it needs meanwhile, and then it is made again.
if [ -f "$MARKER" ] && [ -f "$DATA/standby.signal" ]; then
  log "starting the existing replica in ${DATA}"
  if start_replica; then
    log "streaming on port ${REPLICA_PORT}"
    exit 0
  fi
  log "it could not catch up by streaming; making it again from a fresh base backup"
  stop_replica
fi

if [ -e "$REPLICA_DIR" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$REPLICA_DIR" 2>/dev/null)" ]; then
  die "${REPLICA_DIR} exists and was not made by this script; set REPLICA_DIR to another path"
fi
rm -rf "$DATA"
mkdir -p "$REPLICA_DIR"
touch "$MARKER"
chown "$OWNER:$OWNER" "$REPLICA_DIR"
chmod 700 "$REPLICA_DIR"

log "base backup of 127.0.0.1:${PRIMARY_PORT} into ${DATA} (pg_basebackup -R, WAL streamed alongside)"
as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast \
  --no-password

# Debian keeps postgresql.conf and pg_hba.conf in /etc, so the copy has neither. A standby needs these
# limits at least as high as the primary's, or it refuses to replay.
limits=""
for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
  limits+="${setting} = $("${PSQL_PRIMARY[@]}" -c "SHOW ${setting}")"$'\n'
done
cat >"$DATA/postgresql.conf" <<CONF
# Written by cinegraph scripts/setup-replica.sh: a hot standby of 127.0.0.1:${PRIMARY_PORT}.
port = ${REPLICA_PORT}
listen_addresses = '127.0.0.1'
unix_socket_directories = '${REPLICA_DIR}'
hot_standby = on
# Replies often, so pg_stat_replication on the primary shows the replay position within 1 s.
wal_receiver_status_interval = 1s
${limits}
CONF
cat >"$DATA/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
chown "$OWNER:$OWNER" "$DATA/postgresql.conf" "$DATA/pg_hba.conf"
# The primary's pid file and logs are not the replica's.
rm -f "$DATA/postmaster.pid" "$DATA/postmaster.opts"

start_replica || die "the new replica did not start streaming; see ${REPLICA_DIR}/replica.log"
log "made a streaming replica of 127.0.0.1:${PRIMARY_PORT} on 127.0.0.1:${REPLICA_PORT} (${DATA});" \
  "DATABASE_READ_URL=postgres://postgres@127.0.0.1:${REPLICA_PORT}/test; stop it with: bash scripts/setup-replica.sh --stop"
