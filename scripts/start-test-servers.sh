#!/usr/bin/env bash
# Starts the servers the integration tests talk to on loopback (idempotent): clickhouse-server.
set -uo pipefail
# Debian installs the server in /usr/sbin, which a user's PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
if ! command -v clickhouse-server >/dev/null 2>&1; then
  echo "clickhouse-server is not installed (scripts/install-dev-tools.sh installs it); the ClickHouse tests will skip"
else
  if ! (exec 3<>/dev/tcp/127.0.0.1/8123) 2>/dev/null; then
    mkdir -p /tmp/ufc-clickhouse
    (cd /tmp/ufc-clickhouse && nohup clickhouse-server --config-file=/etc/clickhouse-server/config.xml >/tmp/ufc-clickhouse/server.log 2>&1 &)
    for _ in $(seq 1 60); do
      (exec 3<>/dev/tcp/127.0.0.1/8123) 2>/dev/null && break
      sleep 1
    done
  fi
  (exec 3<>/dev/tcp/127.0.0.1/8123) 2>/dev/null && echo "clickhouse-server is up on 127.0.0.1:8123" || echo "clickhouse-server did not start; see /tmp/ufc-clickhouse/server.log"
fi
