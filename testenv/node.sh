# The real node of `testenv/up --node real`: functions sourced by testenv/up and testenv/down.
# shellcheck shell=bash
# shellcheck disable=SC2034  # some variables are read by testenv/up
#
# Layout (docs/testenv.md, "The real node"):
#   - network namespace $NETNS: the node. A veth pair links it to the host ($NODE_HOST_IP on the
#     host, $NODE_IP in the node). The CNI bridge, pod and service addresses, kube-proxy's and
#     kube-router's iptables/ipset state all live in it. It has no default route and nothing
#     masquerades to the outside: pods reach only each other, the node and the API server.
#   - a private mount namespace ($MNTNS) shared by containerd and kubelet: container root
#     filesystems, volume mounts, pod network namespaces and the runtime's fixed paths (/run/netns,
#     /run/containerd, /var/lib/cni, /var/log/pods, /var/log/containers, /opt/containerd) are
#     private tmpfs or mounts there, so they vanish with it and never touch the host's.

NETNS="scs-testenv-node"
HOST_VETH="scs-testenv0"
NODE_NAME="testenv-node"
POD_CIDR="10.244.0.0/16"
NODE_POD_CIDR="10.244.0.0/24"
SERVICE_CIDR="10.96.0.0/16"
DNS_IP="10.96.0.10"
NODE_DIR="$RUN_DIR/node"
NS_DIR="$RUN_DIR/ns"
MNTNS="$NS_DIR/mnt"
CTR_SOCK="$NODE_DIR/containerd/containerd.sock"
NETPOL_FILE="$RUN_DIR/netpol"
# Paths the runtime uses whatever its configuration says; private tmpfs in the node's mount namespace.
PRIVATE_PATHS=(/run/netns /run/containerd /var/lib/cni /var/log/pods /var/log/containers /opt/containerd)
HOST_FORWARD_RULES=("-i $HOST_VETH -j DROP" "-o $HOST_VETH -j DROP")

in_node() { nsenter --net="/run/netns/$NETNS" -- "$@"; }
ctr_node() { ctr --address "$CTR_SOCK" --namespace k8s.io "$@"; }

node_prerequisites() {
  local t
  for t in ip nsenter unshare iptables ipset containerd containerd-shim-runc-v2 runc ctr; do
    command -v "$t" >/dev/null || die "$t not found: the real node needs containerd, runc, iptables, ipset, iproute2 (docs/testenv.md)"
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/portmap ] && [ -x /usr/lib/cni/loopback ] ||
    die "CNI plugins not found in /usr/lib/cni (apt-get install containernetworking-plugins)"
  [ "$(id -u)" = 0 ] || die "the real node needs root (network and mount namespaces)"
}

# --- network ---------------------------------------------------------------------------------
node_network_up() {
  local r
  ip netns add "$NETNS"
  ip link add "$HOST_VETH" type veth peer name eth0 netns "$NETNS"
  ip addr add "$NODE_HOST_IP/30" dev "$HOST_VETH"
  ip link set "$HOST_VETH" up
  in_node ip link set lo up
  in_node ip addr add "$NODE_IP/30" dev eth0
  in_node ip link set eth0 up
  # Per network namespace: routing between the bridge and eth0, bridged pod traffic through
  # iptables (kube-proxy and the NetworkPolicy controller filter it there).
  in_node sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward; echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables'
  # Pods reach the API server on the host end of the veth; the host has no route to pod
  # addresses, so their source becomes the node's address. Only for that one destination.
  in_node iptables -t nat -A POSTROUTING -s "$POD_CIDR" -d "$NODE_HOST_IP/32" -j MASQUERADE
  # Belt and braces: the host never forwards anything to or from the node.
  for r in "${HOST_FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086
    iptables -I FORWARD $r
  done
}

node_network_down() {
  local r
  for r in "${HOST_FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086
    while iptables -C FORWARD $r 2>/dev/null; do iptables -D FORWARD $r; done
  done
  ip link del "$HOST_VETH" 2>/dev/null || true
  # Deleting the namespace removes its bridge, veths, iptables and ipset state with it.
  ip netns del "$NETNS" 2>/dev/null || true
}

# --- mount namespace -------------------------------------------------------------------------
node_mountns_up() {
  local d
  mkdir -p "$NS_DIR"
  # A persistent namespace file must sit on a private mount.
  mount --bind "$NS_DIR" "$NS_DIR"
  mount --make-private "$NS_DIR"
  touch "$MNTNS"
  # Mount points the host lacks are created on the host (empty); remember them for `down`.
  for d in "${PRIVATE_PATHS[@]}"; do [ -e "$d" ] || echo "$d" >>"$NS_DIR/created-dirs"; done
  unshare --mount="$MNTNS" --propagation private sh -ec '
    for d in "$@"; do mkdir -p "$d"; mount -t tmpfs -o mode=0755 scs-testenv "$d"; done' sh "${PRIVATE_PATHS[@]}"
}

node_mountns_down() {
  umount "$MNTNS" 2>/dev/null || true
  umount "$NS_DIR" 2>/dev/null || true
}

# start_node <component> <args...>: like `start`, inside the node's network and mount namespaces.
start_node() {
  local c="$1" pid mask
  shift
  log "starting $c (in the node)"
  # `up` runs with umask 077 (it writes keys); the node's files must have the usual modes, or
  # image root filesystems and volumes are closed to non-root containers.
  mask="$(umask)"
  umask 022
  setsid nsenter --mount="$MNTNS" --net="/run/netns/$NETNS" -- "$(component_bin "$c")" "$@" \
    </dev/null >"$LOG_DIR/$c.log" 2>&1 9>&- &
  pid=$!
  umask "$mask"
  echo "$pid" >"$(pid_file "$c")"
  sleep 0.2
  component_pid "$c" >/dev/null || fail "$c" "process $pid exited right after start"
}

# --- configuration ---------------------------------------------------------------------------
node_pki() {
  gen_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  gen_cert kube-proxy "/CN=system:kube-proxy" clientAuth
  gen_cert kube-router "/CN=system:kube-router" clientAuth
  write_kubeconfig "$RUN_DIR/kubelet.kubeconfig" kubelet
  write_kubeconfig "$RUN_DIR/kube-proxy.kubeconfig" kube-proxy
  write_kubeconfig "$RUN_DIR/kube-router.kubeconfig" kube-router
}

node_config() {
  local sandbox
  sandbox="$(cat "$IMAGE_DIR/sandbox-image")"
  mkdir -p "$NODE_DIR/containerd" "$NODE_DIR/cni/net.d" "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs"
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$NODE_DIR/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox"
  # Required here: processes may not lower oom_score_adj, and runc fails every sandbox otherwise.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
  # No default route is given to the node itself; the pods' default route ends at the node.
  cat >"$NODE_DIR/cni/net.d/10-scs-testenv.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "scs-testenv",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$NODE_POD_CIDR"}]],
               "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$NODE_DIR/cni/ipam"}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  cat >"$NODE_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine mounts only cgroup v1 hierarchies; recent kubelets refuse them by default.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
containerRuntimeEndpoint: unix://$CTR_SOCK
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
# No host resolver inside pods: nothing resolves names outside the cluster.
resolvConf: ""
podLogsDir: $NODE_DIR/pod-logs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $RUN_DIR/pki/ca.crt}
authorization: {mode: Webhook}
# The images are imported, never pulled: never garbage-collect or evict them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
serializeImagePulls: false
maxPods: 110
EOF
  cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $RUN_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32"]
# Leave conntrack sysctls alone: they are global on this kernel, not per node.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
EOF
}

# --- images ----------------------------------------------------------------------------------
node_import_images() {
  local name file
  while read -r name file; do
    log "importing image $name"
    ctr_node images import "$IMAGE_DIR/$file" >>"$LOG_DIR/containerd.log" 2>&1 ||
      fail containerd "ctr images import $IMAGE_DIR/$file failed"
    # Not `ctr | grep -q`: with pipefail, grep's early exit fails the pipeline (SIGPIPE).
    grep -qxF "$name" <<<"$(ctr_node images ls -q)" || fail containerd "image $name not found after import of $file"
  done <"$IMAGE_DIR/images.list"
}

# --- NetworkPolicy enforcement ---------------------------------------------------------------
# node_netpol enforce|none: starts or stops kube-router's NetworkPolicy controller. Stopping it
# also removes its iptables chains and ipsets, so `none` is bridge networking without enforcement.
node_netpol() {
  case "$1" in
    enforce)
      component_pid kube-router >/dev/null && { echo enforce >"$NETPOL_FILE"; return 0; }
      log "NetworkPolicy enforcement: on"
      start_node kube-router --kubeconfig="$RUN_DIR/kube-router.kubeconfig" \
        --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
        --hostname-override="$NODE_NAME" --service-cluster-ip-range="$SERVICE_CIDR" \
        --metrics-port=0 --health-port=20244 --v=1
      wait_until kube-router "kube-router /healthz" in_node curl -fsS http://127.0.0.1:20244/healthz
      ;;
    none)
      if component_pid kube-router >/dev/null; then
        log "NetworkPolicy enforcement: off"
        stop_one kube-router
      fi
      if in_node iptables-save | grep -qE 'KUBE-(ROUTER|NWPLCY|POD-FW)' || [ -n "$(in_node ipset list -n)" ]; then
        # kube-router v2.1.0's --cleanup-config leaves its chains here (and panics in the service
        # proxy's cleanup, IPVS being absent), so its state is removed directly: its filter
        # chains and the rules that jump to them, then every ipset (in this network namespace
        # only kube-router makes ipsets; kube-proxy runs in iptables mode).
        local set
        in_node iptables-save -t filter | grep -vE 'KUBE-(ROUTER|NWPLCY|POD-FW)|kube-router' |
          in_node iptables-restore -T filter || fail kube-router "removing its iptables chains failed"
        for set in $(in_node ipset list -n); do in_node ipset destroy "$set"; done
        if in_node iptables-save | grep -qE 'KUBE-(ROUTER|NWPLCY|POD-FW)'; then
          fail kube-router "NetworkPolicy chains left after their removal"
        fi
      fi
      ;;
    *) die "--netpol must be enforce or none, not '$1'" ;;
  esac
  echo "$1" >"$NETPOL_FILE"
}

# --- whole node ------------------------------------------------------------------------------
node_up() {
  local netpol="$1"
  start_node containerd --config "$NODE_DIR/containerd/config.toml"
  wait_until containerd "containerd socket $CTR_SOCK" ctr_node version
  node_import_images

  start_node kubelet --config="$NODE_DIR/kubelet/config.yaml" --kubeconfig="$RUN_DIR/kubelet.kubeconfig" \
    --root-dir="$NODE_DIR/kubelet" --cert-dir="$NODE_DIR/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
  wait_until kubelet "node $NODE_NAME Ready" kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s

  start_node kube-proxy --config="$NODE_DIR/kube-proxy.yaml" --v=1
  wait_until kube-proxy "kube-proxy /healthz" in_node curl -fsS http://127.0.0.1:10256/healthz

  sed "s|@COREDNS_VERSION@|$COREDNS_VERSION|g" "$TESTENV_SRC/node/addons.yaml" |
    kc apply -f - >>"$LOG_DIR/kubelet.log" 2>&1 ||
    fail kubelet "kubectl apply -f testenv/node/addons.yaml failed"
  wait_until kubelet "Deployment kube-system/coredns available (CoreDNS on the real node)" \
    kc -n kube-system rollout status deployment/coredns --timeout=5s
  node_netpol "$netpol"
  node_check_schedulable
}

# A node under memory, disk or PID pressure is tainted; e2e pods (no tolerations) then stay
# Pending while Sonobuoy's pods (which tolerate everything) run, and specs time out. Say so here.
node_check_schedulable() {
  local taints i
  for i in $(seq 30); do # the node controller lifts the start-up taints within seconds
    taints="$(kc get node "$NODE_NAME" -o jsonpath='{.spec.taints}' 2>/dev/null)" ||
      fail kubelet "cannot read node $NODE_NAME"
    [ -z "$taints" ] && return 0
    sleep 1
  done
  fail kubelet "node $NODE_NAME is tainted, e2e pods would not be scheduled: $taints (conditions: $(
    kc get node "$NODE_NAME" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {end}'))"
}

# Stops the node's processes by pid: the NetworkPolicy controller, kube-proxy, kubelet, every
# container (through containerd, which also ends their shims), then containerd; removes the
# namespaces and the host-side rules. Safe to call on a half-started or already stopped node.
node_down() {
  local id pids shim
  stop_one kube-router
  stop_one kube-proxy
  stop_one kubelet
  if component_pid containerd >/dev/null; then
    for id in $(ctr_node tasks ls -q 2>/dev/null); do
      ctr_node tasks kill --all --signal SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_node tasks ls -q 2>/dev/null); do
      ctr_node tasks delete --force "$id" >/dev/null 2>&1 || true
    done
    stop_one containerd
  fi
  # Shims outlive containerd by design; ours are the ones serving our containerd's socket.
  pids="$(pgrep -f -- "containerd-shim-runc-v2 .*-address $CTR_SOCK( |\$)" || true)"
  for shim in $pids; do
    log "stopping containerd shim (pid $shim)"
    kill -KILL "$shim" 2>/dev/null || true
  done
  node_mountns_down
  node_network_down
  if [ -f "$NS_DIR/created-dirs" ]; then
    while read -r id; do rmdir "$id" 2>/dev/null || true; done <"$NS_DIR/created-dirs"
  fi
}
