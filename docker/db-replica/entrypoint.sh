#!/usr/bin/env bash
# The `db-replica` service (docker compose --profile replica): on an empty volume, a base backup of
# `db` with -R (standby.signal and primary_conninfo written for us), then a hot standby streaming
# from it. Runs as the postgres user; the image's postgresql.conf comes along in the backup.
set -euo pipefail
: "${PGDATA:?}" "${PRIMARY_HOST:?}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -q; do sleep 1; done
  PGPASSWORD="${REPLICATION_PASSWORD:-replicator}" pg_basebackup -h "$PRIMARY_HOST" \
    -U "${REPLICATION_USER:-replicator}" -D "$PGDATA" -R -X stream -c fast --no-password
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
