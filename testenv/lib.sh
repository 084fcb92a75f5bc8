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
NODE_BIN_DIR="$BIN_DIR/node"        # real-node binaries (testenv/build-node)
IMAGE_DIR="$TESTENV_DIR/images"     # container images as docker-archive tarballs (build-node)
BUILDAH_DIR="$TESTENV_DIR/buildah"  # buildah's scratch storage while images are built
NODE_BINARIES=(kubelet kube-proxy kube-router coredns e2e.test ginkgo go-runner agnhost pause)

# shellcheck source=versions.env
. "$TESTENV_SRC/versions.env"

# TESTENV_KUBE_VERSION=vX.Y.Z: the control plane (kwok profile) at another Kubernetes release than
# the pinned one, for the version matrix (docs/testenv.md). Its binaries go to bin-vX.Y.Z, built
# from a consumer module generated for that release (testenv/build).
KUBE_PINNED_VERSION="$KUBE_VERSION"
if [ -n "${TESTENV_KUBE_VERSION:-}" ] && [ "$TESTENV_KUBE_VERSION" != "$KUBE_VERSION" ]; then
  [[ "$TESTENV_KUBE_VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]] ||
    { echo "testenv: ERROR: TESTENV_KUBE_VERSION must look like v1.37.2, not '$TESTENV_KUBE_VERSION'" >&2; exit 1; }
  KUBE_VERSION="$TESTENV_KUBE_VERSION"
  BIN_DIR="$TESTENV_DIR/bin-$KUBE_VERSION"
  NODE_BIN_DIR="$BIN_DIR/node"
  GEN_MODULE_DIR="$TESTENV_DIR/src-$KUBE_VERSION/k8s"
  KUBE_BUILD_DATE="$(cat "$BIN_DIR/build-date" 2>/dev/null || echo unknown)"
fi

# set_profile kwok|real: which instance the scripts act on. Both can run at once: each has its own
# state, logs and ports; binaries are shared.
#   kwok: fake nodes (kwok) on loopback, the default.
#   real: one real node (containerd, kubelet, kube-proxy, CNI bridge, CoreDNS, optionally
#         kube-router's NetworkPolicy controller) inside a network namespace (docs/testenv.md).
#   kwok-N (N = 1..50): another kwok cluster with its own state and ports (20000 + 10*N ...), for
#         fleets of clusters on one machine (`testenv/up --instance N`).
set_profile() {
  PROFILE="$1"
  case "$PROFILE" in
    kwok-*)
      local n="${PROFILE#kwok-}" base
      [[ "$n" =~ ^[1-9][0-9]?$ ]] && [ "$n" -le 50 ] || die "instance must be 1..50, not '$n'"
      # Below Linux's ephemeral port range (32768-60999): an outgoing connection of some other
      # cluster (a long-lived one, to its etcd) can never hold one of these ports.
      base=$((20000 + 10 * n))
      INSTANCE_DIR="$TESTENV_DIR/kwok-$n"
      ETCD_PORT=$base
      ETCD_PEER_PORT=$((base + 1))
      APISERVER_PORT=$((base + 2))
      KCM_PORT=$((base + 3))
      SCHEDULER_PORT=$((base + 4))
      KWOK_PORT=$((base + 5))
      # TESTENV_APISERVER_HOST=10.201.0.1: the API server listens on the real node's host end
      # instead of loopback, so that pods of the real node reach this cluster too (a fleet Job
      # certifying a second cluster, tests/fleet_job.rs). Only that address is allowed.
      APISERVER_HOST="${TESTENV_APISERVER_HOST:-127.0.0.1}"
      case "$APISERVER_HOST" in
        127.0.0.1 | "${TESTENV_NODE_NET:-10.201.0}.1") ;;
        *) die "TESTENV_APISERVER_HOST must be 127.0.0.1 or the real node's host address ${TESTENV_NODE_NET:-10.201.0}.1, not '$APISERVER_HOST'" ;;
      esac
      COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
      ;;
    kwok)
      INSTANCE_DIR="$TESTENV_DIR"
      ETCD_PORT="${TESTENV_ETCD_PORT:-32379}"
      ETCD_PEER_PORT="${TESTENV_ETCD_PEER_PORT:-32380}"
      APISERVER_PORT="${TESTENV_APISERVER_PORT:-30443}"
      KCM_PORT="${TESTENV_KCM_PORT:-30257}"
      SCHEDULER_PORT="${TESTENV_SCHEDULER_PORT:-30259}"
      KWOK_PORT="${TESTENV_KWOK_PORT:-30250}"
      APISERVER_HOST=127.0.0.1
      COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
      ;;
    real)
      INSTANCE_DIR="$TESTENV_DIR/real"
      ETCD_PORT="${TESTENV_REAL_ETCD_PORT:-32479}"
      ETCD_PEER_PORT="${TESTENV_REAL_ETCD_PEER_PORT:-32480}"
      APISERVER_PORT="${TESTENV_REAL_APISERVER_PORT:-36543}"
      KCM_PORT="${TESTENV_REAL_KCM_PORT:-30357}"
      SCHEDULER_PORT="${TESTENV_REAL_SCHEDULER_PORT:-30359}"
      # The node's link to the host: a veth pair, host end $NODE_HOST_IP, node end $NODE_IP.
      # The API server listens on the host end so that the node and its pods reach it.
      NODE_NET="${TESTENV_NODE_NET:-10.201.0}"
      NODE_HOST_IP="$NODE_NET.1"
      NODE_IP="$NODE_NET.2"
      APISERVER_HOST="$NODE_HOST_IP"
      COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router)
      ;;
    *) die "unknown node profile '$PROFILE' (kwok, kwok-N or real)" ;;
  esac
  RUN_DIR="$INSTANCE_DIR/run"        # certs, etcd data, pids, kubeconfigs (removed by `down`)
  LOG_DIR="$INSTANCE_DIR/logs"       # one log per component (kept by `down`, truncated by `up`)
  KUBECONFIG_PATH="$RUN_DIR/kubeconfig"
  LOCK_FILE="$INSTANCE_DIR/lock"
  mkdir -p "$INSTANCE_DIR"
}

# Version ldflags for binaries built from the pinned k8s.io/kubernetes release.
kube_ldflags() {
  local minor="${KUBE_VERSION#v1.}" ld="-s -w" p
  minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$KUBE_BUILD_DATE"
  done
  echo "$ld"
}

TESTENV_T0="${EPOCHREALTIME:-0}"
log() { printf "testenv: [%5.1fs] %s\n" "$(awk "BEGIN{print ${EPOCHREALTIME:-0} - $TESTENV_T0}")" "$*" >&2; }
die() { echo "testenv: ERROR: $*" >&2; exit 1; }

# Holds an exclusive lock on $1 (default: the instance's $LOCK_FILE) on fd 9 for the rest of the
# script. Children must be started with `9>&-` so they do not keep the lock.
take_lock() {
  local file="${1:-$LOCK_FILE}"
  exec 9>"$file"
  if ! flock -n 9; then
    log "waiting for another testenv up/down/build (lock $file)"
    flock 9
  fi
}

set_profile "${TESTENV_NODE:-kwok}"

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
  # Ours if it is this component's binary of this build or of another release's build
  # (TESTENV_KUBE_VERSION: bin-vX.Y.Z), so that `down` stops an instance of any version.
  [ "$exe" = "$(readlink -f "$(component_bin "$1")")" ] ||
    [[ "$exe" == "$TESTENV_DIR"/bin-v*/"${1}" ]] || return 1
  echo "$pid"
}

# The executable of component $1.
component_bin() {
  case "$1" in
    containerd) echo /usr/bin/containerd ;;
    kubelet | kube-proxy | kube-router) echo "$NODE_BIN_DIR/$1" ;;
    *) echo "$BIN_DIR/$1" ;;
  esac
}

# Stops component $1 by the pid in its pid file (SIGTERM, then SIGKILL after 10s).
stop_one() {
  local c="$1" pid n
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
}

# Stops every component that has a pid file (reverse start order), by pid only.
stop_components() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_one "${COMPONENTS[$i]}"; done
}
