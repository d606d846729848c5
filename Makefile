# Autograd: `make run` trains the demo, `make test` runs the test suite.
# Both install what they need first (Debian/Ubuntu packages, via apt-get).

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev libomp-dev graphviz
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build run test bench bench-check bench-thresholds clean

all: build

# Installs the C libraries the kernels link (OpenBLAS, LAPACKE, LLVM's OpenMP
# runtime) and Graphviz (`autograd graph --out x.svg`) when any is missing.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build -c release --product autograd

run: build
	.build/release/autograd train

# The whole suite, then the gradient checks again on the portable (non-SIMD) kernels.
test: deps
	$(SWIFT) test
	AUTOGRAD_PORTABLE=1 $(SWIFT) test --skip-build --filter GradcheckSuite

# Every benchmark workload, release build, table output (`autograd bench --json` for JSON lines).
bench: build
	.build/release/autograd bench

# The regression suite on ordo-one/benchmark (its own package in Benchmarks/):
# heap allocations and wall clock of a few workloads against the static
# thresholds in Benchmarks/Thresholds/. Fails on a regression (exit 2) and on
# an improvement (exit 4: record it with `make bench-thresholds`).
bench-check: deps
	cd Benchmarks && $(SWIFT) package benchmark thresholds check --no-progress

bench-thresholds: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark thresholds update --no-progress

clean:
	rm -rf .build Benchmarks/.build
