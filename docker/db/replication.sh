#!/usr/bin/env bash
# Runs once, when the primary's volume is initialised (docker-entrypoint-initdb.d): a role the
# `db-replica` service streams with, and a pg_hba.conf line letting it in from the compose network.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE ${REPLICATION_USER:-replicator} WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD:-replicator}';
SQL
echo "host replication ${REPLICATION_USER:-replicator} all scram-sha-256" >>"$PGDATA/pg_hba.conf"
