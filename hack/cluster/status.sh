#!/usr/bin/env bash
# Tells about the svc-doctor test cluster.
#   status.sh              components, node, KUBECONFIG and safety counters
#   status.sh kubeconfig   prints only the admin KUBECONFIG path (export KUBECONFIG=$(status.sh kubeconfig))
#   status.sh nodes        one line per node (SVCDOC_NODES): NUMBER NAME NODE-IP POD-CIDR NETNS
#                          (NETNS "-" for node 1, the host's own network namespace)
#   status.sh memory       resident memory (MiB) per node: its components, containerd shims and pods
#                          (the pods' memory cgroup), and the control plane on node 1
#   status.sh counters     key=value safety counters (exit 3 when the cluster network is down):
#                          dns_upstream_cluster, dns_upstream_other, guard_drops
#   status.sh leftovers    what the harness left on the host (processes, mounts, rules, links, routes,
#                          cgroups), one per line; exit 1 when there is anything (after stop.sh: a bug),
#                          2 when not run as root
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
  kubeconfig) echo "$ADMIN_KUBECONFIG"; exit 0 ;;
  nodes)
    for k in $(node_list); do node_vars "$k"; echo "$k $N_NAME $N_IP $N_POD_CIDR ${N_NETNS:--}"; done
    exit 0 ;;
  memory)
    rss() { awk '/^VmRSS/ {s += $2} END {printf "%d", s / 1024}' "${@/#//proc/}" /dev/null 2>/dev/null; }
    pidof_run() { local p; p=$(cat "$CL_RUN/$1.pid" 2>/dev/null) && alive "$p" && echo "$p/status"; }
    printf '%-14s %11s %9s %6s %6s %6s
' NODE COMPONENTS SHIMS PODS TOTAL "(MiB)"
    all=0
    for k in $(present_nodes); do
      node_vars "$k"
      comps=$(rss $(pidof_run "${N_PID}containerd") $(pidof_run "${N_PID}kubelet") $(pidof_run "${N_PID}kube-proxy"))
      # shellcheck disable=SC2016 # awk program
      shims=$(rss $(awk -v RS='\0' -v s="$N_CTRD_SOCK" 'FNR == 1 {f = $0} index(f, "containerd-shim") && $0 == s {print FILENAME; nextfile}' /proc/[0-9]*/cmdline 2>/dev/null | sed 's|/proc/||; s|/cmdline$|/status|'))
      pods=0
      for c in /sys/fs/cgroup/memory${N_CGROOT%/}/kubepods/memory.usage_in_bytes /sys/fs/cgroup${N_CGROOT%/}/kubepods/memory.current; do
        [ -f "$c" ] && { pods=$(($(cat "$c") / 1048576)); break; }
      done
      printf '%-14s %11d %9d %6d %6d
' "$N_NAME" "$comps" "$shims" "$pods" $((comps + shims + pods))
      all=$((all + comps + shims + pods))
    done
    cp=$(rss $(pidof_run etcd) $(pidof_run kube-apiserver) $(pidof_run kube-controller-manager) $(pidof_run kube-scheduler))
    printf '%-14s %11d %9s %6s %6d
' control-plane "$cp" - - "$cp"
    printf '%-14s %11s %9s %6s %6d
' all "" "" "" $((all + cp))
    exit 0 ;;
  counters) exec "$SVCDOC_HACK/net.sh" counters ;;
  leftovers)
    # exit 2, not 1: "cannot look" must not read as "found leftovers"
    [ "$(id -u)" = 0 ] || { echo "status.sh leftovers: run as root (it reads iptables, mounts and cgroups)" >&2; exit 2; }
    left=$(leftovers)
    [ -z "$left" ] && exit 0
    echo "$left"; exit 1 ;;
  "") ;;
  *) echo "usage: $0 [kubeconfig|nodes|memory|counters|leftovers]" >&2; exit 2 ;;
esac
names=(etcd kube-apiserver kube-controller-manager kube-scheduler)
for k in $(present_nodes); do node_vars "$k"; names+=("${N_PID}containerd" "${N_PID}kubelet" "${N_PID}kube-proxy"); done
for n in "${names[@]}"; do
  if [ -f "$CL_RUN/$n.pid" ] && kill -0 "$(cat "$CL_RUN/$n.pid")" 2>/dev/null; then
    printf '%-24s running (pid %s, %s MiB)\n' "$n" "$(cat "$CL_RUN/$n.pid")" \
      "$(awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$(cat "$CL_RUN/$n.pid")/status")"
  else
    printf '%-24s stopped\n' "$n"
  fi
done
if kc get --raw /readyz >/dev/null 2>&1; then
  kc get nodes -o wide
  kc get pods -A -o wide
fi
echo "KUBECONFIG=$ADMIN_KUBECONFIG"
"$SVCDOC_HACK/net.sh" counters 2>/dev/null || echo "(cluster network is down)"
