#!/usr/bin/env bash
# Creates (once) the cluster CA, serving and client certificates, the service-account key pair and the
# kubeconfigs of every component, of every node's kubelet (SVCDOC_NODES) and of the admin, with openssl
# only. Idempotent (start.sh runs it too, for nodes added after setup).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
mkdir -p "$CL_PKI" "$CL_KCFG"
chmod 700 "$CL_PKI"
cd "$CL_PKI"
if [ ! -f ca.key ]; then
  openssl genrsa -out ca.key 2048 2>/dev/null
  openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=svc-doctor-test-ca" -out ca.crt
fi
if [ ! -f sa.key ]; then
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi
# cert NAME SUBJECT EXTENSIONS
cert() {
  local name=$1 subj=$2 ext=$3
  [ -f "$name.crt" ] && return 0
  openssl genrsa -out "$name.key" 2048 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
sans+=",DNS:localhost,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP"
cert apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=$sans"
# every node's kubelet: a serving certificate for its name and IP, a client one as system:node:NAME
nodes_certs=()
for k in $(node_list); do
  node_vars "$k"
  cert "kubelet-serving$N_CERT" "/CN=$N_NAME" "extendedKeyUsage=serverAuth
subjectAltName=DNS:$N_NAME,IP:$N_IP"
  cert "kubelet$N_CERT" "/O=system:nodes/CN=system:node:$N_NAME" "extendedKeyUsage=clientAuth"
  nodes_certs+=("kubelet$N_CERT")
done
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
cert admin "/O=system:masters/CN=svc-doctor-admin" "extendedKeyUsage=clientAuth"
cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
cert kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
chmod 600 ./*.key
for u in admin controller-manager scheduler kube-proxy "${nodes_certs[@]}"; do
  cat >"$CL_KCFG/$u.kubeconfig.tmp" <<EOC
apiVersion: v1
kind: Config
clusters:
- name: svc-doctor
  cluster:
    certificate-authority: $CL_PKI/ca.crt
    server: https://$NODE_IP:6443
users:
- name: $u
  user:
    client-certificate: $CL_PKI/$u.crt
    client-key: $CL_PKI/$u.key
contexts:
- name: svc-doctor
  context: {cluster: svc-doctor, user: $u}
current-context: svc-doctor
EOC
  if cmp -s "$CL_KCFG/$u.kubeconfig.tmp" "$CL_KCFG/$u.kubeconfig"; then rm -f "$CL_KCFG/$u.kubeconfig.tmp"; else mv "$CL_KCFG/$u.kubeconfig.tmp" "$CL_KCFG/$u.kubeconfig"; fi
done
log "pki: certificates in $CL_PKI, kubeconfigs in $CL_KCFG"
