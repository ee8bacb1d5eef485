# shellcheck shell=bash
# Helpers shared by the hack/cluster scripts.
# shellcheck source=SCRIPTDIR/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

SVCDOC_T0=${SVCDOC_T0:-$(date +%s.%N)}
# log MSG...: prints a line with the seconds elapsed since the script started.
log() { printf '[%6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$SVCDOC_T0" 'BEGIN{print a-b}')" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (the harness manages network namespaces, iptables and containerd)"; }

# srchash DIR: short hash of a build module's files, part of the cache key (a changed go.mod rebuilds).
# Only go.mod, go.sum and Go files count; an empty directory hashes to a constant.
srchash() { (cd "$1" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-10); }

# ctr_k8s ARGS...: ctr against the harness containerd, in the CRI namespace.
ctr_k8s() { ctr --address "$CL_CTRD_SOCK" -n k8s.io "$@"; }

# render SRC DST: copies a template, replacing @NAME@ with the value of the setting $NAME.
render() {
  local src=$1 dst=$2 content var
  content=$(<"$src")
  for var in $(grep -o '@[A-Z_][A-Z0-9_]*@' "$src" | sort -u | tr -d @); do
    [ -n "${!var+x}" ] || die "render $src: \$$var is not set"
    content=${content//@$var@/${!var}}
  done
  mkdir -p "$(dirname "$dst")"
  # Leave an unchanged file alone: kube-proxy exits when its config file is touched.
  if [ -f "$dst" ] && [ "$(<"$dst")" = "$content" ]; then return 0; fi
  printf '%s\n' "$content" >"$dst.tmp" && mv "$dst.tmp" "$dst"
}

kc() { "$K8S_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# waitfor DESC TIMEOUT_S CMD...: runs CMD every 0.2s until it succeeds or TIMEOUT_S seconds passed.
waitfor() {
  local d=$1 to=$2 deadline; shift 2
  deadline=$((SECONDS + to))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then log "$d ready"; return 0; fi
    sleep 0.2
  done
  log "TIMEOUT waiting ${to}s for $d"; return 1
}
