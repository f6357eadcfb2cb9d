#!/usr/bin/env bash
# Push / messaging benchmarks (bench/RESULTS.md "Push and messaging"). Starts a private
# release-build stack (./build.sh run on its own ports and run dir), creates the data
# (bench/push_setup.pl), runs the scenarios with bench/push_load (C, epoll) and prints the
# figures. Loopback only; every wait is bounded.
#
#   bench/push_bench.sh                  # all scenarios at full scale
#   CONNS=2000 USERS=2000 DEVICES=1 GROUP=1000 PAIRS=500 NCHAN_SUBS=1000 bench/push_bench.sh
#
#   1  CONNS authenticated WebSocket connections (BIG_WORKERS nginx workers, LOADGENS
#      load-generator processes, each from its own 127.0.0.x): nginx memory per connection
#   3  one message to a GROUP-member group, all members online, FANOUT_REPEATS times
#   6  the same with GROUP_DEVICES devices of every member online (5,000 x 4: as many
#      connections as nchan's 20,000 subscribers)
#   2  1:1 send (REST, keep-alive) -> receive (WebSocket) latency at RATE msg/s, PAIRS pairs
#   4  the same at rising rates (STEPS): the highest rate where delivery keeps up
#   5  the same fan-out through nchan (libnginx-mod-nchan), NCHAN_SUBS subscribers
# Scenarios 2-5 run with WORKERS nginx workers (default 2 = the cores here) for both servers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=${BENCH_RUN_DIR:-$ROOT/run/bench}
HTTP_PORT=${BENCH_HTTP_PORT:-22080}
NCHAN_PORT=${BENCH_NCHAN_PORT:-22180}
CONNS=${CONNS:-50000}
USERS=${USERS:-10000}
DEVICES=${DEVICES:-5}
GROUP=${GROUP:-5000}
PAIRS=${PAIRS:-2000}
BIG_WORKERS=${BIG_WORKERS:-8}
WORKERS=${WORKERS:-2}
LOADGENS=${LOADGENS:-4}
RATE=${RATE:-2000}
DURATION=${DURATION:-20}
STEPS=${STEPS:-"250 500 750 1000 1500 2000 3000 4000"}
STEP_SECS=${STEP_SECS:-10}
SEND_CONNS=${SEND_CONNS:-64}
FANOUT_REPEATS=${FANOUT_REPEATS:-10}
NCHAN_SUBS=${NCHAN_SUBS:-"5000 20000"}
GROUP_DEVICES=${GROUP_DEVICES:-4}
SCENARIOS=${SCENARIOS:-"1 3 6 2 4 5"}
B=$RUN/bench
LOAD=$B/push_load
RUNID=$(date +%s)   # in every client_msg_id: they are unique per sender for good

export YOUDU_RUN_DIR=$RUN YOUDU_HTTP_PORT=$HTTP_PORT YOUDU_HTTPS_PORT=${BENCH_HTTPS_PORT:-22443}
export YOUDU_DB_PORT=${BENCH_DB_PORT:-22306} YOUDU_REDIS_PORT=${BENCH_REDIS_PORT:-22379}
export YOUDU_TCP_PORT=${BENCH_TCP_PORT:-22090} YOUDU_TCPS_PORT=${BENCH_TCPS_PORT:-22453}
export YOUDU_WORKER_CONNECTIONS=19000 YOUDU_WORKER_RLIMIT_NOFILE=20000

say() { printf '%s\n' "$*"; }
hdr() { printf '\n== %s\n' "$*"; }

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_nchan
}
trap cleanup EXIT

# the peer for scenario 5, from Debian like everything else (its nginx must not start)
if [[ " $SCENARIOS " == *" 5 "* ]] && [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ] \
   && [ "$(id -u)" = 0 ]; then
    say "installing libnginx-mod-nchan"
    prc=/usr/sbin/policy-rc.d; made=0
    if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' >$prc; chmod +x $prc; made=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libnginx-mod-nchan >/dev/null || say "could not install libnginx-mod-nchan"
    [ $made = 1 ] && rm -f $prc
fi

stack() {   # stack WORKERS: (re)start the stack, nginx with that many workers
    YOUDU_WORKERS=$1 "$ROOT/build.sh" run >"$B/stack.log" 2>&1 || { tail -20 "$B/stack.log"; exit 1; }
}

workers_of() { pgrep -P "$(cat "$1")" 2>/dev/null || true; }   # nginx workers of a pid file

mem_kib() {  # mem_kib PIDFILE -> "RSS PSS" summed over the workers, KiB
    local p rss=0 pss=0 r s
    for p in $(workers_of "$1"); do
        r=$(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        rss=$((rss + ${r:-0})); pss=$((pss + ${s:-0}))
    done
    echo "$rss $pss"
}

cpu_s() {    # CPU seconds (user + system) used so far by the workers of a pid file
    local p t=0
    for p in $(workers_of "$1"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "scale=1; $t / $(getconf CLK_TCK)" | bc
}

pid_cpu() {  # CPU seconds of one process
    echo "scale=2; $(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0) / $(getconf CLK_TCK)" | bc
}

cpu_snapshot() { echo "$(cpu_s "$PF") $(pid_cpu "$(cat "$RUN/mysql.pid")") $(pid_cpu "$(cat "$RUN/redis.pid")")"; }

cpu_per_msg() {  # cpu_per_msg "BEFORE" "AFTER" MESSAGES: CPU ms per message by server process
    local a=($1) b=($2) n=$3
    [ "$n" -gt 0 ] || return 0
    echo "server CPU per message: nginx workers $(echo "scale=3; (${b[0]} - ${a[0]}) * 1000 / $n" | bc) ms," \
         "mariadbd $(echo "scale=3; (${b[1]} - ${a[1]}) * 1000 / $n" | bc) ms, redis $(echo "scale=3; (${b[2]} - ${a[2]}) * 1000 / $n" | bc) ms"
}

fds_total() { local c t=0; for c in $(fds_of "$1"); do t=$((t + c)); done; echo $t; }

fds_of() {   # open files per worker
    local p out=""
    for p in $(workers_of "$1"); do out+="$(ls "/proc/$p/fd" 2>/dev/null | wc -l) "; done
    echo "$out"
}

# receivers NAME N PROCS FROM PROTO PORT PATH [STRIDE]: start PROCS push_load ws processes,
# process i taking tokens.txt lines FROM + i*STRIDE.. (STRIDE: default N/PROCS, contiguous)
receivers() {
    local name=$1 n=$2 procs=$3 from=$4 proto=$5 port=$6 path=$7 stride=${8:-} i per
    per=$(( (n + procs - 1) / procs ))
    stride=${stride:-$per}
    rm -f "$B/$name".*.out "$B/$name".*.status
    for ((i = 0; i < procs; i++)); do
        local cnt=$per
        [ $((i * per + per)) -gt "$n" ] && cnt=$((n - i * per))
        "$LOAD" ws port="$port" path="$path" proto="$proto" tokens="$B/tokens.txt" \
            from=$((from + i * stride)) count="$cnt" src="127.0.0.$((2 + i))" inflight=64 \
            out="$B/$name.$i.out" status="$B/$name.$i.status" max_time=1800 &
        PIDS+=($!)
        echo $! >"$B/$name.$i.pid"
    done
}

status_sum() {  # status_sum NAME FIELD: summed over the NAME processes' status files
    cat "$B/$1".*.status 2>/dev/null | sed -n "s/.* $2=\([0-9]*\).*/\1/p" | awk '{s+=$1} END {print s+0}' || true
}

# wait_ready NAME N SECONDS: until every connection is ready or failed; prints the totals
wait_ready() {
    local name=$1 n=$2 t=$3 start ready failed
    start=$(date +%s.%N)
    for ((k = 0; k < t * 4; k++)); do
        ready=$(status_sum "$name" ready)
        failed=$(status_sum "$name" failed)
        [ $((ready + failed)) -ge "$n" ] && break
        sleep 0.25
    done
    say "$name: $ready/$n ready, $failed failed, $(echo "$(date +%s.%N) - $start" | bc | xargs printf '%.1f') s"
    { grep -h -o 'error=.*' "$B/$name".*.status 2>/dev/null | grep -v 'error=-' | head -3; } || true
    READY=$ready
}

stop_receivers() {
    local name=$1 f p
    for f in "$B/$name".*.pid; do
        [ -e "$f" ] || continue
        p=$(cat "$f"); kill "$p" 2>/dev/null || true
        for ((k = 0; k < 50; k++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        rm -f "$f"
    done
}

# wait_drained PIDFILE: until the workers' open files are back near the idle count (60 s max)
wait_drained() {
    for ((k = 0; k < 120; k++)); do
        [ "$(fds_total "$1")" -lt $((IDLE_FDS + 50)) ] && return 0
        sleep 0.5
    done
}


# ---------------------------------------------------------------- nchan
NCHAN_DIR=$RUN/nchan
start_nchan() {
    mkdir -p "$NCHAN_DIR"/{log,tmp}
    : >"$NCHAN_DIR/log/error.log"
    chown nobody:nogroup "$NCHAN_DIR/tmp"
    cat >"$NCHAN_DIR/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
user nobody nogroup;
worker_processes $WORKERS;
worker_rlimit_nofile 20000;
pid $NCHAN_DIR/nginx.pid;
error_log $NCHAN_DIR/log/error.log notice;
events { worker_connections 19000; }
http {
    access_log $NCHAN_DIR/log/access.log;
    client_body_temp_path $NCHAN_DIR/tmp;
    proxy_temp_path $NCHAN_DIR/tmp;
    fastcgi_temp_path $NCHAN_DIR/tmp;
    uwsgi_temp_path $NCHAN_DIR/tmp;
    scgi_temp_path $NCHAN_DIR/tmp;
    server {
        listen 127.0.0.1:$NCHAN_PORT;
        location = /pub { nchan_publisher; nchan_channel_id bench; }
        location = /sub { nchan_subscriber websocket; nchan_channel_id bench; }
    }
}
EOF
    stop_nchan
    /usr/sbin/nginx -p "$NCHAN_DIR" -c "$NCHAN_DIR/nginx.conf"
    for ((k = 0; k < 50; k++)); do
        curl -s -o /dev/null "http://127.0.0.1:$NCHAN_PORT/pub" && return 0; sleep 0.1
    done
    echo "nchan nginx does not answer"; exit 1
}
stop_nchan() {
    local p
    [ -s "${NCHAN_DIR:-/nonexistent}/nginx.pid" ] || return 0
    p=$(cat "$NCHAN_DIR/nginx.pid")
    kill -QUIT "$p" 2>/dev/null || true
    for ((k = 0; k < 50; k++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    rm -f "$NCHAN_DIR/nginx.pid"
}

# fanout NAME N PROCS PROTO PORT PATH PLAN BODY PIDFILE [STRIDE]: N subscribers,
# FANOUT_REPEATS messages
fanout() {
    local name=$1 n=$2 procs=$3 proto=$4 port=$5 path=$6 plan=$7 body=$8 pf=$9 stride=${10:-} m0 m1
    IDLE_FDS=$(fds_total "$pf")
    m0=$(mem_kib "$pf")
    receivers "$name" "$n" "$procs" 0 "$proto" "$port" "$path" "$stride"
    wait_ready "$name" "$n" 300
    sleep 3
    m1=$(mem_kib "$pf")
    say "nginx workers: RSS/PSS $m0 -> $m1 KiB; per connection: $(per_conn "$m0" "$m1" "$READY"); open files per worker: $(fds_of "$pf")"
    MEM_PER[$name]=$(per_conn "$m0" "$m1" "$READY")
    { "$LOAD" send port="$port" plan="$plan" rate=1 count="$FANOUT_REPEATS" conns=1 body="$body" \
        tag="$name$RUNID" || true; } | sed 's/^/sender: /'
    sleep 3
    FAN[$name]=$(perl "$ROOT/bench/push_stats.pl" fanout "$name$RUNID" "$n" "$B/$name".*.out)
    say "$(printf '%s\n' "${FAN[$name]}")"
    say "connections closed meanwhile: $(status_sum "$name" closed)"
    stop_receivers "$name"
    wait_drained "$pf" || true
}

per_conn() {  # per_conn "RSS0 PSS0" "RSS1 PSS1" N -> "RSS x KiB, PSS y KiB"
    local a=($1) b=($2) n=$3
    [ "$n" -gt 0 ] || { echo "n/a"; return; }
    echo "RSS $(echo "scale=2; (${b[0]} - ${a[0]}) / $n" | bc) KiB, PSS $(echo "scale=2; (${b[1]} - ${a[1]}) / $n" | bc) KiB"
}

declare -A FAN MEM_PER

# ---------------------------------------------------------------- setup
mkdir -p "$B"
gcc -O2 -Wall -o "$LOAD" "$ROOT/bench/push_load.c"
hdr "push benchmarks $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$ROOT" rev-parse --short HEAD)"
say "CONNS=$CONNS USERS=$USERS DEVICES=$DEVICES GROUP=$GROUP PAIRS=$PAIRS BIG_WORKERS=$BIG_WORKERS WORKERS=$WORKERS LOADGENS=$LOADGENS RATE=$RATE DURATION=$DURATION STEPS='$STEPS' STEP_SECS=$STEP_SECS FANOUT_REPEATS=$FANOUT_REPEATS NCHAN_SUBS='$NCHAN_SUBS'"
[ "$CONNS" -le $((USERS * DEVICES)) ] || { echo "CONNS > USERS*DEVICES"; exit 1; }
[ "$GROUP_DEVICES" -le "$DEVICES" ] || { echo "GROUP_DEVICES > DEVICES"; exit 1; }
PF=$RUN/nginx.pid
ERRLOG=$RUN/log/error.log
stack "$WORKERS"
perl "$ROOT/bench/push_setup.pl" "$RUN" "$HTTP_PORT" "$USERS" "$DEVICES" "$GROUP" "$PAIRS"
. <(sed 's/ /\n/g' "$B/layout.txt")   # users= ... direct_from=
ERR0=$(wc -l <"$ERRLOG")

for s in $SCENARIOS; do
case $s in
1)
    hdr "1. $CONNS authenticated WebSocket connections, $BIG_WORKERS workers, $LOADGENS load generators"
    stack "$BIG_WORKERS"
    sleep 2
    IDLE_FDS=$(fds_total "$PF")
    m0=$(mem_kib "$PF")
    cpu0=$(cpu_s "$PF")
    receivers c1 "$CONNS" "$LOADGENS" 0 youdu "$HTTP_PORT" /push/ws
    wait_ready c1 "$CONNS" 600
    say "nginx workers' CPU time while connecting: $(echo "$(cpu_s "$PF") - $cpu0" | bc) s"
    sleep 5
    m1=$(mem_kib "$PF")
    say "nginx workers: RSS/PSS $m0 -> $m1 KiB; per connection: $(per_conn "$m0" "$m1" "$READY")"
    say "open files per worker: $(fds_of "$PF")"
    say "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    MEM_PER[c1]=$(per_conn "$m0" "$m1" "$READY")
    stop_receivers c1
    wait_drained "$PF" || true
    stack "$WORKERS"
    ;;
3)
    hdr "3. one message to a $GROUP-member group, all online ($WORKERS workers), $FANOUT_REPEATS times 1 s apart"
    stack "$WORKERS"
    fanout g "$GROUP" 1 youdu "$HTTP_PORT" /push/ws "$B/group_plan.txt" youdu "$PF"
    ;;
6)
    hdr "6. the same group with $GROUP_DEVICES devices of every member online: $((GROUP * GROUP_DEVICES)) connections ($WORKERS workers)"
    stack "$WORKERS"   # fresh workers: memory freed by earlier connections would hide the cost
    fanout gd "$((GROUP * GROUP_DEVICES))" "$GROUP_DEVICES" youdu "$HTTP_PORT" /push/ws "$B/group_plan.txt" youdu "$PF" "$USERS"
    ;;
2)
    hdr "2. 1:1 latency at $RATE msg/s for $DURATION s over $PAIRS direct conversations ($SEND_CONNS keep-alive connections)"
    IDLE_FDS=$(fds_total "$PF")
    receivers d "$PAIRS" 1 "$direct_from" youdu "$HTTP_PORT" /push/ws
    wait_ready d "$PAIRS" 120
    sleep 1
    c0=$(cpu_snapshot)
    out=$("$LOAD" send port="$HTTP_PORT" plan="$B/direct_plan.txt" rate="$RATE" duration="$DURATION" \
        conns="$SEND_CONNS" tag="r$RUNID" || true)
    sleep 2
    say "sender: $out"
    say "$(cpu_per_msg "$c0" "$(cpu_snapshot)" "$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$out")")"
    LAT2=$(perl "$ROOT/bench/push_stats.pl" lat "r$RUNID" $((RATE * DURATION)) "$B"/d.*.out)
    say "receivers: $LAT2"
    stop_receivers d
    wait_drained "$PF" || true
    ;;
4)
    hdr "4. sustained stored-and-delivered messages/s: $STEP_SECS s per step, $PAIRS direct conversations"
    IDLE_FDS=$(fds_total "$PF")
    receivers e "$PAIRS" 1 "$direct_from" youdu "$HTTP_PORT" /push/ws
    wait_ready e "$PAIRS" 120
    sleep 1
    BEST=0
    for r in $STEPS; do
        out=$("$LOAD" send port="$HTTP_PORT" plan="$B/direct_plan.txt" rate="$r" duration="$STEP_SECS" \
              conns="$SEND_CONNS" tag="s${r}x$RUNID" || true)
        sleep 2
        st=$(perl "$ROOT/bench/push_stats.pl" lat "s${r}x$RUNID" $((r * STEP_SECS)) "$B"/e.*.out)
        say "rate $r: $out"
        say "         $st"
        ach=$(sed -n 's/.*achieved_rate=\([0-9]*\).*/\1/p' <<<"$out")
        okc=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$out")
        seen=$(sed -n 's/.*messages_seen=\([0-9]*\).*/\1/p' <<<"$st")
        p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$st")
        ach=${ach:-0} okc=${okc:-0} seen=${seen:-0} p99=${p99:-999}
        if [ "$okc" = $((r * STEP_SECS)) ] && [ "$seen" = "$okc" ] && [ "$ach" -ge $((r * 95 / 100)) ] \
           && [ "$(echo "$p99 < 100" | bc)" = 1 ]; then
            BEST=$r
        elif [ "$ach" -lt $((r * 80 / 100)) ]; then
            say "         (the server is saturated at ~$ach msg/s: no higher step)"; break
        else
            say "         (behind: not every message on time or delivered)"
        fi
    done
    say "highest step with every message stored and delivered, sender on schedule and p99 < 100 ms: $BEST msg/s"
    stop_receivers e
    wait_drained "$PF" || true
    ;;
5)
    hdr "5. the same fan-out through nchan ($WORKERS workers, same load generator)"
    if [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
        say "skipped: no nchan (as root: apt-get install libnginx-mod-nchan, with a policy-rc.d"
        say "that exits 101 so that Debian's nginx on port 80 does not start)"
        continue
    fi
    echo "/pub -" >"$B/nchan_plan.txt"
    for n in $NCHAN_SUBS; do
        procs=$(( (n + 9999) / 10000 ))
        say "-- nchan, $n subscribers ($procs load generators)"
        start_nchan    # fresh workers for each size
        fanout "n$n" "$n" "$procs" nchan "$NCHAN_PORT" /sub "$B/nchan_plan.txt" raw "$NCHAN_DIR/nginx.pid"
    done
    stop_nchan
    ;;
esac
done

hdr "summary"
[ -n "${MEM_PER[c1]:-}" ] && say "youdu, $CONNS connections, $BIG_WORKERS workers: nginx memory per connection ${MEM_PER[c1]} (target < 10 KiB)"
[ -n "${MEM_PER[g]:-}" ] && say "youdu, $GROUP connections, $WORKERS workers: ${MEM_PER[g]}"
[ -n "${LAT2:-}" ] && say "1:1 at $RATE msg/s: $LAT2 (target p99 < 20 ms)"
[ -n "${FAN[g]:-}" ] && say "group fan-out to $GROUP: $(tail -1 <<<"${FAN[g]}") (target < 250 ms)"
[ -n "${FAN[gd]:-}" ] && say "group fan-out to $GROUP x $GROUP_DEVICES devices: $(tail -1 <<<"${FAN[gd]}"); memory ${MEM_PER[gd]}"
[ -n "${BEST:-}" ] && say "sustained: $BEST msg/s"
for n in $NCHAN_SUBS; do
    [ -n "${FAN[n$n]:-}" ] || continue
    say "nchan, $n subscribers: $(tail -1 <<<"${FAN[n$n]}"); memory ${MEM_PER[n$n]}"
done
if [ -n "${FAN[g]:-}" ] && [ -n "${FAN[n$GROUP]:-}" ]; then
    a=$(sed -n 's/.*all_have_it_p50_ms=\([0-9.]*\).*/\1/p' <<<"${FAN[g]}")
    b=$(sed -n 's/.*all_have_it_p50_ms=\([0-9.]*\).*/\1/p' <<<"${FAN[n$GROUP]}")
    say "fan-out to $GROUP, time until all have it (p50): youdu $a ms / nchan $b ms = $(echo "scale=2; $a / $b" | bc)"
fi
GD=$((GROUP * GROUP_DEVICES))
if [ -n "${FAN[gd]:-}" ] && [ -n "${FAN[n$GD]:-}" ]; then
    a=$(sed -n 's/.*all_have_it_p50_ms=\([0-9.]*\).*/\1/p' <<<"${FAN[gd]}")
    b=$(sed -n 's/.*all_have_it_p50_ms=\([0-9.]*\).*/\1/p' <<<"${FAN[n$GD]}")
    say "fan-out to $GD connections, time until all have it (p50): youdu $a ms / nchan $b ms = $(echo "scale=2; $a / $b" | bc)"
fi
say "nginx error log (youdu) during the run: $(tail -n +$((ERR0 + 1)) "$ERRLOG" | grep -c -E '\[(alert|emerg|crit)\]' || true) alert/emerg/crit lines"
tail -n +$((ERR0 + 1)) "$ERRLOG" | grep -E '\[(alert|emerg|crit)\]' | head -5 || true
[ -f "$NCHAN_DIR/log/error.log" ] && say "nchan error log: $(grep -c -E '\[(alert|emerg|crit)\]' "$NCHAN_DIR/log/error.log" || true) alert/emerg/crit lines"
say "load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${KEEP_STACK:-0}" != 1 ]; then "$ROOT/build.sh" stop >/dev/null 2>&1 || true; fi
