#!/usr/bin/env bash
# Prepares a local PostgreSQL 15 with pgvector for Cinegraph's tests and for people who run a system Postgres.
# Idempotent: starts the cluster if it is down, builds pgvector from Debian's source package when it is
# missing (bookworm does not package it), creates the database and enables the extension.
set -euo pipefail

# Tests pointed at another server (TEST_DATABASE_URL) or an explicit opt-out leave the local cluster alone.
if [ -n "${TEST_DATABASE_URL:-}" ] || [ "${SKIP_DB_SETUP:-}" = "1" ]; then exit 0; fi

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
DB_NAME="${PGDATABASE:-test}"
PSQL=(psql -h 127.0.0.1 -p "${PGPORT:-5432}" -U "${PGUSER:-postgres}" -v ON_ERROR_STOP=1 -qAt)

log() { printf '[setup-postgres] %s\n' "$*"; }

start_cluster() {
  if pg_isready -h 127.0.0.1 -p "${PGPORT:-5432}" -q; then return; fi
  log "PostgreSQL is down; starting cluster ${PG_MAJOR}/main"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "${PGPORT:-5432}" -q && return; sleep 1; done
  log "PostgreSQL did not become ready"; exit 1
}

install_pgvector() {
  local sharedir
  sharedir="$("$PG_CONFIG" --sharedir 2>/dev/null || echo "/usr/share/postgresql/${PG_MAJOR}")"
  if [ -f "${sharedir}/extension/vector.control" ]; then log "pgvector already installed"; return; fi
  log "pgvector missing; building it from Debian's source package"
  local work; work="$(mktemp -d)"
  chmod 755 "$work"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb-src http://deb.debian.org/debian trixie main" > "$work/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
  # Pin the dev headers to the running server's version: an unpinned install upgrades and restarts it.
  local server_version
  server_version="$(dpkg-query -W -f='${Version}' "postgresql-${PG_MAJOR}")"
  if ! dpkg-query -W -f='${Status}' "postgresql-server-dev-${PG_MAJOR}" 2>/dev/null | grep -q 'install ok installed'; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-${PG_MAJOR}=${server_version}" >/dev/null
  fi
  command -v make >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make gcc >/dev/null
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${apt_opts[@]}" source -qq --download-only pgvector >/dev/null 2>&1 || \
    apt-get "${apt_opts[@]}" source -qq pgvector >/dev/null)
  (cd "$work" && { ls -d pgvector-*/ >/dev/null 2>&1 || dpkg-source -x ./*.dsc >/dev/null; })
  local src; src="$(ls -d "$work"/pgvector-*/ | head -n 1)"
  make -s -C "$src" PG_CONFIG="$PG_CONFIG" >/dev/null
  make -s -C "$src" PG_CONFIG="$PG_CONFIG" install >/dev/null
  rm -rf "$work"
  log "pgvector installed"
}

prepare_database() {
  if [ "$("${PSQL[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" != "1" ]; then
    log "creating database ${DB_NAME}"
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE \"${DB_NAME}\""
  fi
  "${PSQL[@]}" -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS vector"
  log "database ${DB_NAME} ready with pgvector $("${PSQL[@]}" -d "$DB_NAME" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
}

start_cluster
install_pgvector
prepare_database
