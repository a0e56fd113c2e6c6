# pivotcheck — see README.md. Caches (envtest binaries, tools) live outside the
# repo in $(CACHE) so clean clones and CI reuse them.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
CACHE ?= $(or $(PIVOTCHECK_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pivotcheck)
export PIVOTCHECK_CACHE := $(CACHE)
export GONOSUMDB := github.com/metal3-io/cluster-api-provider-metal3,github.com/metal3-io/ip-address-manager
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/pivotcheck/pivotcheck/internal/version.Version=$(VERSION)
# The e2e package deploys its hosts through a real Ironic: the longest package,
# and slow on a loaded machine. Three packages at once (-p 3) on two cores: the
# lab suites spend much of their time waiting on controllers, and with two at
# once the run used only 141-155 % of the two cores.
GO_TEST_FLAGS ?= -count=1 -timeout 75m -p 3
BENCH ?= .
BENCHTIME ?= 1x
# The move benchmarks at 1,000 and 2,000 hosts take 20-60 min each on 2 cores.
BENCH_TIMEOUT ?= 4h

.PHONY: all build release test test-unit test-lab lint bench bench-report envtest tools lab clean help demo

all: build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build bin/pivotcheck (static, trimmed)
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/pivotcheck ./cmd/pivotcheck

release: ## static binaries for linux/darwin x amd64/arm64, krew archives, SHA256SUMS and the krew manifest in dist/
	VERSION='$(VERSION)' OUT=dist hack/release.sh

envtest: ## build kube-apiserver + etcd from the Go module proxy (cached)
	@hack/envtest.sh

tools: ## install kustomize and clusterctl, and build kubectl when none is on PATH (cached)
	@hack/tools.sh

lab: envtest ## build the lab's controllers from the Go module proxy (cached): kube-controller-manager, kube-scheduler, kwok, BMO, CAPM3, IPAM; install Ironic + sushy-tools from PyPI
	@hack/lab.sh

# A failing $$(...) inside an assignment does not stop a recipe: resolve the
# folders first so a broken cache fails here, not as a confusing test error.
WITH_ENV = assets=$$(hack/envtest.sh) && bin=$$(hack/tools.sh) && labbin=$$(hack/lab.sh) && KUBEBUILDER_ASSETS="$$assets" PIVOTCHECK_LAB_BIN="$$labbin" PATH="$$bin:$$PATH"

demo: envtest tools lab build ## the whole story on two local API servers, each with its own real Ironic, and emulated BMCs
	$(WITH_ENV) go run ./hack/demo -repo . -pivotcheck bin/pivotcheck

# The longest packages first: go test starts packages in the order given,
# as many at once as there are cores, so a long lab suite that starts last
# would leave one core idle at the end.
TEST_PKGS ?= ./test/e2e ./pivotcheck/move ./hack/demo ./test/e2e/ironic ./webhook ./internal/test/lab ./internal/test/scenario ./cmd/pivotcheck ./...

test: envtest tools lab ## unit + integration tests against real API servers
	$(WITH_ENV) go test $(GO_TEST_FLAGS) $(TEST_PKGS)

test-lab: envtest tools lab ## only the tests that run the lab's real controllers
	$(WITH_ENV) go test $(GO_TEST_FLAGS) ./test/e2e/... ./internal/test/lab/... ./hack/demo/...
	$(WITH_ENV) go test $(GO_TEST_FLAGS) -run 'TestLab' ./internal/test/fixture/...

test-unit: ## fast unit tests only (no API servers, no tools)
	go test -short -count=1 ./...

lint: ## golangci-lint (pinned, config .golangci.yml) + shellcheck on the scripts
	@gcl=$$(hack/lint-tools.sh) && "$$gcl" run ./...
	@command -v shellcheck >/dev/null || { echo 'make lint: shellcheck is not on PATH: apt-get install shellcheck (.ci/run does)' >&2; exit 1; }
	shellcheck hack/*.sh .ci/run

bench: envtest tools lab ## benchmarks, one sample each (make bench-report gives the figures)
	$(WITH_ENV) go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem -timeout $(BENCH_TIMEOUT) ./...

# Every row's samples in one run: 1 h 7 min to 1 h 14 min on 2 quiet cores, measured (the
# 1,000-host move pairs 17–19 min, five make demo 14 min, five pairs of each
# 100-machine move 8–9 min). ROWS=fn-ratio,move runs some rows (-list).
bench-report: envtest tools lab ## the benchmarks behind every performance figure, into docs/performance.md (≈ 1¼ h; ROWS=a,b for some)
	$(WITH_ENV) go run ./hack/benchreport -out docs/performance.md $(if $(ROWS),-rows '$(ROWS)')

clean: ## remove build output (the cache in $(CACHE) is kept; rm -rf it by hand)
	rm -rf bin dist
