#!/usr/bin/env bash
# Regenerates this throwaway build module for k8s.io/kubernetes vVERSION (default: $K8S_VERSION):
# `go install k8s.io/kubernetes/cmd/...@v` fails because kubernetes' go.mod replaces every staging
# module with ./staging/...; here each of them is replaced by its published v0.MINOR.PATCH twin
# (33 modules for 1.37). Usage: gen-gomod.sh [1.37.2]
set -euo pipefail
V=${1:-${K8S_VERSION:-1.37.2}}
cd "$(dirname "$0")"
GOMOD=$(go mod download -json "k8s.io/kubernetes@v$V" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  printf 'module svc-doctor-cluster/k8s\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$V"
  grep '=> ./staging' "$GOMOD" | awk -v v="v0.${V#1.}" '{printf "\t%s => %s %s\n", $1, $1, v}'
  printf ')\n'
} >go.mod
rm -f go.sum
C=k8s.io/kubernetes/cmd
go get "$C/kube-apiserver@v$V" "$C/kube-controller-manager@v$V" "$C/kube-scheduler@v$V" \
  "$C/kubelet@v$V" "$C/kube-proxy@v$V" "$C/kubectl@v$V"
echo "go.mod for k8s v$V: $(grep -c '=> k8s.io' go.mod) staging replaces"
