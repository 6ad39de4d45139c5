# hubkit: run one stateful, single-instance app on Kubernetes, durably.
# `make help` lists the targets. Tools are pinned here and installed into bin/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN   := $(CURDIR)/bin
BUILD := $(CURDIR)/build

# Overlays name the singleton function bare, as GitOps images need: bin/ first.
export PATH := $(BIN):$(PATH)

## Pinned tools: tools/pins.mk holds every version no go.mod holds (the Go
## tools below, the releases whose CRDs the tests use); the Kubernetes control
## plane, the real node's kubelet and kube-proxy, kubectl and etcd are pinned
## by tools/cluster/go.mod, kind by go.mod. The real node's containerd, runc
## and CNI plugins are Debian's (DEBIAN_PACKAGES).
include tools/pins.mk
KIND_VERSION := $(shell awk '$$1 == "sigs.k8s.io/kind" {print $$2; exit}' go.mod)
K8S_VERSION  := $(shell awk '{for (i = 1; i < NF; i++) if ($$i == "k8s.io/kubernetes" && $$(i+1) ~ /^v/) {print $$(i+1); exit}}' tools/cluster/go.mod)
K8S_MINOR    := $(word 2,$(subst ., ,$(K8S_VERSION)))

# Built tools live in a cache shared by every clone, one file per version;
# bin/ links to them (tools/install.sh). A fresh clone links instead of rebuilding.
export TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hubkit/tools
export BIN
INSTALL := tools/install.sh

KUSTOMIZE  := $(BIN)/kustomize
KIND       := $(BIN)/kind
KWOK       := $(BIN)/kwok $(BIN)/kwokctl
KUBE_SCORE := $(BIN)/kube-score
KREW       := $(BIN)/kubectl-krew $(BIN)/validate-krew-manifest
# The control plane, the real node's kubelet and kube-proxy, and the kubectl
# of the same release that the guard's tests drive it with.
CLUSTER    := $(BIN)/kube-apiserver $(BIN)/kube-controller-manager $(BIN)/kube-scheduler $(BIN)/etcd \
              $(BIN)/kubelet $(BIN)/kube-proxy $(BIN)/kubectl

# The CSI sidecars test/csidriver runs with, as a cluster runs them beside its
# storage driver: each a tools/install.sh module step (MODULE@VERSION:CMD,...).
CSI_SIDECARS      := $(BIN)/csi-provisioner $(BIN)/csi-resizer $(BIN)/snapshot-controller $(BIN)/csi-snapshotter
CSI_SIDECAR_STEPS := module:$(CSI_PROVISIONER_MODULE):cmd/csi-provisioner \
                     module:$(CSI_RESIZER_MODULE):cmd/csi-resizer \
                     module:$(CSI_SNAPSHOTTER_MODULE):cmd/snapshot-controller,cmd/csi-snapshotter

# The GitOps controllers the end-to-end tests run against hubkit: Argo CD's
# one binary, Flux's source- and kustomize-controller (tools/pins.mk).
CONTROLLERS      := $(BIN)/argocd $(BIN)/source-controller $(BIN)/kustomize-controller
CONTROLLER_STEPS := module:$(ARGOCD_MODULE):cmd=argocd \
                    module:$(FLUX_SOURCE_MODULE):.=source-controller:$(FLUX_SOURCE_REQUIRES) \
                    module:$(FLUX_KUSTOMIZE_MODULE):.=kustomize-controller

OVERLAYS := $(patsubst overlays/%/kustomization.yaml,%,$(wildcard overlays/*/kustomization.yaml))

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: ## Install every pinned tool into bin/ and the real node's Debian packages (first time on 2 cores, quiet: ~10 min Kubernetes, ~13 min the CSI sidecars, ~1 min local-path-provisioner, ~7 min cosign, ~1.5 min helm; with the machine loaded: kube-router 21 min, Argo CD 8 min, Flux's source-controller 9 min and kustomize-controller 6 min); says what it builds.
	@$(INSTALL) go:kustomize=$(KUSTOMIZE_PKG) go:kube-score=$(KUBE_SCORE_PKG) go:kwok=$(KWOK_PKG) go:kwokctl=$(KWOKCTL_PKG) go:promtool=$(PROMTOOL_PKG) go:cosign=$(COSIGN_PKG) go:helm=$(HELM_PKG) go:kubectl-krew=$(KREW_PKG) go:validate-krew-manifest=$(KREW_VALIDATE_PKG) cluster $(CSI_SIDECAR_STEPS) go:local-path-provisioner=$(LOCAL_PATH_PROVISIONER_PKG) go:kube-router=$(KUBE_ROUTER_PKG) $(CONTROLLER_STEPS) debian

# What the cluster and its real node need; make render, build, image, hydrate,
# score, fuzz and bench's function part need none of it.
E2E_TOOLS := $(KUSTOMIZE) $(KWOK) $(CLUSTER) $(CSI_SIDECARS) $(BIN)/local-path-provisioner $(BIN)/kube-router $(CONTROLLERS) debian-packages

# From Debian: strace shows that the function opens no file and no socket;
# the real node runs containerd and runc, the CNI plugins, iptables (kube-proxy)
# and iproute2 (its bridge), ipset (its NetworkPolicy agent, kube-router); the
# Hub stand-in's image carries busybox-static (a shell and cp, as the Hub's
# image has); test/csidriver's volumes are subvolumes of a loop-mounted btrfs
# (btrfs-progs); Argo CD keeps its cache in Redis (redis-server), and the
# user's fork is served by git's http-backend (git). Installed only when one
# is missing.
export DEBIAN_PACKAGES := strace containerd runc containernetworking-plugins iptables ipset conntrack iproute2 busybox-static btrfs-progs postgresql redis-server git
export DEBIAN_COMMANDS := strace containerd runc /usr/lib/cni/bridge iptables-save ipset conntrack ip /bin/busybox mkfs.btrfs btrfs redis-server git $(firstword $(wildcard /usr/lib/postgresql/*/bin/postgres) /usr/lib/postgresql/15/bin/postgres)

.PHONY: debian-packages
debian-packages:
	@$(INSTALL) debian

.PHONY: build
build: ## Build the singleton function into bin/singleton.
	go build -o $(BIN)/singleton ./plugin

IMAGE_VERSION ?= dev

KREW_VERSION ?= v0.0.0-dev

.PHONY: krew
krew: ## Build kubectl hubkit's release archives (one per platform, reproducible) and its krew manifest into build/krew/.
	go run ./tools/krew -version $(KREW_VERSION) -out $(BUILD)/krew

.PHONY: image
image: ## Build the function's OCI image without Docker: build/image/singleton/ (OCI layout), build/image/singleton.tar, and its SLSA provenance and CycloneDX SBOM (singleton.provenance.json, singleton.cdx.json).
	go run ./tools/image -image singleton -out $(BUILD)/image -version $(IMAGE_VERSION) \
	  -revision "$$(git rev-parse HEAD 2>/dev/null)" -modified=$$(test -z "$$(git status --porcelain 2>/dev/null)" && echo false || echo true)

.PHONY: release-image
release-image: image $(BIN)/cosign ## Sign make image's image with KEY (cosign.key; its password in COSIGN_PASSWORD), offline, in both signature formats, its provenance and SBOM as signed attestations, into build/image/singleton-signed/ (cosign load --dir pushes it), verified with KEY's public key.
	@test -n "$(KEY)" || { echo "usage: make release-image KEY=cosign.key"; exit 2; }
	go run ./tools/release-image -cosign $(BIN)/cosign -key $(KEY) -image $(BUILD)/image/singleton -out $(BUILD)/image/singleton-signed

.PHONY: verify-image
verify-image: $(BIN)/cosign ## Verify IMAGE (a tag, a digest, or the OCI layout release-image or cosign save wrote) before it runs: its signature with KEY (a public key), its SLSA provenance and CycloneDX SBOM, offline (tools/verify-image).
	@test -n "$(IMAGE)" -a -n "$(KEY)" || { echo "usage: make verify-image IMAGE=<image> KEY=<cosign.pub>"; exit 2; }
	go run ./tools/verify-image -cosign $(BIN)/cosign -key $(KEY) $(IMAGE)

KPT_PACKAGE := gitops/kpt/hub
# What tools/fleet writes from fleet/ beside deploy/sites/ (internal/fleet).
FLEET_MADE  := gitops/flux/sites gitops/argocd/fleet/rollout-steps.yaml gitops/argocd/fleet/clusters
HYDRATED    := deploy $(KPT_PACKAGE) $(FLEET_MADE)

.PHONY: hydrate
hydrate: $(KUSTOMIZE) build ## Write the committed renders: deploy/<overlay>/ for Flux (function applied), deploy/guard/, the kpt package's base, and the fleet's: deploy/sites/<site>/, each site cluster's Flux objects, the ApplicationSet's waves, the site clusters' Argo CD labels.
	@for o in $(OVERLAYS); do \
	  mkdir -p deploy/$$o; \
	  $(KUSTOMIZE) build --enable-alpha-plugins --enable-exec overlays/$$o > deploy/$$o/hub.yaml; \
	  echo "overlays/$$o -> deploy/$$o/hub.yaml"; \
	done
	@mkdir -p deploy/guard
	$(KUSTOMIZE) build guard > deploy/guard/guard.yaml
	@rm -f $(KPT_PACKAGE)/*_*.yaml
	$(KUSTOMIZE) build base -o $(KPT_PACKAGE)/
	go run ./tools/fleet

.PHONY: hydrate-check
hydrate-check: hydrate ## Fail when the committed renders are stale (CI runs it).
	@git diff --exit-code -- $(HYDRATED) || { echo "stale: run make hydrate and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(HYDRATED)); \
	  [ -z "$$untracked" ] || { echo "stale: untracked $$untracked; run make hydrate and commit"; exit 1; }

.PHONY: render
render: $(KUSTOMIZE) build ## Render every overlay (function applied, then audited and held to its contract) into build/render/, and the fleet's sites into build/render/fleet/; needs Go alone.
	@mkdir -p $(BUILD)/render
	@go build -o $(BIN)/contract ./tools/contract
	@for o in $(OVERLAYS); do \
	  $(KUSTOMIZE) build --enable-alpha-plugins --enable-exec overlays/$$o > $(BUILD)/render/$$o.yaml; \
	  singleton functions/singleton/audit.yaml $(BUILD)/render/$$o.yaml > /dev/null; \
	  $(BIN)/contract -overlay $$o $(BUILD)/render/$$o.yaml; \
	  for f in overlays/$$o/secrets/*.json; do [ ! -e "$$f" ] || $(BIN)/contract -json "$$f"; done; \
	  echo "overlays/$$o -> build/render/$$o.yaml ($$(grep -c '^kind:' $(BUILD)/render/$$o.yaml) objects, audit and contract passed)"; \
	done
	@go run ./tools/fleet -out $(BUILD)/render/fleet

# kube-score checks that contradict a singleton, off for every overlay:
#   deployment-replicas: one replica is the point; two would corrupt the Hub's state.
#   deployment-strategy: Recreate is required; a rolling update runs two pods on one ReadWriteOnce claim.
# (deployment-has-poddisruptionbudget does not fire for one replica, so it stays on.)
KUBE_SCORE_IGNORE := deployment-replicas deployment-strategy
# ...and for kind only:
#   service-type: kind publishes the Hub on the host through NodePort 31245, as HighByte's kind setup does.
#   container-image-pull-policy: kind runs an image put on the node by `kind load`; no registry has it.
KUBE_SCORE_IGNORE_kind := service-type container-image-pull-policy

.PHONY: score
score: render $(KUBE_SCORE) ## Score every rendered overlay with kube-score; any other warning fails.
	@for o in $(OVERLAYS); do \
	  ignore="$(KUBE_SCORE_IGNORE)"; [ "$$o" = kind ] && ignore="$$ignore $(KUBE_SCORE_IGNORE_kind)"; \
	  out=$$($(KUBE_SCORE) score --output-format ci --exit-one-on-warning $$(printf -- '--ignore-test %s ' $$ignore) $(BUILD)/render/$$o.yaml) \
	    || { echo "$$out" | grep -vE '^\[(OK|SKIPPED)\]'; echo "kube-score: overlays/$$o has the findings above"; exit 1; }; \
	  echo "kube-score: overlays/$$o passes"; \
	done

.PHONY: check
check: $(KUSTOMIZE) $(KUBE_SCORE) $(BIN)/promtool $(BIN)/cosign $(BIN)/helm $(KREW) ## Run everything that needs neither root, nor a cluster, nor Debian's packages: format, vet, the tests (the fuzz targets on their seeds) but HOST_PACKAGES' and HOST_TESTS, kube-score, stale renders.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	KUSTOMIZE=$(KUSTOMIZE) go test -count=1 -shuffle=on -timeout 20m -skip '$(call anchored,$(HOST_TEST_NAMES))' $(CHECK_PACKAGES)
	$(MAKE) --no-print-directory score
	$(MAKE) --no-print-directory hydrate-check

.PHONY: test
test: ## Run everything CI runs: make check, then what needs root, Debian's packages or the real nodes (HOST_PACKAGES, HOST_TESTS), then fuzzing.
	@tools/preflight.sh
	@$(MAKE) --no-print-directory tools
	@$(MAKE) --no-print-directory check
	KUSTOMIZE=$(KUSTOMIZE) go test -count=1 -shuffle=on -timeout 20m -run '$(call anchored,$(HOST_TEST_NAMES))' $(HOST_TEST_PACKAGES)
	KUSTOMIZE=$(KUSTOMIZE) go test -count=1 -shuffle=on -timeout 45m -skip '$(call anchored,$(E2E_BENCH_TESTS))' $(addprefix ./,$(HOST_PACKAGES))
	$(MAKE) --no-print-directory fuzz FUZZTIME=60000x

# What make check leaves to make test, named once: the packages and tests
# that need root, Debian's packages (DEBIAN_PACKAGES) or the e2e cluster.
# make check tests every other package, so a new package is checked unless
# it is named here; make test runs these as root after make tools, and they
# fail, not skip, when what they need is missing.
#   test/e2e        the e2e cluster and its real nodes (root)
#   test/csidriver  a btrfs disk on a loop device, bind mounts (root, btrfs-progs)
#   test/postgres   a real PostgreSQL server (Debian's postgresql)
#   test/images     the stand-in's and the helper pods' images carry Debian's static busybox
HOST_PACKAGES := test/e2e test/csidriver test/postgres test/images
# ...and single tests, as package:Test:
#   the function run under strace in an empty network namespace (root, Debian's strace)
#   the ha-role labeler beside two stand-ins on a real PostgreSQL (Debian's postgresql)
#   the stand-in's HA mode failing over on a real PostgreSQL (Debian's postgresql)
# The end-to-end tests that measure and assert nothing a scenario does not:
# make bench runs them, make test and make e2e skip them.
E2E_BENCH_TESTS := TestFleetAtScale
HOST_TESTS := plugin:TestFunctionReadsNoFilesAndNoNetwork \
              harole:TestTheLabelsFollowTheStandins \
              test/standin:TestHAFailover

empty :=
space := $(empty) $(empty)
# anchored: a -run or -skip pattern that matches exactly the names given.
anchored = ^($(subst $(space),|,$(strip $(1))))$$
HOST_TEST_NAMES    := $(foreach t,$(HOST_TESTS),$(lastword $(subst :, ,$(t))))
HOST_TEST_PACKAGES := $(sort $(foreach t,$(HOST_TESTS),./$(firstword $(subst :, ,$(t)))))
CHECK_PACKAGES      = $(shell go list ./... | grep -vE '/($(subst $(space),|,$(strip $(HOST_PACKAGES))))$$')

# A count of executions, not a duration: Go 1.26 can fail a duration-bounded
# run with a bare "context deadline exceeded" when the time runs out
# (golang/go#75804, fixed in Go 1.27). 60,000 take about 20 s a target here.
FUZZTIME ?= 200000x
FUZZ_TARGETS := plugin/singleton:FuzzProcessor plugin/singleton:FuzzLoadSpec plugin/resourcelist:FuzzStreamKeepsWhatItReads

.PHONY: fuzz
fuzz: ## Fuzz the function's processor, its config loader and its standalone stream, FUZZTIME executions each (make test: 60000x).
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; f=$${t##*:}; \
	  echo "fuzzing $$f for $(FUZZTIME)"; \
	  out=$$(go test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./$$pkg/ 2>&1) \
	    || { echo "$$out"; exit 1; }; echo "$$out" | tail -3; \
	done

.PHONY: e2e
e2e: $(E2E_TOOLS) ## Run only the end-to-end tests, shuffled: a kwok cluster with real nodes (nodes of their own for tests that power one off), PostgreSQL, a NetworkPolicy agent, Argo CD and Flux (or HUBKIT_E2E_KUBECONFIG's).
	go test -count=1 -shuffle=on -timeout 45m -v -skip '$(call anchored,$(E2E_BENCH_TESTS))' ./test/e2e/

.PHONY: bench
bench: bench-function bench-fleet bench-recovery ## Measure the function against its floors and peers, the fleet's renderer at 1,000 sites, then crash recovery, the storage drills, HA failover and the GitOps controllers on the real nodes (docs/benchmarks.md, .png).

.PHONY: bench-fleet
bench-fleet: build $(KUSTOMIZE) ## The fleet part of make bench: 1,000 generated sites rendered by tools/fleet, and by one kustomize build each (no cluster).
	go run ./bench/fleet -sites 1000

.PHONY: bench-function
bench-function: build $(KUSTOMIZE) $(KUBE_SCORE) ## The function part of make bench: no cluster.
	go run ./bench/run -sizes 100,1000,10000,50000 -runs 5

.PHONY: bench-recovery
bench-recovery: $(E2E_TOOLS) ## The recovery, storage-drill and GitOps part of make bench: the e2e cluster and its real node (TestHub* includes the Argo CD and Flux stories; TestFleetAtScale, the ApplicationSet controller on 1,000 sites).
	@rm -f $(BUILD)/e2e/*.txt
	go test -count=1 -timeout 45m -run 'TestHub|TestRealNode|TestProdOnTheRealNode|TestHAPairOnTwoRealNodes|$(call anchored,$(E2E_BENCH_TESTS))' ./test/e2e/ -args -figures > /dev/null
	@cat $(BUILD)/e2e/*.txt

# The Hub's image, as base/kustomization.yaml names it.
HUB_IMAGE = $(shell awk '/newName:/ {n = $$2} /newTag:/ {t = $$2} END {print n ":" t}' base/kustomization.yaml)

.PHONY: kind-up
kind-up: $(KUSTOMIZE) build $(KIND) ## Create the kind cluster, load the Hub image and the restore-point init container's, apply overlays/kind (needs Docker).
	$(KIND) create cluster --config overlays/kind/kind-config.yaml
	$(KIND) load docker-image $(HUB_IMAGE) --name hubkit
	go run ./tools/image -image restore-point -out $(BUILD)/image -version dev
	$(KIND) load image-archive $(BUILD)/image/restore-point.tar --name hubkit
	$(KUSTOMIZE) build --enable-alpha-plugins --enable-exec overlays/kind | kubectl apply -f -

.PHONY: kind-down
kind-down: $(KIND) ## Delete the kind cluster.
	$(KIND) delete cluster --name hubkit

.PHONY: clean
clean: ## Remove build output (bin/ and the tools cache are kept).
	rm -rf $(BUILD)

# Each tool's link in bin/, installed by tools/install.sh from its pin.
$(KUSTOMIZE): tools/pins.mk
	@$(INSTALL) go:kustomize=$(KUSTOMIZE_PKG)

$(KUBE_SCORE): tools/pins.mk
	@$(INSTALL) go:kube-score=$(KUBE_SCORE_PKG)

$(BIN)/kwok: tools/pins.mk
	@$(INSTALL) go:kwok=$(KWOK_PKG)

$(BIN)/kwokctl: tools/pins.mk
	@$(INSTALL) go:kwokctl=$(KWOKCTL_PKG)

$(BIN)/promtool: tools/pins.mk
	@$(INSTALL) go:promtool=$(PROMTOOL_PKG)

$(BIN)/cosign: tools/pins.mk
	@$(INSTALL) go:cosign=$(COSIGN_PKG)

$(BIN)/helm: tools/pins.mk
	@$(INSTALL) go:helm=$(HELM_PKG)

$(BIN)/kubectl-krew: tools/pins.mk
	@$(INSTALL) go:kubectl-krew=$(KREW_PKG)

$(BIN)/validate-krew-manifest: tools/pins.mk
	@$(INSTALL) go:validate-krew-manifest=$(KREW_VALIDATE_PKG)

$(BIN)/csi-provisioner: tools/pins.mk
	@$(INSTALL) module:$(CSI_PROVISIONER_MODULE):cmd/csi-provisioner

$(BIN)/local-path-provisioner: tools/pins.mk
	@$(INSTALL) go:local-path-provisioner=$(LOCAL_PATH_PROVISIONER_PKG)

$(BIN)/kube-router: tools/pins.mk
	@$(INSTALL) go:kube-router=$(KUBE_ROUTER_PKG)

$(BIN)/csi-resizer: tools/pins.mk
	@$(INSTALL) module:$(CSI_RESIZER_MODULE):cmd/csi-resizer

$(BIN)/snapshot-controller $(BIN)/csi-snapshotter &: tools/pins.mk
	@$(INSTALL) module:$(CSI_SNAPSHOTTER_MODULE):cmd/snapshot-controller,cmd/csi-snapshotter

$(CONTROLLERS) &: tools/pins.mk
	@$(INSTALL) $(CONTROLLER_STEPS)

$(KIND): go.mod
	@$(INSTALL) go:kind=sigs.k8s.io/kind@$(KIND_VERSION)

# The control plane, built from k8s.io/kubernetes with each staging module
# replaced by its published version (tools/cluster/go.mod), stamped with its
# version (clients refuse v0.0.0-master), and etcd at the version Kubernetes pins.
export K8S_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(K8S_MINOR)

$(CLUSTER) &: tools/cluster/go.mod tools/cluster/go.sum tools/cluster/etcd/main.go
	@$(INSTALL) cluster
