#!/usr/bin/env bash
# Rebuilds each stack's manifests.yaml from its public source: Go modules from
# the module proxy (copied or rendered with their own kustomization) and Helm
# charts inside them, rendered with tools/pins.mk's helm built from the proxy
# (and its chart pins, for the charts the helm/ tests read too). Each
# stack's SOURCE.md names what this script takes and its licence. Not run by
# `make test`: the renders are committed, and this is how to check them.
#   plugin/singleton/testdata/realworld/gather.sh [stack...]
set -euo pipefail
cd "$(dirname "$0")"

root=$(git rev-parse --show-toplevel)
KUSTOMIZE=${KUSTOMIZE:-$root/bin/kustomize}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# pin prints a value of tools/pins.mk, the one place for the versions the
# helm/ tests read the same charts at.
pin() { sed -n "s/^$1 *:= *//p" "$root/tools/pins.mk"; }

# kube is the version of the control plane hubkit tests on, the one place
# for it: k8s.io/kubernetes in tools/cluster/go.mod.
kube=$(awk '$1 == "k8s.io/kubernetes" {print $2}' "$root/tools/cluster/go.mod")

# mod downloads a module at an exact version and prints its directory.
mod() { GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# helm template, for the cluster hubkit tests on (a helm built by go install
# assumes Kubernetes v1.20 otherwise).
helm_template() {
  [ -x "$work/bin/helm" ] || GOBIN="$work/bin" go install "$(pin HELM_PKG)"
  "$work/bin/helm" template "$@" --kube-version "$kube"
}

# cat_files writes the named files as one stream, each after a separator and
# a comment naming it (a file's own leading separator dropped).
cat_files() {
  local dir=$1; shift
  for f in "$@"; do printf -- '---\n# Source: %s\n' "$f"; sed '1{/^---[[:space:]]*$/d}' "$dir/$f"; done
}

# chart copies a chart out of the read-only module cache.
chart() { cp -r "$1" "$work/$2" && chmod -R u+w "$work/$2" && echo "$work/$2"; }

stack() {
  case $1 in
  guestbook)
    d=$(mod k8s.io/kubernetes@$kube)/test/e2e/testing-manifests/guestbook
    cat_files "$d" agnhost-primary-deployment.yaml.in agnhost-primary-service.yaml \
      agnhost-replica-deployment.yaml.in agnhost-replica-service.yaml frontend-deployment.yaml.in frontend-service.yaml |
      sed 's|{{.AgnhostImage}}|registry.k8s.io/e2e-test-images/agnhost:2.63.0|' ;;
  csi-hostpath)
    cat_files "$(mod k8s.io/kubernetes@$kube)/test/e2e/testing-manifests/storage-csi/hostpath/hostpath" \
      csi-hostpath-driverinfo.yaml csi-hostpath-plugin.yaml ;;
  csi-mock-proxy)
    cat_files "$(mod k8s.io/kubernetes@$kube)/test/e2e/testing-manifests/storage-csi/mock" csi-mock-proxy.yaml ;;
  event-exporter)
    cat_files "$(mod k8s.io/kubernetes@$kube)/cluster/addons/fluentd-gcp" event-exporter.yaml ;;
  cassandra)
    cat_files "$(mod k8s.io/kubernetes@$kube)/test/e2e/testing-manifests/statefulset/cassandra" \
      service.yaml pdb.yaml statefulset.yaml ;;
  mysql-replicated)
    cat_files "$(mod k8s.io/kubernetes@$kube)/test/e2e/testing-manifests/statefulset/mysql-upgrade" \
      configmap.yaml service.yaml statefulset.yaml ;;
  velero-nginx-with-pv)
    cat_files "$(mod github.com/vmware-tanzu/velero@v1.18.0)/examples/nginx-app" with-pv.yaml ;;
  velero-minio)
    cat_files "$(mod github.com/vmware-tanzu/velero@v1.18.0)/examples/minio" 00-minio-deployment.yaml ;;
  argo-workflows-postgres)
    cat_files "$(mod github.com/argoproj/argo-workflows/v3@v3.7.2)/manifests" quick-start-postgres.yaml ;;
  argo-workflows-mysql)
    cat_files "$(mod github.com/argoproj/argo-workflows/v3@v3.7.2)/manifests" quick-start-mysql.yaml ;;
  argo-cd)
    cat_files "$(mod github.com/argoproj/argo-cd/v3@v3.2.0)/manifests" namespace-install.yaml ;;
  argo-cd-ha)
    cat_files "$(mod github.com/argoproj/argo-cd/v3@v3.2.0)/manifests/ha" namespace-install.yaml ;;
  buildkit-statefulset)
    cat_files "$(mod github.com/moby/buildkit@v0.25.0)/examples/kubernetes" statefulset.rootless.yaml ;;
  buildkit-deployment)
    cat_files "$(mod github.com/moby/buildkit@v0.25.0)/examples/kubernetes" deployment+service.rootless.yaml ;;
  jaeger-hotrod)
    "$KUSTOMIZE" build "$(mod github.com/jaegertracing/jaeger@v1.62.0)/examples/hotrod/kubernetes" 2>/dev/null ;;
  snapshot-controller)
    cat_files "$(mod github.com/kubernetes-csi/external-snapshotter/v8@v8.6.0)/deploy/kubernetes/snapshot-controller" \
      rbac-snapshot-controller.yaml setup-snapshot-controller.yaml ;;
  csi-provisioner)
    cat_files "$(mod github.com/kubernetes-csi/external-provisioner/v5@v5.3.0)/deploy/kubernetes" deployment.yaml ;;
  loki)
    # The chart lists three dependencies (minio, grafana-agent-operator,
    # rollout-operator) that the module does not carry; these values turn all
    # three off, so their stanza is removed for helm to render.
    c=$(chart "$(mod "$(pin LOKI_CHART_MODULE)")/$(pin LOKI_CHART_PATH)" loki)
    sed -i '/^dependencies:/,/^maintainers:/{/^maintainers:/!d}' "$c/Chart.yaml"
    helm_template loki "$c" --namespace loki -f loki/values.yaml ;;
  sealed-secrets)
    helm_template sealed-secrets "$(chart "$(mod "$(pin SEALED_SECRETS_CHART_MODULE)")/$(pin SEALED_SECRETS_CHART_PATH)" sealed-secrets)" \
      --namespace kube-system ;;
  postgres-operator)
    helm_template postgres-operator "$(chart "$(mod "$(pin POSTGRES_OPERATOR_CHART_MODULE)")/$(pin POSTGRES_OPERATOR_CHART_PATH)" postgres-operator)" \
      --namespace postgres-operator ;;
  kyverno-ha)
    # Kyverno's documented high-availability replica counts; CRDs left out.
    # The openreports dependency (off by default) is not in the module: its
    # stanza is removed for helm to render.
    c=$(chart "$(mod github.com/kyverno/kyverno@v1.15.2)/charts/kyverno" kyverno)
    sed -i '/^  - name: openreports/,/condition: openreports/d' "$c/Chart.yaml"
    helm_template kyverno "$c" \
      --namespace kyverno --set crds.install=false --set admissionController.replicas=3 \
      --set backgroundController.replicas=2 --set cleanupController.replicas=2 --set reportsController.replicas=2 ;;
  *) echo "unknown stack $1" >&2; return 1 ;;
  esac
}

stacks=("$@")
[ ${#stacks[@]} -gt 0 ] || stacks=($(ls -d */ | tr -d /))
for s in "${stacks[@]}"; do
  stack "$s" > "$work/out.yaml"
  mv "$work/out.yaml" "$s/manifests.yaml"
  echo "$s: $(grep -c '^kind:' "$s/manifests.yaml") objects"
done
