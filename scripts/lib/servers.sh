# Shared by scripts/test and the integration tests: install, start and stop
# throwaway Redis and PostgreSQL servers on loopback, in a temporary folder.
# Source it, then call `start_redis DIR` / `start_postgres DIR`; each prints
# the server's URL. `stop_servers DIR` stops what was started under DIR.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

apt_install() {
    echo "servers: installing $* with apt-get" >&2
    local waited=0
    while as_root fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1; do
        sleep 2; waited=$((waited + 2))
        [ "$waited" -lt 300 ] || { echo "servers: apt is locked by another process" >&2; return 1; }
    done
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_redis() {
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

ensure_redis_sentinel() {
    ensure_redis
    command -v redis-sentinel >/dev/null 2>&1 || apt_install redis-sentinel
}

ensure_openssl() {
    command -v openssl >/dev/null 2>&1 || apt_install openssl
}

postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_postgres() {
    [ -n "$(postgres_bin)" ] && [ -x "$(postgres_bin)/initdb" ] || apt_install postgresql
}

# start_redis DIR: starts redis-server on a free loopback port; prints redis://127.0.0.1:PORT
start_redis() {
    local dir=$1/redis port
    mkdir -p "$dir"
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
    local deadline=$((SECONDS + 30))
    until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "servers: redis did not start" >&2; cat "$dir/redis.log" >&2; return 1; }
        sleep 0.1
    done
    echo "$port" > "$dir/port"
    echo "redis://127.0.0.1:$port"
}

# A free loopback port below 55535 whose cluster bus port (port + 10000) is free too.
free_cluster_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 55534)
    sockets = []
    try:
        for p in (port, port + 10000):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            sockets.append(s)
    except OSError:
        continue
    finally:
        for s in sockets:
            s.close()
    print(port)
    break
PY
}

# start_redis_cluster DIR: starts six redis-server nodes in cluster mode (three masters,
# one replica each) on free loopback ports and waits until every node reports
# cluster_state:ok; prints redis-cluster://127.0.0.1:P1,127.0.0.1:P2,... (every node).
start_redis_cluster() {
    local dir=$1/redis-cluster port ports=() addresses=() node
    mkdir -p "$dir"
    for node in 1 2 3 4 5 6; do
        port=$(free_cluster_port)
        mkdir -p "$dir/$port"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" --cluster-node-timeout 2000 \
            --repl-diskless-sync-delay 0 \
            --dir "$dir/$port" --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" >&2
        ports+=("$port")
        addresses+=("127.0.0.1:$port")
    done
    local deadline=$((SECONDS + 30))
    for port in "${ports[@]}"; do
        until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "servers: cluster node $port did not start" >&2; cat "$dir/$port/redis.log" >&2; return 1; }
            sleep 0.1
        done
    done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 \
        || { echo "servers: redis-cli --cluster create failed" >&2; cat "$dir/create.log" >&2; return 1; }
    deadline=$((SECONDS + 60))
    for port in "${ports[@]}"; do
        until redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "servers: the cluster did not reach cluster_state:ok" >&2; return 1; }
            sleep 0.2
        done
    done
    # Every replica must have synced (a replica without its master's data never takes over),
    # and every node must agree on all 16384 slots, before clients use it.
    for port in "${ports[@]}"; do
        until redis-cli -p "$port" info replication 2>/dev/null | grep -Eq 'role:master|master_link_status:up'; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "servers: cluster replica $port did not sync" >&2; return 1; }
            sleep 0.2
        done
    done
    until redis-cli --cluster check "127.0.0.1:${ports[0]}" 2>/dev/null | grep -q 'All 16384 slots covered'; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "servers: the cluster's slots are not all covered" >&2; return 1; }
        sleep 0.2
    done
    printf '%s\n' "${ports[@]}" > "$dir/ports"
    local IFS=,
    echo "redis-cluster://${addresses[*]}"
}

# wait_redis PORT LOG [redis-cli options...]: waits up to 30 s for PONG.
wait_redis() {
    local port=$1 log=$2; shift 2
    local deadline=$((SECONDS + 30))
    until redis-cli -p "$port" "$@" ping 2>/dev/null | grep -q PONG; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "servers: redis on $port did not start" >&2; cat "$log" >&2; return 1; }
        sleep 0.1
    done
}

# start_redis_tls DIR: makes with openssl a CA, a server certificate for 127.0.0.1 and
# localhost, a client certificate (same CA) and an unrelated second CA, all in DIR/redis-tls;
# starts three TLS-only Redis servers on free loopback ports: one that takes a client
# certificate but does not need one (port in DIR/redis-tls/port), one that needs one
# (mutual TLS, mtls-port), and one whose certificate names only redis.example.com
# (named-port). Prints rediss://127.0.0.1:PORT for the first.
# Files: ca.crt, client.crt, client.key, other-ca.crt (and the servers' own).
start_redis_tls() {
    local dir=$1/redis-tls port mtls_port
    mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=SessionKit test CA" \
            -keyout ca.key -out ca.crt
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=Unrelated test CA" \
            -keyout other-ca.key -out other-ca.crt
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.crt
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=sessionkit-test-client" -keyout client.key -out client.csr
        printf 'extendedKeyUsage=clientAuth\n' > client.ext
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile client.ext -out client.crt
        # A certificate that names only redis.example.com, not the address connected to.
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=redis.example.com" -keyout named.key -out named.csr
        printf 'subjectAltName=DNS:redis.example.com\nextendedKeyUsage=serverAuth\n' > named.ext
        openssl x509 -req -in named.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile named.ext -out named.crt
    ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; return 1; }
    port=$(free_port)
    mtls_port=$(free_port)
    named_port=$(free_port)
    local name p auth cert
    for name in optional required named; do
        case $name in
            optional) p=$port auth=optional cert=server ;;
            required) p=$mtls_port auth=yes cert=server ;;
            named) p=$named_port auth=optional cert=named ;;
        esac
        redis-server --port 0 --tls-port "$p" --bind 127.0.0.1 --save '' --appendonly no \
            --tls-cert-file "$dir/$cert.crt" --tls-key-file "$dir/$cert.key" --tls-ca-cert-file "$dir/ca.crt" \
            --tls-auth-clients "$auth" \
            --dir "$dir" --daemonize yes --pidfile "$dir/$name.pid" --logfile "$dir/$name.log" >&2
        wait_redis "$p" "$dir/$name.log" --tls --cacert "$dir/ca.crt" --cert "$dir/client.crt" --key "$dir/client.key"
    done
    echo "$port" > "$dir/port"
    echo "$mtls_port" > "$dir/mtls-port"
    echo "$named_port" > "$dir/named-port"
    echo "rediss://127.0.0.1:$port"
}

# start_redis_sentinel DIR [tls]: a master, one replica and three sentinels (quorum 2, master
# down after 1 s) on free loopback ports, in DIR/redis-sentinel; the master is named
# `sessionkit`. Waits until the replica has synced and every sentinel sees it. Prints
# redis-sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/sessionkit. The ports and pid
# files are in DIR/redis-sentinel (master-port, replica-port, master.pid, ...).
# With `tls`, every server and sentinel listens on TLS only, with the certificates
# start_redis_tls made in DIR/redis-tls (run it first), replicates and monitors over TLS,
# (presenting the client certificate), and takes but does not need a client certificate; the folder is DIR/redis-sentinel-tls
# and the URL rediss-sentinel://.
start_redis_sentinel() {
    local mode=${2:-plain} dir=$1/redis-sentinel master replica s ports=() urls=() scheme=redis-sentinel
    local tls_args=() cli=() listen
    if [ "$mode" = tls ]; then
        local certs=$1/redis-tls
        [ -f "$certs/ca.crt" ] || { echo "servers: start_redis_sentinel tls needs start_redis_tls first" >&2; return 1; }
        dir=$1/redis-sentinel-tls scheme=rediss-sentinel
        tls_args=(--tls-cert-file "$certs/server.crt" --tls-key-file "$certs/server.key"
            --tls-ca-cert-file "$certs/ca.crt" --tls-auth-clients optional --tls-replication yes
            --tls-client-cert-file "$certs/client.crt" --tls-client-key-file "$certs/client.key")
        cli=(--tls --cacert "$certs/ca.crt")
    fi
    mkdir -p "$dir"
    master=$(free_port)
    replica=$(free_port)
    # listen PORT: the arguments that make a server listen on PORT (over TLS in tls mode).
    listen() { if [ "$mode" = tls ]; then echo "--port 0 --tls-port $1"; else echo "--port $1"; fi; }
    # No 5 s wait before a full sync (Redis 7's repl-diskless-sync-delay): a replica, or the
    # old master rejoining as one, has the data at once.
    # shellcheck disable=SC2046  # listen's words are separate arguments
    redis-server $(listen "$master") --bind 127.0.0.1 --save '' --appendonly no --repl-diskless-sync-delay 0 \
        "${tls_args[@]}" --dir "$dir" --daemonize yes --pidfile "$dir/master.pid" --logfile "$dir/master.log" >&2
    wait_redis "$master" "$dir/master.log" "${cli[@]}"
    # shellcheck disable=SC2046
    redis-server $(listen "$replica") --bind 127.0.0.1 --save '' --appendonly no --repl-diskless-sync-delay 0 \
        --replicaof 127.0.0.1 "$master" \
        "${tls_args[@]}" --dir "$dir" --daemonize yes --pidfile "$dir/replica.pid" --logfile "$dir/replica.log" >&2
    wait_redis "$replica" "$dir/replica.log" "${cli[@]}"
    for s in 1 2 3; do
        local port
        port=$(free_port)
        ports+=("$port")
        # Sentinel rewrites its configuration file, so each has its own, writable.
        {
            if [ "$mode" = tls ]; then
                cat <<CONF
port 0
tls-port $port
tls-cert-file $certs/server.crt
tls-key-file $certs/server.key
tls-ca-cert-file $certs/ca.crt
tls-client-cert-file $certs/client.crt
tls-client-key-file $certs/client.key
tls-auth-clients optional
tls-replication yes
CONF
            else
                echo "port $port"
            fi
            cat <<CONF
bind 127.0.0.1
daemonize yes
pidfile $dir/sentinel$s.pid
logfile $dir/sentinel$s.log
dir $dir
sentinel monitor sessionkit 127.0.0.1 $master 2
sentinel down-after-milliseconds sessionkit 1000
sentinel failover-timeout sessionkit 10000
sentinel parallel-syncs sessionkit 1
CONF
        } > "$dir/sentinel$s.conf"
        redis-sentinel "$dir/sentinel$s.conf" >&2
        wait_redis "$port" "$dir/sentinel$s.log" "${cli[@]}"
        urls+=("127.0.0.1:$port")
    done
    local deadline=$((SECONDS + 60))
    until redis-cli -p "$replica" "${cli[@]}" info replication 2>/dev/null | grep -q "master_link_status:up"; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "servers: the replica did not sync" >&2; cat "$dir"/replica.log >&2; return 1; }
        sleep 0.1
    done
    for s in "${ports[@]}"; do
        until redis-cli -p "$s" "${cli[@]}" sentinel replicas sessionkit 2>/dev/null | grep -q "$replica" \
            && redis-cli -p "$s" "${cli[@]}" sentinel ckquorum sessionkit 2>/dev/null | grep -q OK; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "servers: sentinel on $s did not see the group" >&2; cat "$dir"/*.log >&2; return 1; }
            sleep 0.2
        done
    done
    echo "$master" > "$dir/master-port"
    echo "$replica" > "$dir/replica-port"
    echo "${ports[*]}" > "$dir/sentinel-ports"
    local IFS=,
    echo "$scheme://${urls[*]}/sessionkit"
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

# start_postgres DIR: initdb + start on a free loopback port; prints postgres://postgres@127.0.0.1:PORT/postgres
start_postgres() {
    local dir=$1/postgres port bin
    bin=$(postgres_bin)
    mkdir -p "$dir"
    chmod 755 "$1"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    port=$(free_port)
    as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2 \
        || { cat "$dir/postgres.log" >&2; return 1; }
    echo "$port" > "$dir/port"
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

stop_servers() {
    local dir=$1
    if [ -f "$dir/redis/redis.pid" ]; then kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true; fi
    local pidfile
    for pidfile in "$dir"/redis-cluster/*/redis.pid "$dir"/redis-tls/*.pid "$dir"/redis-sentinel/*.pid \
        "$dir"/redis-sentinel-tls/*.pid; do
        if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    if [ -d "$dir/postgres/data" ]; then
        as_postgres "$(postgres_bin)/pg_ctl" -D "$dir/postgres/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}
