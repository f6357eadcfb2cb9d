#!/bin/sh
# youdu: MariaDB non-blocking API vs thread pool, measured outside nginx.
#
# Starts a private MariaDB on 127.0.0.1:23306 (datadir under /tmp), loads
# sessions(id, user_id, revoked_at, last_seen) with 100,000 rows, builds and
# runs bench/db_async_vs_threads.c, prints its table, stops the server and
# removes the datadir. Everything is bounded by timeouts.
#
# Usage: [DBBENCH_PORT=23306] bench/db_async_vs_threads.sh [dbbench options, e.g. -d 5 -g 16:16]

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BASE=/tmp/dbbench-data
DATADIR=$BASE/data
SOCK=$BASE/mysqld.sock
PIDFILE=$BASE/mysqld.pid
LOG=$BASE/mysqld.err
PORT=${DBBENCH_PORT:-23306}   # the test suite (t/) also uses 23306: override if busy
BIN=/tmp/dbbench
ROWS=100000

SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        i=0
        while kill -0 "$SERVER_PID" 2>/dev/null && [ $i -lt 300 ]; do
            sleep 0.1; i=$((i + 1))
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "mariadbd did not stop in 30 s, killing it" >&2
            kill -9 "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    rm -rf "$BASE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a leftover from an interrupted run?
if [ -f "$PIDFILE" ]; then
    old=$(cat "$PIDFILE" 2>/dev/null || true)
    if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
        echo "a previous benchmark server (pid $old) is still running;" \
             "stop it first" >&2
        exit 1
    fi
fi
if ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$PORT\$"; then
    echo "port $PORT is already in use; stop whatever listens there" >&2
    exit 1
fi
rm -rf "$BASE"
mkdir -p "$BASE/tmp"

echo "== building $BIN"
gcc -O2 -Wall -o "$BIN" "$HERE/db_async_vs_threads.c" \
    $(pkg-config --cflags --libs libmariadb) -lpthread

echo "== initialising $DATADIR"
timeout 120 mariadb-install-db --no-defaults --datadir="$DATADIR" --user=root \
    --auth-root-authentication-method=normal --skip-test-db \
    --tmpdir="$BASE/tmp" \
    >"$BASE/install.log" 2>&1 || { cat "$BASE/install.log" >&2; exit 1; }

echo "== starting mariadbd on 127.0.0.1:$PORT"
mariadbd --no-defaults --datadir="$DATADIR" --socket="$SOCK" --port=$PORT \
    --bind-address=127.0.0.1 --user=root --skip-name-resolve \
    --pid-file="$PIDFILE" --log-error="$LOG" --tmpdir="$BASE/tmp" \
    --max-connections=1000 --innodb-buffer-pool-size=256M \
    --skip-log-bin --performance-schema=OFF &
SERVER_PID=$!

i=0
until mariadb --no-defaults -S "$SOCK" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge 300 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "mariadbd did not come up; log:" >&2
        cat "$LOG" >&2 || true
        exit 1
    fi
    sleep 0.1
done

echo "== loading $ROWS rows"
timeout 120 mariadb --no-defaults -S "$SOCK" -uroot <<EOF
CREATE DATABASE benchdb;
CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY 'bench';
GRANT ALL ON benchdb.* TO 'bench'@'127.0.0.1';
USE benchdb;
CREATE TABLE sessions (
    id          BIGINT NOT NULL PRIMARY KEY,
    user_id     BIGINT NOT NULL,
    revoked_at  DATETIME NULL,
    last_seen   DATETIME NOT NULL,
    KEY (user_id)
) ENGINE=InnoDB;
-- user_id = (id * 7) % 5000 + 1, every 10th session revoked: the benchmark
-- checks every row it reads against this
INSERT INTO sessions (id, user_id, revoked_at, last_seen)
    SELECT seq, (seq * 7) % 5000 + 1,
           IF(seq % 10 = 0, NOW() - INTERVAL 1 DAY, NULL),
           NOW() - INTERVAL (seq % 86400) SECOND
    FROM seq_1_to_$ROWS;
ANALYZE TABLE sessions;
-- warm the buffer pool
SELECT COUNT(*), SUM(user_id) FROM sessions;
EOF

# the two CPUs are shared: say how busy the host is before we start
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
b0=$(cpu_busy); sleep 2; b1=$(cpu_busy)
idle_busy=$(echo "$b0 $b1" | awk '{ if ($4 > $2) printf "%.0f", 100 * ($3 - $1) / ($4 - $2); else print 0 }')
echo "== host CPU busy over 2 s before the run: ${idle_busy}%"
if [ "$idle_busy" -gt 10 ]; then
    echo "   WARNING: something else is using the CPUs; figures will be low" >&2
fi

echo "== running (mariadbd pid $SERVER_PID, $(nproc) CPUs shared by server and client)"
echo
# default: 5 configurations x 2 modes x 2 passes x (1 s warm-up + 10 s)
# = ~220 s plus connection setup; later options override (-n 1, -d 5 ...)
timeout 600 "$BIN" -P $PORT -u bench -p bench -D benchdb -r $ROWS \
    -s "$SERVER_PID" -n 2 "$@"

echo
echo "== stopping mariadbd"
