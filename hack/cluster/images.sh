#!/usr/bin/env bash
# Builds the project's images from this checkout and imports them into every node of the running test
# cluster (cheap; run it after every change, hack/e2e.sh does):
#   $TESTSERVER_IMAGE (localhost/svc-doctor/testserver:dev)  from ./test/testserver
#   $AGENT_IMAGE      (ghcr.io/svc-doctor/agent:dev)          from ./cmd/svc-doctor-agent, when it exists
# Images are single-layer, non-root (uid 65532), built with hack/imgbuild: no registry, no engine.
#   images.sh --kind NAME   loads them into the kind cluster NAME instead (`kind load image-archive`)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
KIND_CLUSTER=""
if [ "${1:-}" = --kind ]; then
  KIND_CLUSTER=${2:?usage: images.sh --kind CLUSTER-NAME}
else
  need_root
  for k in $(node_list); do
    node_vars "$k"
    ctr --address "$N_CTRD_SOCK" version >/dev/null 2>&1 || die "the containerd of node $N_NAME is not running: run hack/cluster/start.sh"
  done
fi
OUT="$CL_CACHE/project-images"
mkdir -p "$OUT/bin"
cd "$SVCDOC_REPO"
go build -o "$CL_CACHE/tools/imgbuild" ./hack/imgbuild

# project_image NAME REF PKG: go build PKG, wrap it into REF, import it when its digest changed.
project_image() {
  local name=$1 ref=$2 pkg=$3 digest
  go build -trimpath -ldflags='-s -w' -o "$OUT/bin/$name" "$pkg" || die "go build $pkg failed"
  digest=$("$CL_CACHE/tools/imgbuild" -tag "$ref" -file "/$name=$OUT/bin/$name" -entrypoint "/$name" \
    -label "org.opencontainers.image.source=https://github.com/svc-doctor/svc-doctor" \
    -docker "$OUT/$name.tar" | awk '{print $2}')
  if [ -n "$KIND_CLUSTER" ]; then
    kind load image-archive "$OUT/$name.tar" --name "$KIND_CLUSTER" || die "kind load of $ref failed"
    log "loaded $ref into kind cluster $KIND_CLUSTER ($digest)"
    return 0
  fi
  local k mark
  for k in $(node_list); do
    node_vars "$k"
    mark=$OUT/$name.imported${N_CERT}
    if [ "$(cat "$mark" 2>/dev/null)" = "$digest" ] && ctr_k8s images ls -q | grep -xF "$ref" >/dev/null; then
      log "$ref unchanged on $N_NAME ($digest)"
      continue
    fi
    ctr_k8s images import --no-unpack=false "$OUT/$name.tar" >/dev/null || die "importing $ref into $N_NAME failed"
    echo "$digest" >"$mark"
    log "imported $ref into $N_NAME ($digest)"
  done
}

project_image testserver "$TESTSERVER_IMAGE" ./test/testserver
if compgen -G "cmd/svc-doctor-agent/*.go" >/dev/null && go list ./cmd/svc-doctor-agent >/dev/null 2>&1; then
  project_image svc-doctor-agent "$AGENT_IMAGE" ./cmd/svc-doctor-agent
else
  log "SKIPPED $AGENT_IMAGE: ./cmd/svc-doctor-agent does not exist (yet) in this checkout"
fi
