# Source this file to start a throwaway PostgreSQL 15 cluster on a free loopback port.
# It exports DATABASE_URL and PG_THROWAWAY_DIR and stops the cluster when the shell exits.
#   . scripts/pg-throwaway.sh
# Runs as root (initdb runs as the `postgres` user) or as any user that owns its temp dir.

pg_throwaway_start() {
  local bin=/usr/lib/postgresql/15/bin
  if [ ! -x "$bin/initdb" ]; then
    echo "pg-throwaway: PostgreSQL 15 is not installed ($bin/initdb missing); apt-get install postgresql-15" >&2
    return 1
  fi
  local dir port run_as=()
  dir=$(mktemp -d /tmp/polyphemus-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    run_as=(runuser -u postgres --)
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${run_as[@]}" "$bin/initdb" -A trust -U postgres -D "$dir/data" >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; return 1; }
  # Over TCP, postgres needs no password (DATABASE_URL has none) but every other role must give
  # its own, as on a real server: tests that create a role see a wrong password refused.
  local hba
  hba=$(cat "$dir/data/pg_hba.conf")
  printf 'host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n%s\n' \
    "$hba" >"$dir/data/pg_hba.conf"
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  "${run_as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres polyphemus
  export PG_THROWAWAY_DIR="$dir"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/polyphemus"
  echo "pg-throwaway: PostgreSQL on 127.0.0.1:$port ($dir)" >&2
}

pg_throwaway_stop() {
  [ -n "${PG_THROWAWAY_DIR:-}" ] || return 0
  local run_as=()
  [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
  "${run_as[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_THROWAWAY_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_THROWAWAY_DIR"
  unset PG_THROWAWAY_DIR
}

pg_throwaway_start && trap pg_throwaway_stop EXIT
