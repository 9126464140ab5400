# Sourced by .ci/run: make sure a NATS JetStream server answers for the tests.
# If nothing answers at $CUSTMASTER_TEST_NATS_URL (default nats://127.0.0.1:4222), start
# `nats-server -js` on a free loopback port with a throw-away store, export
# CUSTMASTER_TEST_NATS_URL for it, wait (bounded) until it answers, and stop it when the
# calling shell exits.

_nats_answers() {  # _nats_answers HOST PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

ensure_test_nats() {
    local url="${CUSTMASTER_TEST_NATS_URL:-nats://127.0.0.1:4222}"
    local hostport="${url#*://}"; hostport="${hostport##*@}"; hostport="${hostport%%/*}"
    local host="${hostport%:*}" port="${hostport##*:}"
    if _nats_answers "$host" "$port"; then
        export CUSTMASTER_TEST_NATS_URL="$url"
        echo "NATS answers at $url"
        return 0
    fi
    local binary
    binary="$(command -v nats-server || echo /usr/sbin/nats-server)"
    if [ ! -x "$binary" ]; then
        echo "no NATS at $url and no nats-server to start" >&2
        return 1
    fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    CI_NATS_STORE="$(mktemp -d)"
    "$binary" -js -a 127.0.0.1 -p "$port" -sd "$CI_NATS_STORE" >"$CI_NATS_STORE.log" 2>&1 &
    CI_NATS_PID=$!
    # keep the script's own exit status (set -e must not trip on the server's)
    trap 'kill "$CI_NATS_PID" 2>/dev/null || true; wait "$CI_NATS_PID" 2>/dev/null || true; rm -rf "$CI_NATS_STORE" "$CI_NATS_STORE.log"' EXIT
    local tries=0
    until _nats_answers 127.0.0.1 "$port"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ] || ! kill -0 "$CI_NATS_PID" 2>/dev/null; then
            echo "nats-server did not start on port $port" >&2
            cat "$CI_NATS_STORE.log" >&2
            return 1
        fi
        sleep 0.1
    done
    export CUSTMASTER_TEST_NATS_URL="nats://127.0.0.1:$port"
    echo "started nats-server -js at $CUSTMASTER_TEST_NATS_URL (pid $CI_NATS_PID)"
}
