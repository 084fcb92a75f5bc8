# Shared settings for testenv/{build,up,down,kubectl,smoke}. Sourced, not executed.
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts that source this file

TESTENV_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TESTENV_SRC/.." && pwd)"
# Cache dir for binaries, logs and runtime state (outside the source tree).
TESTENV_DIR="${TESTENV_DIR:-$REPO_ROOT/target/testenv}"
mkdir -p "$TESTENV_DIR"
TESTENV_DIR="$(cd "$TESTENV_DIR" && pwd -P)"
BIN_DIR="$TESTENV_DIR/bin"          # built binaries + kwok CRDs/stages (kept by `down`)
RUN_DIR="$TESTENV_DIR/run"          # certs, etcd data, pids, kubeconfigs (removed by `down`)
LOG_DIR="$TESTENV_DIR/logs"         # one log per component (kept by `down`, truncated by `up`)
KUBECONFIG_PATH="$RUN_DIR/kubeconfig"
LOCK_FILE="$TESTENV_DIR/lock"

# shellcheck source=versions.env
. "$TESTENV_SRC/versions.env"

# Fixed loopback ports (override with env vars if they clash on your machine).
ETCD_PORT="${TESTENV_ETCD_PORT:-32379}"
ETCD_PEER_PORT="${TESTENV_ETCD_PEER_PORT:-32380}"
APISERVER_PORT="${TESTENV_APISERVER_PORT:-36443}"
KCM_PORT="${TESTENV_KCM_PORT:-30257}"
SCHEDULER_PORT="${TESTENV_SCHEDULER_PORT:-30259}"
KWOK_PORT="${TESTENV_KWOK_PORT:-30250}"

# Start order; `down` stops in reverse order.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok sonobuoy)

TESTENV_T0="${EPOCHREALTIME:-0}"
log() { printf "testenv: [%5.1fs] %s\n" "$(awk "BEGIN{print ${EPOCHREALTIME:-0} - $TESTENV_T0}")" "$*" >&2; }
die() { echo "testenv: ERROR: $*" >&2; exit 1; }

# Holds an exclusive lock on $LOCK_FILE on fd 9 for the rest of the script.
# Children must be started with `9>&-` so they do not keep the lock.
take_lock() {
  exec 9>"$LOCK_FILE"
  if ! flock -n 9; then
    log "waiting for another testenv up/down/build (lock $LOCK_FILE)"
    flock 9
  fi
}

pid_file() { echo "$RUN_DIR/$1.pid"; }

# True while process $1 exists and is not a zombie (an exited child waits to be reaped by init).
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# Prints the pid of component $1 if its pid file names a live process running our binary.
component_pid() {
  local f pid exe
  f="$(pid_file "$1")"
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  exe="${exe% (deleted)}"
  [ "$exe" = "$(readlink -f "$BIN_DIR/$1")" ] || return 1
  echo "$pid"
}

# Stops every component that has a pid file (reverse start order), by pid only.
stop_components() {
  local i c pid n
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c="${COMPONENTS[$i]}"
    if pid="$(component_pid "$c")"; then
      log "stopping $c (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for ((n = 0; n < 100; n++)); do
        alive "$pid" || break
        sleep 0.1
      done
      if alive "$pid"; then
        log "$c (pid $pid) did not exit after 10s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((n = 0; n < 50; n++)); do alive "$pid" || break; sleep 0.1; done
      fi
    fi
    rm -f "$(pid_file "$c")"
  done
}
