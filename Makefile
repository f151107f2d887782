# kube-netbench. Two commands on a fresh machine (root, Linux):
#   make bench   run the benchmark suite (on the embedded lab unless KUBECONFIG names a cluster), results in results/
#   make test    run the unit tests and the lab's end-to-end tests (kube-proxy iptables and nftables, Cilium overlay)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
RESULTS ?= $(CURDIR)/results
export LAB_DIR ?= $(CURDIR)/.lab
# The lab's component cache (scripts/lab-build.sh and the lab agree on it); /var/cache when HOME is unset.
export NETBENCH_CACHE ?= $(if $(HOME),$(HOME)/.cache/kube-netbench,/var/cache/kube-netbench)
# Lab teardown keeps the lab's logs under $(RESULTS)/lab-logs.
export RESULTS_DIR ?= $(RESULTS)
GOTESTSUM := $(GO) tool gotestsum
# The lab's end-to-end suites can take minutes (kube-proxy programming on 2 cores).
E2E_TIMEOUT ?= 30m

.PHONY: all deps lab-bins lab-bins-cilium lab-images lab-images-cilium build vet lint-workflows cross unit fuzz lab-tests interrupts faults e2e report test bench study compare lab-up lab-down lab-status clean

all: build

# Debian packages the lab needs (iproute2, iptables, nftables, conntrack, iperf3, util-linux, ...).
deps:
	scripts/install-deps.sh

# Kubernetes v1.37.2 components (kubelet included), containerd, runc, etcd, kwok, fortio and CNI plugins,
# built from the Go module proxy into $${NETBENCH_CACHE:-$$HOME/.cache/kube-netbench}, keyed by version
# (seconds when warm; runc's build needs libseccomp-dev from `make deps`).
lab-bins:
	scripts/lab-build.sh

# The Cilium dataplanes' part (LAB_DATAPLANE=cilium-overlay|cilium-native): cilium-agent, cilium-dbg,
# cilium-cni v1.19.4 with its bpf/ sources and CRDs (about 6 min cold on 2 cores); the agent's image
# (lab-images-cilium) brings the clang, llc and bpftool it runs.
lab-bins-cilium:
	scripts/lab-build.sh cilium

# The images the nodes import (no registry): scripts/lab-images.sh stages the roots made from
# Debian packages (about 4 min cold, needs debootstrap), then builds the OCI archives and the index
# the lab reads into $${NETBENCH_CACHE}/images with scripts/labbuild/images (seconds; only what
# changed).
lab-images: deps lab-bins
	scripts/lab-images.sh

# Cilium's image too (its runtime root: about 3 min cold, 360 MB with clang and llc).
lab-images-cilium: lab-bins-cilium lab-images
	scripts/lab-images.sh cilium-runtime

build:
	$(GO) build -o bin/netbench ./cmd/netbench

# The image builder is a Go module of its own, outside any workspace.
IMAGES_MOD := GOWORK=off $(GO)
IMAGES_DIR := -C scripts/labbuild/images -mod=readonly

vet: lint-workflows
	$(GO) vet ./...
	$(GO) test -c -o /dev/null ./e2e
	$(IMAGES_MOD) vet $(IMAGES_DIR) ./...

# The GitHub Actions workflows, linted by actionlint (pinned in go.mod). Its shellcheck and pyflakes
# passes run only when those programs are on PATH, so they are off: the verdict is the same on every
# machine. ACTIONLINT_FLAGS= turns them back on where they are installed.
ACTIONLINT_FLAGS ?= -shellcheck= -pyflakes=
lint-workflows:
	$(GO) tool actionlint $(ACTIONLINT_FLAGS) .github/workflows/*.yaml

# The suite and the CLI build wherever users run them against their clusters (laptops included);
# the lab is Linux-only, behind build tags, never imported elsewhere.
CROSS ?= darwin/arm64 darwin/amd64 windows/amd64 linux/arm64
cross:
	for t in $(CROSS); do \
	  GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./... && \
	  GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) test -c -o /dev/null ./e2e && \
	  GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/netbench || exit 1; \
	done

# Tests that need no lab, in parallel, under the race detector (the per-node reads run
# concurrently; a test fake that records without a lock once crashed CI).
unit: vet
	mkdir -p $(RESULTS)
	$(GOTESTSUM) --junitfile $(RESULTS)/junit-unit.xml -- -count=1 -race \
	  $$($(GO) list ./... | grep -v -e '/e2e$$' -e '/internal/lab')
	$(IMAGES_MOD) test $(IMAGES_DIR) -count=1 -short ./...

# Every parser of outside input has a fuzz target (func FuzzXxx in a _test.go; found by grep, so
# a new one is fuzzed without being listed, and no test binary is built just to list them), fuzzed
# for FUZZTIME each, one after the other. A panic, a hang or an accepted result that is not sane
# fails, and Go keeps the input in the package's testdata/fuzz/FuzzXxx/ (commit it: it becomes a
# seed). Go minimizes every input that finds new coverage for up to 60 s by default; in a run of
# a few seconds both workers then minimize instead of fuzzing (a target with large captured seeds,
# such as FuzzCilium, ran 11 inputs in 5 s), so FUZZMINIMIZE bounds it to 100 runs per input
# (5,000 inputs in 5 s); a failing input is then less minimized (fuzz that target again with
# FUZZMINIMIZE=60s for a smaller one). Measured on 2026-12-06 on the 2-core build VM, warm build
# cache, no lab running, 5 s each: 17 targets, 123 s, the least fuzzed running 4,100 inputs
# (with Go's default minimization 143 s, the least fuzzed 6 inputs; 9 targets: 72 s). A cold cache
# added about 4.5 min (the fuzz-instrumented standard library is compiled first). CI fuzzes 5 s
# each; longer: make fuzz FUZZTIME=1m.
# Go 1.26's fuzzing coordinator can end a run with a bare "context deadline exceeded" and no
# failing input (golang/go#75804, fixed in Go 1.27): such a run is repeated once; a run that saves
# an input, or fails twice, fails.
FUZZTIME ?= 5s
FUZZMINIMIZE ?= 100x
FUZZLOG ?= /tmp/netbench-fuzz.log
fuzz:
	grep -rl --include='*_test.go' '^func Fuzz' internal cmd | sort | while read -r f; do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
	    echo "fuzz ./$${f%/*} $$t ($(FUZZTIME))"; \
	    for try in 1 2; do \
	      corpus="$${f%/*}/testdata/fuzz/$$t"; before=$$(find "$$corpus" -type f 2>/dev/null | wc -l || true); status=0; \
	      $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) "./$${f%/*}" 2>&1 | tee $(FUZZLOG) || status=$$?; \
	      [[ $$status == 0 ]] && break; \
	      if [[ $$try == 1 && $$(find "$$corpus" -type f 2>/dev/null | wc -l || true) == $$before ]] && grep -q 'context deadline exceeded' $(FUZZLOG); then \
	        echo "fuzz $$t: the coordinator's deadline error with no failing input (golang/go#75804): once more"; continue; fi; \
	      exit 1; \
	    done; \
	  done; \
	done

# The lab's own tests create network namespaces, containers and whole labs:
# one package at a time (only one lab can exist on a machine).
# TestInterruptAtEveryPoint interrupts the suite (SIGINT or SIGTERM) at each point of a run and
# checks that nothing is left; here four of its points (about 3 min), all of them with
# `make interrupts` (about 10 min on kube-proxy iptables).
INTERRUPT_POINTS ?= workload pods starting|dummy Service creation|fortio run|teardown
# TestFaultDuringMeasurement injects faults in the middle of an RPS round (3 rounds of 5 s); here
# one of them (about 4 min with its lab: CI's time is counted), all of them with `make faults`.
FAULTS ?= kube-proxy killed
lab-tests: deps lab-bins lab-images
	mkdir -p $(RESULTS)
	INTERRUPT_POINTS='$(INTERRUPT_POINTS)' FAULTS='$(FAULTS)' $(GOTESTSUM) --junitfile $(RESULTS)/junit-lab.xml -- -count=1 -p 1 -timeout 60m ./internal/lab/...
	$(IMAGES_MOD) test $(IMAGES_DIR) -count=1 ./...

# Every interrupt point, on a kube-proxy lab and on a Cilium one (Hubble's rollout and the raised
# LB map need Cilium).
INTERRUPT_DATAPLANES ?= iptables cilium-overlay
interrupts: deps lab-bins lab-bins-cilium lab-images-cilium
	mkdir -p $(RESULTS)
	for dp in $(INTERRUPT_DATAPLANES); do \
	  env KUBECONFIG= LAB_DATAPLANE=$$dp INTERRUPT_POINTS= $(GOTESTSUM) --junitfile $(RESULTS)/junit-interrupts-$$dp.xml -- \
	    -count=1 -timeout 60m -run 'TestInterruptAtEveryPoint|TestSuiteRemovesItsLab|TestInterruptDuringUp' ./internal/lab || exit 1; \
	done

# Every fault of TestFaultDuringMeasurement (the server pod deleted, kube-proxy or cilium-agent
# killed, the apiserver or the client node's kubelet stopped for 20 s, the client node's conntrack
# table full), on a kube-proxy lab and on a Cilium one (each agent's kill needs its dataplane).
FAULT_DATAPLANES ?= iptables cilium-overlay
faults: deps lab-bins lab-bins-cilium lab-images-cilium
	mkdir -p $(RESULTS)
	for dp in $(FAULT_DATAPLANES); do \
	  env KUBECONFIG= LAB_DATAPLANE=$$dp FAULTS= $(GOTESTSUM) --junitfile $(RESULTS)/junit-faults-$$dp.xml -- \
	    -count=1 -timeout 60m -run TestFaultDuringMeasurement ./internal/lab || exit 1; \
	done

# The suite's smoke and lab features, and every benchmark dimension at CI size, on a fresh lab per
# dataplane (each run checks for leftovers first and removes its lab). CI size: 2 rounds of 2 s
# runs, ServiceScale with one step of 1,000 Services (verdicts are "inconclusive": 6 rounds are
# needed for an interval, and each short-connection round waits ~60 s for TIME_WAIT to drain);
# the full benchmark runs with `make bench`.
E2E_TESTS ?= TestDataplaneSmoke|TestLabPods|TestServiceScale|TestThroughput|TestRPS|TestLatency|TestHubble|TestNetworkPolicy|TestResources|TestRegressionGate
E2E_ENV ?= SVC_SCALE_STEPS=1000 ROUNDS=2 FORTIO_DURATION=2s IPERF_DURATION=2s
# kube-proxy iptables and nftables, and Cilium (VXLAN overlay, kube-proxy replacement), each on a
# fresh lab. The nodes are real (kubelet, containerd, runc) running the images lab-images builds.
# Features that cannot apply are not started (e2e-framework labels): Hubble (dataplane=cilium) on
# the kube-proxy labs. NetworkPolicy runs on the iptables lab to show it says why it skips (the ptp
# plugin enforces no policy); the nftables lab would only repeat that.
E2E_DATAPLANES ?= iptables nftables cilium-overlay
# On the first dataplane only: ServiceScale's creation-rate comparison with the seed script's method
# measures the apiserver, not the dataplane (2 x 1,000 Services at CI size, about 2 min), and its
# drift check (the baseline again after deleting the dummies, about 2 min) proves the same code on
# every dataplane; `make bench` runs both everywhere.
E2E_ONCE ?= creation.rate.side.by.side|drift.check
# The regression gate's end-to-end test (A/A, an injected regression, an incomparable pair; about
# 3 min) runs on the first dataplane only.
E2E_ONCE_TESTS ?= TestRegressionGate
# nftables runs what depends on the dataplane's own programming (detection, ServiceScale's
# per-node programming check and its runs through nft-programmed Services); RPS, Throughput,
# Latency and Resources run the same code as on iptables and would add ~6 min to CI's hour:
# `make bench` runs them everywhere.
E2E_SKIP_nftables ?= TestNetworkPolicy|TestRPS|TestThroughput|TestLatency|TestResources
e2e: deps lab-bins lab-bins-cilium lab-images-cilium
	mkdir -p $(RESULTS)
	for dp in $(E2E_DATAPLANES); do \
	  args=(); skiptests='^$$'; \
	  if [[ $$dp != "$(firstword $(E2E_DATAPLANES))" ]]; then \
	    args+=(--skip-assessment '$(E2E_ONCE)'); skiptests='$(E2E_ONCE_TESTS)'; \
	  fi; \
	  [[ $$dp == cilium-* ]] || args+=(--skip-labels dataplane=cilium); \
	  [[ $$dp == nftables ]] && skiptests+='|$(E2E_SKIP_nftables)'; \
	  env KUBECONFIG= LAB_DATAPLANE=$$dp RESULTS_DIR=$(RESULTS)/ci-$$dp $(E2E_ENV) \
	    $(GOTESTSUM) --junitfile $(RESULTS)/junit-e2e-$$dp.xml -- \
	    -count=1 -timeout $(E2E_TIMEOUT) -run '$(E2E_TESTS)' -skip "$$skiptests" ./e2e -args "$${args[@]}" || exit 1; \
	done

# The CI runs side by side (one run directory per dataplane under $(RESULTS)/ci-*): report.md and
# PNG plots in $(RESULTS)/report.
REPORT_RUNS ?= $(RESULTS)/ci-*/nb-*
report: build
	bin/netbench report -o $(RESULTS)/report $(REPORT_RUNS)

test: deps lab-bins cross unit fuzz lab-tests e2e report

# The whole suite. On the lab (no KUBECONFIG) once per dataplane, side by side on this machine.
BENCH_DATAPLANES ?= iptables nftables cilium-overlay cilium-native
bench: deps lab-bins lab-bins-cilium lab-images-cilium
	mkdir -p $(RESULTS)
	if [ -n "$${KUBECONFIG:-}" ]; then \
	  $(GOTESTSUM) --junitfile $(RESULTS)/junit-bench.xml -- -count=1 -timeout 180m ./e2e; \
	else \
	  for dp in $(BENCH_DATAPLANES); do \
	    LAB_DATAPLANE=$$dp $(GOTESTSUM) --junitfile $(RESULTS)/junit-bench-$$dp.xml -- \
	      -count=1 -timeout 180m ./e2e || exit 1; \
	  done; \
	fi

# The dataplanes' ServiceScale curves side by side, one table per connection mode (benchstat is
# pinned in go.mod with the x/perf the writers use). Any two runs: go tool benchstat old new.
COMPARE ?= $(wildcard $(RESULTS)/*/servicescale.bench.txt $(RESULTS)/*/*/servicescale.bench.txt)
compare:
	$(GO) tool benchstat -table /conn -ignore .config -row /svc -col /dataplane $(COMPARE)

# The study's central result (issue 14; docs/results/): ServiceScale from 0 to 30,000 Services on each
# dataplane, one lab at a time, all with one suite binary. The binary is built with -trimpath, so the same
# commit and Go toolchain give the same file anywhere (its sha256 is in every result's fingerprint as
# suite-binary): a study spread over days checks it measured with one build. Per dataplane on 2 cores:
# 1-2 h (creating 30,000 Services is O(n^2) on kube-apiserver's ClusterIP allocator, and each round waits
# for TIME_WAIT to drain). STUDY_BIN=<path> runs that binary if it exists instead of building one.
STUDY_DIR ?= $(RESULTS)/study
STUDY_BIN ?= $(STUDY_DIR)/e2e.test
STUDY_DATAPLANES ?= iptables nftables cilium-overlay cilium-native
STUDY_ENV ?= SVC_SCALE_STEPS=5000,10000,20000,30000 SVC_ENDPOINTS=4 ROUNDS=6 AUTO_FIX_LB_MAP=true
study: deps lab-bins lab-bins-cilium lab-images-cilium build
	mkdir -p $(STUDY_DIR)
	[[ -x $(STUDY_BIN) ]] || $(GO) test -c -trimpath -o $(STUDY_BIN) ./e2e
	sha256sum $(STUDY_BIN)
	for dp in $(STUDY_DATAPLANES); do \
	  args=(--skip-assessment creation.rate.side.by.side); \
	  [[ $$dp == cilium-* ]] || args+=(--skip-labels dataplane=cilium); \
	  (cd e2e && env KUBECONFIG= LAB_DATAPLANE=$$dp RESULTS_DIR=$(STUDY_DIR)/$$dp $(STUDY_ENV) \
	    $(abspath $(STUDY_BIN)) -test.count=1 -test.timeout 240m -test.run TestServiceScale -test.v "$${args[@]}") || exit 1; \
	done
	bin/netbench report -o $(STUDY_DIR)/report $(STUDY_DIR)/*/nb-*

lab-up: deps lab-bins lab-images build
	bin/netbench lab up

lab-down: build
	bin/netbench lab down

lab-status: build
	bin/netbench lab status

clean:
	rm -rf bin results
