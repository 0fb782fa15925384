#!/usr/bin/env bash
# A local Elasticsearch for tests and benchmarks: scripts/elasticsearch.sh start|stop|status|url
#
# Fetches Elasticsearch's test distribution from Maven Central with Maven
# (org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip), unpacks it once
# into .cache/elasticsearch/ (git-ignored) and runs it on 127.0.0.1 with security off, as a single
# node with a small heap. Elasticsearch refuses to run as root, so when this script runs as root it
# creates the system user `monitor-es` and runs the server as that user.
#
# `start` is idempotent: it prints the URL of the running server (also written to
# .cache/elasticsearch/run/url) and exits 0 once GET /_cluster/health is yellow or green.
#
# Environment:
#   ES_VERSION         8.x version to fetch (default 8.19.7; the Python client is pinned to 8.x)
#   MONITOR_ES_PORT    HTTP port (default 9250; a free port is chosen when it is taken)
#   MONITOR_ES_CACHE   cache folder (default <repo>/.cache/elasticsearch)
#   MONITOR_ES_HEAP    heap size (default 512m)
#   MONITOR_ES_USER    user to run as when started as root (default monitor-es)
#   ES_JAVA_HOME       JDK to run on (default: a Java 17 JDK from /usr/lib/jvm, else `java` on PATH)
#   MONITOR_ES_WAIT    seconds to wait for health (default 180)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ES_VERSION="${ES_VERSION:-8.19.7}"
CACHE="${MONITOR_ES_CACHE:-$ROOT/.cache/elasticsearch}"
HOME_DIR="$CACHE/elasticsearch-$ES_VERSION"
RUN="$CACHE/run"
PORT="${MONITOR_ES_PORT:-}"
if [[ -z "$PORT" && -f "$RUN/url" ]]; then PORT="$(sed 's/.*://' "$RUN/url")"; fi  # restarts keep the URL
PORT="${PORT:-9250}"
HEAP="${MONITOR_ES_HEAP:-512m}"
ES_USER="${MONITOR_ES_USER:-monitor-es}"
WAIT="${MONITOR_ES_WAIT:-180}"

log() { echo "elasticsearch.sh: $*" >&2; }
die() { log "$*"; exit 1; }

health() { # health URL -> prints status (green/yellow/red) or nothing
    curl -fsS --max-time 5 "$1/_cluster/health" 2>/dev/null | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}

running_pid() {
    [[ -f "$RUN/pid" ]] || return 1
    local pid
    pid="$(cat "$RUN/pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

java_home() {
    if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
    local candidate
    for candidate in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/temurin-17-* /usr/lib/jvm/*17*; do
        [[ -x "$candidate/bin/java" ]] && { echo "$candidate"; return; }
    done
    command -v java >/dev/null || die "no JDK found: install Java 17 or set ES_JAVA_HOME"
    dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

fetch() {
    [[ -x "$HOME_DIR/bin/elasticsearch" ]] && return
    command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Elasticsearch $ES_VERSION"
    mkdir -p "$CACHE/dist"
    local zip="$CACHE/dist/elasticsearch-$ES_VERSION.zip"
    if [[ ! -s "$zip" ]]; then
        log "fetching Elasticsearch $ES_VERSION test distribution from Maven Central"
        mvn -B -q dependency:copy \
            -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
            -DoutputDirectory="$CACHE/dist" >"$CACHE/mvn.log" 2>&1 \
            || { tail -n 40 "$CACHE/mvn.log" >&2; die "mvn could not fetch Elasticsearch $ES_VERSION"; }
    fi
    local tmp="$CACHE/unpack.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    if command -v unzip >/dev/null; then
        unzip -q "$zip" -d "$tmp"
    else
        python3 -m zipfile -e "$zip" "$tmp"
        chmod +x "$tmp/elasticsearch-$ES_VERSION"/bin/*
    fi
    rm -rf "$HOME_DIR"
    mv "$tmp/elasticsearch-$ES_VERSION" "$HOME_DIR"
    rm -rf "$tmp"
}

free_port() {
    python3 - "$1" <<'EOF'
import socket, sys
want = int(sys.argv[1])
for port in [want] + [0]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Elasticsearch does: TIME_WAIT is fine
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        continue
    finally:
        s.close()
EOF
}

start() {
    if pid="$(running_pid)"; then
        local url
        url="$(cat "$RUN/url")"
        wait_healthy "$url" "$pid"
        echo "$url"
        return
    fi
    fetch
    local jhome
    jhome="$(java_home)"
    mkdir -p "$RUN/data" "$RUN/logs" "$RUN/tmp"
    rm -f "$RUN/pid"
    PORT="$(free_port "$PORT")"
    local transport
    transport="$(free_port 0)"
    local url="http://127.0.0.1:$PORT"
    local -a runas=()
    if [[ "$(id -u)" == 0 ]]; then
        id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
        # Elasticsearch writes into config/ (keystore, temp files) as well as data and logs.
        chown -R "$ES_USER:" "$HOME_DIR" "$RUN"
        # A checkout under a private folder (mktemp -d is 0700) would hide the server from its
        # user: let it through (search permission only, o+x) wherever it cannot pass.
        local dir="$CACHE"
        while [[ "$dir" != / ]]; do
            if ! runuser -u "$ES_USER" -- test -x "$dir"; then
                log "letting $ES_USER through $dir (o+x)"
                chmod o+x "$dir"
            fi
            dir="$(dirname "$dir")"
        done
        runas=(runuser -u "$ES_USER" --)
    fi
    log "starting Elasticsearch $ES_VERSION on $url (JDK $jhome, heap $HEAP)"
    "${runas[@]}" env -u JAVA_HOME ES_JAVA_HOME="$jhome" ES_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" \
        ES_TMPDIR="$RUN/tmp" \
        "$HOME_DIR/bin/elasticsearch" -d -p "$RUN/pid" \
        -Ecluster.name=monitor-test -Enode.name=monitor-test \
        -Enetwork.host=127.0.0.1 -Ehttp.port="$PORT" -Etransport.port="$transport" \
        -Ediscovery.type=single-node -Expack.security.enabled=false \
        -Epath.data="$RUN/data" -Epath.logs="$RUN/logs" \
        -Ecluster.routing.allocation.disk.threshold_enabled=false \
        -Eaction.destructive_requires_name=false \
        >"$RUN/stdout.log" 2>&1 || { tail -n 40 "$RUN/stdout.log" >&2; die "Elasticsearch did not start"; }
    echo "$url" >"$RUN/url"
    local pid=""
    for _ in $(seq 1 50); do pid="$(running_pid || true)"; [[ -n "$pid" ]] && break; sleep 0.2; done
    [[ -n "$pid" ]] || { tail -n 40 "$RUN/stdout.log" >&2; die "Elasticsearch exited at once"; }
    wait_healthy "$url" "$pid"
    echo "$url"
}

wait_healthy() { # url pid
    local deadline=$((SECONDS + WAIT)) status
    while ((SECONDS < deadline)); do
        status="$(health "$1")"
        if [[ "$status" == green || "$status" == yellow ]]; then
            log "healthy ($status) at $1"
            return
        fi
        kill -0 "$2" 2>/dev/null || { tail -n 40 "$RUN/logs/monitor-test.log" >&2 2>/dev/null; die "Elasticsearch died while starting"; }
        sleep 1
    done
    die "Elasticsearch at $1 not healthy after ${WAIT}s (logs in $RUN/logs)"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        log "not running"
        return
    fi
    kill "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$RUN/pid"
    log "stopped (pid $pid)"
}

status() {
    local pid
    if pid="$(running_pid)"; then
        local url
        url="$(cat "$RUN/url")"
        echo "running pid=$pid url=$url health=$(health "$url")"
    else
        echo "stopped"
        return 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) status ;;
    url) running_pid >/dev/null && cat "$RUN/url" || exit 3 ;;
    fetch) fetch; echo "$HOME_DIR" ;;
    *) die "usage: $0 start|stop|restart|status|url|fetch" ;;
esac
