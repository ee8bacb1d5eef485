#!/usr/bin/env bash
# One-time (cached) setup of the svc-doctor test cluster on Debian 12, as root:
# apt packages, Go builds of every component (into $SVCDOC_CACHE, keyed by version), the
# infrastructure images and the PKI. Idempotent: with the cache present it only checks and exits.
#   setup.sh [--with-traefik|--without-traefik] [--with-netpol|--without-netpol]
# Needs only Debian's apt repositories and the Go module proxy.
set -euo pipefail
for a in "$@"; do
  case $a in
    --with-traefik) export SVCDOC_WITH_TRAEFIK=1 ;;
    --without-traefik) export SVCDOC_WITH_TRAEFIK=0 ;;
    --with-netpol) export SVCDOC_WITH_NETPOL=1 ;;
    --without-netpol) export SVCDOC_WITH_NETPOL=0 ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

# tmux and bash-completion drive the shell-completion end-to-end test in a real bash
APT_PACKAGES=(containerd runc containernetworking-plugins iptables nftables conntrack socat ethtool iproute2 procps curl openssl ca-certificates tmux bash-completion)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged containerd as a service; the harness runs its own instance instead.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl disable --now containerd >/dev/null 2>&1 || true; fi
fi
log "apt packages present"
command -v go >/dev/null || die "go is not on PATH"

# build NAME OUTDIR SRC CMD...: runs CMD in SRC unless OUTDIR holds a build of the same sources.
build() {
  local name=$1 out=$2 src=$3 key s; shift 3
  key=$(srchash "$src")
  if [ -f "$out/.built" ] && [ "$(cat "$out/.built")" = "$key" ]; then log "$name: cached ($out)"; return 0; fi
  log "$name: building (go build, this takes a while when cold)"
  s=$(date +%s)
  rm -rf "$out"; mkdir -p "$out"
  (cd "$src" && "$@") || { rm -rf "$out"; die "$name: build failed"; }
  echo "$key" >"$out/.built"
  log "$name: built in $(($(date +%s) - s))s"
}
GB=(go build -trimpath)
LD_K8S="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD_K8S+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=${K8S_VERSION%%.*} -X $p.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION")"
  LD_K8S+=" -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
done
S=$SVCDOC_HACK/src
grep -q "^require k8s.io/kubernetes v$K8S_VERSION\$" "$S/k8s/go.mod" ||
  die "src/k8s/go.mod is not for v$K8S_VERSION: run hack/cluster/src/k8s/gen-gomod.sh $K8S_VERSION"
build kubernetes "$K8S_BIN" "$S/k8s" "${GB[@]}" -ldflags="$LD_K8S" -o "$K8S_BIN/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl
build etcd "$ETCD_BIN" "$S/etcd" "${GB[@]}" -ldflags='-s -w' -o "$ETCD_BIN/etcd" .
build coredns "$COREDNS_BIN" "$S/coredns" "${GB[@]}" -ldflags='-s -w' -o "$COREDNS_BIN/coredns" .
build pause "$PAUSE_BIN" "$S/pause" "${GB[@]}" -ldflags='-s -w' -o "$PAUSE_BIN/pause" .
# crictl: plain `go install` of the release (no replaces in cri-tools); run from an empty dir.
mkdir -p "$CL_CACHE/tmp/crictl"
build crictl "$CRICTL_BIN" "$CL_CACHE/tmp/crictl" env GOBIN="$CRICTL_BIN" go install -trimpath -ldflags='-s -w' \
  "sigs.k8s.io/cri-tools/cmd/crictl@v$CRICTL_VERSION"
if [ "$SVCDOC_WITH_TRAEFIK" = 1 ]; then
  build traefik "$TRAEFIK_BIN" "$S/traefik" "${GB[@]}" -ldflags='-s -w' -o "$TRAEFIK_BIN/traefik" \
    github.com/traefik/traefik/v3/cmd/traefik
fi
if [ "$SVCDOC_WITH_TRAEFIK" = 1 ]; then
  # The Gateway API CRDs (standard channel) of the version Traefik is built with, from the Go module
  # cache (the module proxy when absent): start.sh installs them before Traefik's Gateway provider.
  grep -q "sigs.k8s.io/gateway-api v$GATEWAY_API_VERSION\( \|$\)" "$S/traefik/go.mod" ||
    die "src/traefik/go.mod does not require sigs.k8s.io/gateway-api v$GATEWAY_API_VERSION: set GATEWAY_API_VERSION in env.sh to its version"
  if ! compgen -G "$GATEWAY_API_CRDS/gateway.networking.k8s.io_*.yaml" >/dev/null; then
    gwdir=$(cd "$S/traefik" && go mod download -json "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -d "$gwdir/config/crd/standard" ] || die "gateway-api v$GATEWAY_API_VERSION: no config/crd/standard in the module cache ($gwdir)"
    mkdir -p "$GATEWAY_API_CRDS"
    cp "$gwdir"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$GATEWAY_API_CRDS/"
    chmod 644 "$GATEWAY_API_CRDS"/*.yaml
    log "gateway-api v$GATEWAY_API_VERSION CRDs: $(cd "$GATEWAY_API_CRDS" && ls | tr '\n' ' ')"
  else
    log "gateway-api v$GATEWAY_API_VERSION CRDs: cached ($GATEWAY_API_CRDS)"
  fi
fi
if [ "$SVCDOC_WITH_NETPOL" = 1 ]; then
  build kube-network-policies "$KNP_BIN" "$S/knp" "${GB[@]}" -ldflags='-s -w' -o "$KNP_BIN/kube-network-policies" .
fi

# Infrastructure images: single-layer, built from the binaries above by hack/imgbuild (no registry).
mkdir -p "$CL_IMAGES" "$CL_CACHE/tools"
(cd "$SVCDOC_REPO" && go build -o "$CL_CACHE/tools/imgbuild" ./hack/imgbuild) || die "building hack/imgbuild failed"
# image NAME REF BIN USER ENTRYPOINT: writes $CL_IMAGES/NAME.tar unless it is newer than BIN.
image() {
  local name=$1 ref=$2 bin=$3 user=$4 entry=$5 tar="$CL_IMAGES/$1.tar"
  if [ -f "$tar" ] && [ "$tar" -nt "$bin" ] && [ "$(cat "$tar.ref" 2>/dev/null)" = "$ref" ]; then log "image $ref: cached"; return 0; fi
  "$CL_CACHE/tools/imgbuild" -docker "$tar" -tag "$ref" -user "$user" -entrypoint "$entry" \
    -file "$entry=$bin" >/dev/null || die "image $ref failed"
  echo "$ref" >"$tar.ref"
  log "image $ref: written"
}
image pause "$PAUSE_IMAGE" "$PAUSE_BIN/pause" 65532 /pause
# CoreDNS binds :53 as uid 65532: its pod sets net.ipv4.ip_unprivileged_port_start=0 (manifests/coredns.yaml).
image coredns "$COREDNS_IMAGE" "$COREDNS_BIN/coredns" 65532 /coredns
[ "$SVCDOC_WITH_TRAEFIK" = 1 ] && image traefik "$TRAEFIK_IMAGE" "$TRAEFIK_BIN/traefik" 65532 /traefik
# The enforcer needs root + NET_ADMIN in the host network namespace (privileged pod).
[ "$SVCDOC_WITH_NETPOL" = 1 ] && image kube-network-policies "$KNP_IMAGE" "$KNP_BIN/kube-network-policies" 0 /kube-network-policies

"$SVCDOC_HACK/pki.sh"
log "setup: done (cache $CL_CACHE, state $SVCDOC_CLUSTER_ROOT)"
