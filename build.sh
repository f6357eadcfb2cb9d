#!/usr/bin/env bash
# youdu: one script to install, build, run and test.
#
#   ./build.sh run      install what is missing, build, start MariaDB + Redis + nginx, print the URL
#   ./build.sh test     build, start a private stack on test ports, run every test, stop it
#   ./build.sh stop     stop what `run` started
#   ./build.sh status   show what is running
#   ./build.sh build    only build the module
#
# Options: --asan / --no-asan (build and run the module with AddressSanitizer;
#   `test` uses it by default).  `test` also takes prove arguments: ./build.sh test t/010-auth.t
# Environment: YOUDU_RUN_DIR (default ./run), YOUDU_BUILD_DIR (default ./.build),
#   YOUDU_HTTP_PORT / YOUDU_HTTPS_PORT / YOUDU_DB_PORT / YOUDU_REDIS_PORT (run: 8080/8443/13306/16379;
#   test: YOUDU_TEST_PORT_BASE+80/+443/+306/+379, base 18000), YOUDU_TCP_PORT / YOUDU_TCPS_PORT
#   (raw TCP push, plain and TLS; run: 8090/8453; test: base+90/+453), YOUDU_WORKERS (run:
#   worker_processes, default auto), YOUDU_WORKER_CONNECTIONS (default 4096),
#   YOUDU_WORKER_RLIMIT_NOFILE (default unset).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CMD=${1:-run}
[ $# -gt 0 ] && shift
# tests run under AddressSanitizer unless --no-asan is given
ASAN=0
[ "$CMD" = test ] && ASAN=1
PROVE_ARGS=()
for a in "$@"; do
    case "$a" in
        --asan) ASAN=1 ;;
        --no-asan) ASAN=0 ;;
        *) PROVE_ARGS+=("$a") ;;
    esac
done

BUILD_DIR=${YOUDU_BUILD_DIR:-$ROOT/.build}
MODULE_NAME=ngx_youdu_module

log() { printf '\033[1m[youdu]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[youdu] error:\033[0m %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages

PACKAGES=(nginx nginx-dev libnginx-mod-stream mariadb-server mariadb-client libmariadb-dev
          redis-server libhiredis-dev libjansson-dev libjwt-dev libssl-dev libargon2-dev
          argon2 zlib1g-dev libgd-dev unicode-data pkg-config gcc make openssl perl
          libio-socket-ssl-perl libprotocol-websocket-perl libcryptx-perl curl procps
          iproute2 libxml2-dev libsqlite3-dev sqlite3 chromium fonts-wqy-microhei fonts-noto-color-emoji)
# the browser tests' runner (t/browser): Node.js with npm, Debian's unless one is there
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root so apt-get can install them"
    log "installing: ${missing[*]}"
    # keep distro daemons (nginx on :80, mariadb on :3306, redis on :6379) from starting
    local prc=/usr/sbin/policy-rc.d created=0
    if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' > $prc; chmod +x $prc; created=1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || apt-get install -y -q --no-install-recommends "${missing[@]}"
    [ $created = 1 ] && rm -f $prc
    # a daemon that slipped through would hold the default ports; ours use their own, so leave it
    return 0
}

# playwright-core from npm, exactly as t/browser/package-lock.json pins it (no
# browser download: the tests drive Debian's /usr/bin/chromium)
install_browser_test_deps() {
    local d=$ROOT/t/browser
    if [ ! -d "$d/node_modules/playwright-core" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
        log "npm ci (t/browser)"
        (cd "$d" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
            || die "npm ci in t/browser failed"
    fi
}

# ---------------------------------------------------------------- build

module_sources() {
    find "$ROOT/ngx_youdu_core" "$ROOT/ngx_youdu_module" "$ROOT/ngx_youdu_push" \
         -type f \( -name '*.c' -o -name '*.h' -o -name config -o -name '*.pl' \) 2>/dev/null | sort || true
}

build_module() {
    local variant=release cflags="-O2 -g"
    if [ $ASAN = 1 ]; then variant=asan; cflags="-O1 -g -fsanitize=address -fno-omit-frame-pointer"; fi
    local bdir=$BUILD_DIR/$variant
    local src=$bdir/nginx
    local so=$bdir/$MODULE_NAME.so
    mkdir -p "$bdir"

    # generated sources (pinyin table from Debian's Unihan data)
    mkdir -p "$bdir/gen"
    if [ ! -s "$bdir/gen/ngx_youdu_pinyin_table.c" ] \
       || [ "$ROOT/ngx_youdu_core/gen_pinyin.pl" -nt "$bdir/gen/ngx_youdu_pinyin_table.c" ]; then
        log "generating pinyin table"
        perl "$ROOT/ngx_youdu_core/gen_pinyin.pl" "$bdir/gen/ngx_youdu_pinyin_table.c"
    fi

    # configure once per set of config files / flags
    local stamp
    stamp=$( (cat "$ROOT/ngx_youdu_module/config"; echo "$cflags"; module_sources | sed "s|$ROOT||") | md5sum | cut -d' ' -f1)
    if [ ! -f "$src/.stamp" ] || [ "$(cat "$src/.stamp")" != "$stamp" ]; then
        log "configuring against nginx-dev ($variant)"
        rm -rf "$src"
        cp -a /usr/share/nginx/src "$src"
        # shellcheck disable=SC1091
        . "$src/conf_flags"
        (cd "$src" && YOUDU_GEN_DIR="$bdir/gen" ./configure "${NGX_CONF_FLAGS[@]}" \
            --with-stream=dynamic --with-stream_ssl_module --with-stream_ssl_preread_module \
            --with-stream_realip_module \
            --with-cc-opt="$cflags -Wno-error=deprecated-declarations" \
            --add-dynamic-module="$ROOT/ngx_youdu_module" >"$bdir/configure.log" 2>&1) \
            || { tail -30 "$bdir/configure.log"; die "configure failed (see $bdir/configure.log)"; }
        echo "$stamp" > "$src/.stamp"
    fi
    log "building $MODULE_NAME.so ($variant)"
    (cd "$src" && make -j"$(nproc)" -f objs/Makefile "objs/$MODULE_NAME.so" >"$bdir/make.log" 2>&1) \
        || { grep -E 'error:|warning:|Error' -A3 "$bdir/make.log" | head -60; die "build failed (see $bdir/make.log)"; }
    cp "$src/objs/$MODULE_NAME.so" "$so.tmp" && mv "$so.tmp" "$so"
    MODULE_SO=$so
}

# ---------------------------------------------------------------- stack

# set_env MODE: fills RUN_DIR and the ports for `run` or `test`
set_env() {
    if [ "$1" = test ]; then
        local base=${YOUDU_TEST_PORT_BASE:-18000}
        RUN_DIR=${YOUDU_TEST_RUN_DIR:-${YOUDU_RUN_DIR:-$ROOT/run}/test}
        HTTP_PORT=$((base + 80)); HTTPS_PORT=$((base + 443))
        DB_PORT=$((base + 306)); REDIS_PORT=$((base + 379))
        TCP_PORT=$((base + 90)); TCPS_PORT=$((base + 453))
        NGINX_WORKERS=${YOUDU_TEST_WORKERS:-2}
        YOUDU_DEBUG_ENDPOINTS=1
        YOUDU_QUERY_TIMEOUT=4s    # t/006-query-timeout.t relies on it
        YOUDU_PUSH_AUTH_TIMEOUT=2s; YOUDU_PUSH_RECHECK=2s    # t/100-push-ws.t
        YOUDU_PUSH_PRESENCE_TTL=4s                           # t/102-presence.t
        YOUDU_RECALL_WINDOW=5m                               # t/041-messages.t
        YOUDU_UPLOAD_MAX=8m; YOUDU_IMAGE_MAX=2m              # t/043-files.t
        YOUDU_PUSH_TCP_IDLE=6s                               # t/103-push-tcp.t
        # t/060-callbacks.t: short attempts, backoff and retry window
        YOUDU_CB_TIMEOUT=2s; YOUDU_CB_RETRY_BASE=1s; YOUDU_CB_RETRY_MAX=4s
        YOUDU_CB_RETRY_TOTAL=10s; YOUDU_CB_POLL=1s; YOUDU_BUIN=707070
        YOUDU_CB_CONCURRENCY=8; YOUDU_CB_APP_CONCURRENCY=2
        YOUDU_CB_SSL_TRUSTED=secrets/tls.crt     # the stack's own self-signed certificate
    else
        RUN_DIR=${YOUDU_RUN_DIR:-$ROOT/run}
        HTTP_PORT=${YOUDU_HTTP_PORT:-8080}; HTTPS_PORT=${YOUDU_HTTPS_PORT:-8443}
        DB_PORT=${YOUDU_DB_PORT:-13306}; REDIS_PORT=${YOUDU_REDIS_PORT:-16379}
        TCP_PORT=${YOUDU_TCP_PORT:-8090}; TCPS_PORT=${YOUDU_TCPS_PORT:-8453}
        NGINX_WORKERS=${YOUDU_WORKERS:-auto}
    fi
    mkdir -p "$RUN_DIR"
    RUN_DIR=$(cd "$RUN_DIR" && pwd)
    DB_SOCK=$RUN_DIR/mysql.sock
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for SECONDS CMD...
    local t=$1; shift
    for _ in $(seq 1 $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

secrets() {
    mkdir -p "$RUN_DIR/secrets"; chmod 700 "$RUN_DIR/secrets"
    [ -s "$RUN_DIR/secrets/db_password" ] || openssl rand -hex 24 | tr -d '\n' > "$RUN_DIR/secrets/db_password"
    [ -s "$RUN_DIR/secrets/jwt.key" ] || openssl rand -hex 32 | tr -d '\n' > "$RUN_DIR/secrets/jwt.key"
    chmod 600 "$RUN_DIR/secrets/"*
    if [ ! -s "$RUN_DIR/secrets/tls.crt" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$RUN_DIR/secrets/tls.key" -out "$RUN_DIR/secrets/tls.crt" >/dev/null 2>&1
    fi
}

sql_root() { mariadb --no-defaults -uroot --socket="$DB_SOCK" "$@"; }

start_mariadb() {
    local data=$RUN_DIR/mysql
    mkdir -p "$RUN_DIR/tmp" "$RUN_DIR/log"
    if pid_alive "$RUN_DIR/mysql.pid"; then return 0; fi
    if [ ! -d "$data/mysql" ]; then
        log "initialising MariaDB datadir $data"
        mariadb-install-db --no-defaults --datadir="$data" --user=root \
            --auth-root-authentication-method=normal --skip-test-db >"$RUN_DIR/log/mysql-install.log" 2>&1 \
            || { cat "$RUN_DIR/log/mysql-install.log"; die "mariadb-install-db failed"; }
    fi
    log "starting MariaDB on 127.0.0.1:$DB_PORT"
    mariadbd --no-defaults --datadir="$data" --socket="$DB_SOCK" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --user=root --pid-file="$RUN_DIR/mysql.pid" \
        --log-error="$RUN_DIR/log/mysql.log" --tmpdir="$RUN_DIR/tmp" --skip-name-resolve \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-flush-log-at-trx-commit=1 --max-connections=500 \
        --innodb-buffer-pool-size=256M --max-allowed-packet=64M >/dev/null 2>&1 &
    wait_for 30 sql_root -e 'SELECT 1' || { tail -20 "$RUN_DIR/log/mysql.log"; die "MariaDB did not start"; }
}

apply_migrations() {
    local pw; pw=$(cat "$RUN_DIR/secrets/db_password")
    sql_root <<SQL
CREATE DATABASE IF NOT EXISTS youdu CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'youdu'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'youdu'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'youdu'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'youdu'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL ON youdu.* TO 'youdu'@'127.0.0.1';
GRANT ALL ON youdu.* TO 'youdu'@'localhost';
CREATE TABLE IF NOT EXISTS youdu.schema_migrations (
  version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL,
  applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;
SQL
    local f v name
    for f in "$ROOT"/sql/[0-9][0-9][0-9]_*.sql; do
        [ -e "$f" ] || continue
        name=$(basename "$f"); v=$((10#${name%%_*}))
        if [ -z "$(sql_root -N youdu -e "SELECT 1 FROM schema_migrations WHERE version=$v")" ]; then
            log "migration $name"
            { cat "$f"; echo; echo "INSERT INTO schema_migrations (version, name) VALUES ($v, '$name');"; } \
                | sql_root youdu || die "migration $name failed"
        fi
    done
}

start_redis() {
    pid_alive "$RUN_DIR/redis.pid" && return 0
    mkdir -p "$RUN_DIR/redis" "$RUN_DIR/log"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --dir "$RUN_DIR/redis" --daemonize no --pidfile "$RUN_DIR/redis.pid" \
        --logfile "$RUN_DIR/log/redis.log" >/dev/null 2>&1 &
    echo $! > "$RUN_DIR/redis.pid"
    wait_for 10 redis-cli -p "$REDIS_PORT" ping || die "Redis did not start"
}

render_nginx_conf() {
    mkdir -p "$RUN_DIR"/{log/asan,tmp/body,tmp/proxy,tmp/fastcgi,tmp/uwsgi,tmp/scgi,files}
    # workers run as nobody: their temp files, uploads and sanitizer reports
    chown -R nobody:nogroup "$RUN_DIR/tmp" "$RUN_DIR/files" "$RUN_DIR/log/asan" 2>/dev/null || true
    local asan_env=""
    [ $ASAN = 1 ] && asan_env="env ASAN_OPTIONS;"
    local debug=""
    [ "${YOUDU_DEBUG_ENDPOINTS:-0}" = 1 ] && debug="youdu_debug_endpoints on;  # tests only"
    local cbtrust=""
    [ -n "${YOUDU_CB_SSL_TRUSTED:-}" ] && cbtrust="youdu_callback_ssl_trusted_certificate $RUN_DIR/$YOUDU_CB_SSL_TRUSTED;"
    local rlimit=""
    [ -n "${YOUDU_WORKER_RLIMIT_NOFILE:-}" ] && rlimit="worker_rlimit_nofile $YOUDU_WORKER_RLIMIT_NOFILE;"
    sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@ROOT@|$ROOT|g" -e "s|@MODULE_SO@|$MODULE_SO|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
        -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@REDIS_PORT@|$REDIS_PORT|g" \
        -e "s|@WORKERS@|$NGINX_WORKERS|g" -e "s|@ASAN_ENV@|$asan_env|g" -e "s|@DEBUG@|$debug|g" \
        -e "s|@WORKER_CONNECTIONS@|${YOUDU_WORKER_CONNECTIONS:-4096}|g" -e "s|@WORKER_RLIMIT@|$rlimit|g" \
        -e "s|@QUERY_TIMEOUT@|${YOUDU_QUERY_TIMEOUT:-30s}|g" \
        -e "s|@RECALL_WINDOW@|${YOUDU_RECALL_WINDOW:-2m}|g" \
        -e "s|@TCP_PORT@|$TCP_PORT|g" -e "s|@TCPS_PORT@|$TCPS_PORT|g" \
        -e "s|@PUSH_AUTH_TIMEOUT@|${YOUDU_PUSH_AUTH_TIMEOUT:-10s}|g" \
        -e "s|@PUSH_RECHECK@|${YOUDU_PUSH_RECHECK:-30s}|g" \
        -e "s|@PUSH_PRESENCE_TTL@|${YOUDU_PUSH_PRESENCE_TTL:-90s}|g" \
        -e "s|@PUSH_TCP_IDLE@|${YOUDU_PUSH_TCP_IDLE:-90s}|g" \
        -e "s|@BUIN@|${YOUDU_BUIN:-1}|g" -e "s|@CB_SSL_TRUSTED@|$cbtrust|g" \
        -e "s|@CB_TIMEOUT@|${YOUDU_CB_TIMEOUT:-10s}|g" \
        -e "s|@CB_RETRY_BASE@|${YOUDU_CB_RETRY_BASE:-10s}|g" \
        -e "s|@CB_RETRY_MAX@|${YOUDU_CB_RETRY_MAX:-30m}|g" \
        -e "s|@CB_RETRY_TOTAL@|${YOUDU_CB_RETRY_TOTAL:-24h}|g" \
        -e "s|@CB_POLL@|${YOUDU_CB_POLL:-5s}|g" \
        -e "s|@CB_CONCURRENCY@|${YOUDU_CB_CONCURRENCY:-32}|g" \
        -e "s|@CB_APP_CONCURRENCY@|${YOUDU_CB_APP_CONCURRENCY:-4}|g" \
        "$ROOT/conf/nginx.conf.in" > "$RUN_DIR/nginx.conf"
    local f
    for f in youdu-locations youdu-server; do
        sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@ROOT@|$ROOT|g" \
            -e "s|@PUSH_AUTH_TIMEOUT@|${YOUDU_PUSH_AUTH_TIMEOUT:-10s}|g" \
            -e "s|@PUSH_RECHECK@|${YOUDU_PUSH_RECHECK:-30s}|g" \
            -e "s|@PUSH_PRESENCE_TTL@|${YOUDU_PUSH_PRESENCE_TTL:-90s}|g" \
            -e "s|@UPLOAD_MAX@|${YOUDU_UPLOAD_MAX:-100m}|g" \
            -e "s|@IMAGE_MAX@|${YOUDU_IMAGE_MAX:-20m}|g" \
            "$ROOT/conf/$f.conf.in" > "$RUN_DIR/$f.conf"
    done
}

nginx_cmd() {
    if [ $ASAN = 1 ]; then
        LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:log_path=$RUN_DIR/log/asan/asan} \
            /usr/sbin/nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" "$@"
    else
        /usr/sbin/nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" "$@"
    fi
}

start_nginx() {
    render_nginx_conf
    nginx_cmd -t -q 2>"$RUN_DIR/log/nginx-t.log" || { cat "$RUN_DIR/log/nginx-t.log"; die "nginx -t failed"; }
    # a reload would keep the old module mapped in the master: restart
    stop_nginx
    log "starting nginx on 127.0.0.1:$HTTP_PORT (https :$HTTPS_PORT, push tcp :$TCP_PORT/:$TCPS_PORT)"
    nginx_cmd
    wait_for 10 curl -sf "http://127.0.0.1:$HTTP_PORT/api/v1/ping" || {
        tail -20 "$RUN_DIR/log/error.log"; die "nginx does not answer"; }
}

# create_admin: first super admin with a one-time password (must be changed at first login)
create_admin() {
    local n
    n=$(sql_root -N youdu -e "SELECT COUNT(*) FROM users WHERE role = 2")
    if [ "$n" != 0 ]; then
        # still unused: show the one-time password again
        if [ -s "$RUN_DIR/secrets/admin_initial_password" ] && [ "$(sql_root -N youdu -e \
            "SELECT must_change_password FROM users WHERE account = 'admin'")" = 1 ]; then
            ADMIN_PASSWORD=$(cat "$RUN_DIR/secrets/admin_initial_password")
        fi
        return 0
    fi
    local pw salt hash
    pw=$(openssl rand -base64 12 | tr -d '/+=' | cut -c1-12)
    salt=$(openssl rand -hex 8)
    hash=$(printf '%s' "$pw" | argon2 "$salt" -id -t 2 -k 19456 -p 1 -e)
    sql_root youdu <<SQL
INSERT INTO users (account, name, name_pinyin, name_initials, role, must_change_password, password_hash, enable_state)
VALUES ('admin', 'Administrator', 'administrator', 'a', 2, 1, '$hash', 1);
INSERT INTO user_depts (user_id, dept_id, position, weight, sort_id) VALUES (LAST_INSERT_ID(), 0, '', 0, 0);
SQL
    ADMIN_PASSWORD=$pw
    printf '%s\n' "$pw" > "$RUN_DIR/secrets/admin_initial_password"; chmod 600 "$RUN_DIR/secrets/admin_initial_password"
}

stop_nginx() {
    local p
    if pid_alive "$RUN_DIR/nginx.pid"; then
        p=$(cat "$RUN_DIR/nginx.pid")
        kill -QUIT "$p" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            pkill -KILL -P "$p" 2>/dev/null || true
            kill -KILL "$p" 2>/dev/null || true
        fi
    fi
    return 0
}

stop_stack() {
    stop_nginx
    local f
    for f in redis mysql; do
        if pid_alive "$RUN_DIR/$f.pid"; then
            local p; p=$(cat "$RUN_DIR/$f.pid")
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
        fi
    done
    rm -f "$RUN_DIR/redis.pid"
    return 0
}

start_stack() {
    secrets
    start_mariadb
    apply_migrations
    start_redis
    start_nginx
}

# ---------------------------------------------------------------- commands

case "$CMD" in
build)
    install_packages
    build_module
    log "built $MODULE_SO"
    ;;
run)
    install_packages
    build_module
    set_env run
    ADMIN_PASSWORD=""
    start_stack
    create_admin
    echo
    log "youdu is running"
    echo "  Web:    http://127.0.0.1:$HTTP_PORT/   (the web client; TLS: https://127.0.0.1:$HTTPS_PORT/, self-signed)"
    echo "  API:    http://127.0.0.1:$HTTP_PORT/api/v1/   (see docs/api.md)"
    echo "  Push:   ws://127.0.0.1:$HTTP_PORT/push/ws, raw TCP 127.0.0.1:$TCP_PORT (TLS :$TCPS_PORT)   (see docs/push.md)"
    if [ -n "$ADMIN_PASSWORD" ]; then
        echo "  Admin:  account 'admin', one-time password '$ADMIN_PASSWORD' (change it at first login)"
    else
        echo "  Admin:  account 'admin' (password already changed)"
    fi
    echo "  Logs:   $RUN_DIR/log/    Data: $RUN_DIR/mysql, $RUN_DIR/files    Stop: ./build.sh stop"
    ;;
stop)
    set_env run
    stop_stack
    log "stopped"
    ;;
status)
    set_env run
    for f in nginx mysql redis; do
        if pid_alive "$RUN_DIR/$f.pid"; then echo "$f: running (pid $(cat "$RUN_DIR/$f.pid"))";
        else echo "$f: stopped"; fi
    done
    curl -s "http://127.0.0.1:$HTTP_PORT/api/v1/ping" && echo || true
    ;;
test)
    install_packages
    # the release build `run` uses compiles with other warnings (-O2): keep it building
    if [ $ASAN = 1 ]; then (ASAN=0; build_module); fi
    build_module
    set_env test
    stop_stack
    rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"; RUN_DIR=$(cd "$RUN_DIR" && pwd); DB_SOCK=$RUN_DIR/mysql.sock
    export YOUDU_BUILD_VARIANT_DIR
    log "unit tests"
    rc=0
    for u in "$ROOT"/t/unit/*build_and_run.sh; do
        [ -e "$u" ] || continue
        bash "$u" "$RUN_DIR/unit" || rc=1
    done
    install_browser_test_deps
    start_stack
    create_admin
    export TEST_YOUDU_URL="http://127.0.0.1:$HTTP_PORT" TEST_YOUDU_HTTPS_URL="https://127.0.0.1:$HTTPS_PORT"
    export TEST_YOUDU_RUN_DIR=$RUN_DIR TEST_YOUDU_ROOT=$ROOT TEST_YOUDU_ADMIN_PASSWORD=$ADMIN_PASSWORD
    export TEST_YOUDU_DB_SOCK=$DB_SOCK TEST_YOUDU_DB_PORT=$DB_PORT TEST_YOUDU_REDIS_PORT=$REDIS_PORT
    export TEST_YOUDU_TCP_PORT=$TCP_PORT TEST_YOUDU_TCPS_PORT=$TCPS_PORT
    export TEST_YOUDU_MODULE_SO=$MODULE_SO TEST_YOUDU_ASAN=$ASAN
    log "prove ${PROVE_ARGS[*]:-t/}"
    set +e
    (cd "$ROOT" && prove -r -I t/lib --timer "${PROVE_ARGS[@]:-t/}")
    [ $? -eq 0 ] || rc=1
    set -e
    stop_stack
    # a worker stopped by the sanitizer exits with code 1 and reports in log/asan/
    # (pipefail: a missing sanitizer report must not make cat's failure hide the alerts)
    if { cat "$RUN_DIR/log/error.log" 2>/dev/null; cat "$RUN_DIR"/log/asan/* 2>/dev/null; true; } \
        | grep -E '\[alert\]|\[emerg\]|exited on signal|exited with code [1-9]|AddressSanitizer|runtime error' \
        | grep -v 'exited on signal 9$'; then   # SIGKILL: only the guarantee tests send it
        log "nginx logged alerts or crashes (above)"; rc=1
    fi
    [ $rc = 0 ] && log "all tests passed" || log "TESTS FAILED"
    exit $rc
    ;;
service)
    # used by the resilience tests: ./build.sh service start|stop mariadb|redis|nginx
    # (acts on the test stack when YOUDU_SERVICE_MODE=test, else on `run`'s)
    set_env "${YOUDU_SERVICE_MODE:-run}"
    [ "${YOUDU_SERVICE_MODE:-run}" = test ] && MODULE_SO=${TEST_YOUDU_MODULE_SO:-}
    action=${PROVE_ARGS[0]:-}; what=${PROVE_ARGS[1]:-}
    case "$action/$what" in
        stop/mariadb) p=$(cat "$RUN_DIR/mysql.pid" 2>/dev/null || true)
                      [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
                      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done ;;
        start/mariadb) start_mariadb ;;
        stop/redis) p=$(cat "$RUN_DIR/redis.pid" 2>/dev/null || true)
                    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
                    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                    rm -f "$RUN_DIR/redis.pid" ;;
        start/redis) start_redis ;;
        stop/nginx) stop_nginx ;;
        start/nginx) [ -n "$MODULE_SO" ] || die "TEST_YOUDU_MODULE_SO not set"; start_nginx ;;
        *) die "usage: ./build.sh service start|stop mariadb|redis|nginx" ;;
    esac
    ;;
*)
    die "usage: ./build.sh run|test|stop|status|build [--asan]"
    ;;
esac
