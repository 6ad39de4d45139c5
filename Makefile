# hubkit: run one stateful, single-instance app on Kubernetes, durably.
# `make help` lists the targets. Tools are pinned here and installed into bin/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN   := $(CURDIR)/bin
BUILD := $(CURDIR)/build

# Overlays name the singleton function bare, as GitOps images need: bin/ first.
export PATH := $(BIN):$(PATH)

## Pinned tools (one place).
KUSTOMIZE_VERSION ?= v5.8.2
KIND_VERSION      ?= v0.30.0

KUSTOMIZE := $(BIN)/kustomize
KIND      := $(BIN)/kind

OVERLAYS := $(patsubst overlays/%/kustomization.yaml,%,$(wildcard overlays/*/kustomization.yaml))

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: $(KUSTOMIZE) ## Install the pinned tools into bin/.

.PHONY: build
build: ## Build the singleton function into bin/singleton.
	go build -o $(BIN)/singleton ./plugin

.PHONY: render
render: tools build ## Render every overlay (function applied, then audited) into build/render/.
	@mkdir -p $(BUILD)/render
	@for o in $(OVERLAYS); do \
	  $(KUSTOMIZE) build --enable-alpha-plugins --enable-exec overlays/$$o > $(BUILD)/render/$$o.yaml; \
	  singleton functions/singleton/audit.yaml $(BUILD)/render/$$o.yaml > /dev/null; \
	  echo "overlays/$$o -> build/render/$$o.yaml ($$(grep -c '^kind:' $(BUILD)/render/$$o.yaml) objects, audit passed)"; \
	done

.PHONY: test
test: tools ## Run everything CI runs: format, vet and all tests.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	KUSTOMIZE=$(KUSTOMIZE) go test -count=1 ./...

.PHONY: kind-up
kind-up: tools build $(KIND) ## Create the kind cluster, load the Hub image, apply overlays/kind (needs Docker).
	$(KIND) create cluster --config overlays/kind/kind-config.yaml
	$(KIND) load docker-image docker.io/library/highbyte:4.3.3 --name hubkit
	$(KUSTOMIZE) build --enable-alpha-plugins --enable-exec overlays/kind | kubectl apply -f -

.PHONY: kind-down
kind-down: $(KIND) ## Delete the kind cluster.
	$(KIND) delete cluster --name hubkit

.PHONY: clean
clean: ## Remove build output (bin/ is kept: it is the tool cache).
	rm -rf $(BUILD)

$(KUSTOMIZE): Makefile
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

$(KIND): Makefile
	$(call go-install-tool,$(KIND),sigs.k8s.io/kind,$(KIND_VERSION))

# go-install-tool installs package $(2) at version $(3) as $(1)-$(3) and links
# $(1) to it, so that changing a pin installs the new version and nothing else.
define go-install-tool
@[ -f "$(1)-$(3)" ] || { echo "installing $(2)@$(3)"; GOBIN=$(BIN) go install $(2)@$(3); mv "$(1)" "$(1)-$(3)"; }
@ln -sf "$(notdir $(1))-$(3)" "$(1)"; touch -h "$(1)"
endef
