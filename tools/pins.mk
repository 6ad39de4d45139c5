# Every version hubkit builds or tests against that is not in a go.mod, in one
# place: the Makefile includes this file and the tests read it (test/pins).
# One `NAME := value` a line. The Kubernetes control plane and etcd are pinned
# by tools/cluster/go.mod, kind by go.mod (the tests use its config types).

# Tools `make tools` builds into bin/ (package@version).
KUSTOMIZE_PKG  := sigs.k8s.io/kustomize/kustomize/v5@v5.8.2
KUBE_SCORE_PKG := github.com/zegl/kube-score/cmd/kube-score@v1.20.0
KWOK_PKG       := sigs.k8s.io/kwok/cmd/kwok@v0.7.0
KWOKCTL_PKG    := sigs.k8s.io/kwok/cmd/kwokctl@v0.7.0
# krew, and its own manifest validator, for kubectl hubkit's krew manifest
# (tools/krew): krew installs it from a local archive, offline.
KREW_PKG          := sigs.k8s.io/krew/cmd/krew@v0.4.3
KREW_VALIDATE_PKG := sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3
# Prometheus' own rule checker and tester, for the alerts (components/alerts).
PROMTOOL_PKG   := github.com/prometheus/prometheus/cmd/promtool@v0.316.0
# Helm 3's CLI, which kustomize's helmCharts and the Argo CD plugin that runs
# `helm template | singleton` call (helm/); the post-renderer tests use Helm 3
# and Helm 4 as libraries, pinned by go.mod.
HELM_PKG       := helm.sh/helm/v3/cmd/helm@v3.19.0
# cosign, which signs the function's image and attaches its provenance and SBOM
# in the tests, and which verify-image runs (internal/imagecheck); v3.1.3 fixes
# an advisory in key verification.
COSIGN_PKG     := github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3

# The CSI sidecars that run beside test/csidriver as they run beside a
# cluster's storage driver (module@version; tools/install.sh builds each
# from a copy of the module: their go.mod files replace, which `go install`
# refuses, and the snapshotter's replaces its client/v8 by a directory its
# module lacks, so that module's required version is used).
CSI_PROVISIONER_MODULE := github.com/kubernetes-csi/external-provisioner/v5@v5.3.0
CSI_RESIZER_MODULE     := github.com/kubernetes-csi/external-resizer@v1.14.0
CSI_SNAPSHOTTER_MODULE := github.com/kubernetes-csi/external-snapshotter/v8@v8.7.0
# kind's and k3s's default storage, for the kind overlay: its command, and its
# own manifests (deploy/local-path-storage.yaml) read from the module.
LOCAL_PATH_PROVISIONER_PKG := github.com/rancher/local-path-provisioner@v0.0.30

# The GitOps controllers the end-to-end tests install and run against hubkit,
# built from their modules (their CRDs are read from the same modules):
# Argo CD's one binary (run as each of its components) and Flux's source- and
# kustomize-controller. Argo CD v3.2.6 is the newest whose module builds here:
# v3.3 to v3.5 replace gitops-engine by a directory their zip lacks, and the
# version they need is refused by the proxy; v3.6 and Flux after v1.9 need
# Go 1.27. source-controller requires fluxcd/pkg/artifact v0.18.3, which the
# proxy refuses: it builds with v0.18.0 (FLUX_SOURCE_REQUIRES).
ARGOCD_MODULE         := github.com/argoproj/argo-cd/v3@v3.2.6
FLUX_SOURCE_MODULE    := github.com/fluxcd/source-controller@v1.9.6
FLUX_SOURCE_REQUIRES  := github.com/fluxcd/pkg/artifact@v0.18.0
FLUX_KUSTOMIZE_MODULE := github.com/fluxcd/kustomize-controller@v1.9.6
# Releases whose own CRDs the end-to-end tests validate hubkit's objects with
# (module@version, read from the Go module cache).
KEDA_MODULE           := github.com/kedacore/keda/v2@v2.18.0
VELERO_MODULE         := github.com/vmware-tanzu/velero@v1.18.0
SNAPSHOT_API_MODULE   := github.com/kubernetes-csi/external-snapshotter/client/v8@v8.6.0
# The admission webhooks that verify image signatures, whose policy objects
# guard/verified-images/verifiers/ ships (their servers are not run).
POLICY_CONTROLLER_MODULE := github.com/sigstore/policy-controller@v0.13.1
KYVERNO_MODULE        := github.com/kyverno/kyverno@v1.19.1
# prometheus-operator's PrometheusRule CRD, for the alerts.
PROMETHEUS_OPERATOR_MODULE := github.com/prometheus-operator/prometheus-operator@v0.85.0
# CloudNativePG's Cluster CRD, for the HA group's database (components/cloudnative-pg).
CLOUDNATIVE_PG_MODULE := github.com/cloudnative-pg/cloudnative-pg@v1.28.0
# A NetworkPolicy agent for the real node, so that the end-to-end tests try
# the README's "who may reach it" table against enforced policies: kube-router
# with only its firewall (iptables and ipset) running. A loopback test agent,
# never shipped: docs/end-to-end.md says why this one and its caveats.
KUBE_ROUTER_PKG := github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v2.1.0
# Helm charts the function is tested on as Helm's post-renderer (helm/), read
# from the modules that ship them (module@version, and the chart's directory
# in it). MinIO's is AGPL-3.0: rendered at test time, nothing of it committed.
# MinIO's and grafana-community's modules have no release versions: a commit's
# pseudo-version is the pin.
MINIO_CHART_MODULE := github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_CHART_PATH   := helm/minio
SEALED_SECRETS_CHART_MODULE    := github.com/bitnami-labs/sealed-secrets@v0.32.2
SEALED_SECRETS_CHART_PATH      := helm/sealed-secrets
POSTGRES_OPERATOR_CHART_MODULE := github.com/zalando/postgres-operator@v1.14.0
POSTGRES_OPERATOR_CHART_PATH   := charts/postgres-operator
LOKI_CHART_MODULE              := github.com/grafana/loki/v3@v3.7.7
LOKI_CHART_PATH                := production/helm/loki
GRAFANA_CHART_MODULE           := github.com/grafana-community/helm-charts@v0.0.0-20260829030558-dbf9f4fb5fa1
GRAFANA_CHART_PATH             := charts/grafana
