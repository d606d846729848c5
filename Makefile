# Autograd: `make run` trains the demo, `make test` runs the test suite.
# Both install what they need first (Debian/Ubuntu packages, via apt-get).

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev libomp-dev graphviz zlib1g-dev
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build run fashion test test-asan test-ubsan test-tsan fuzz test-consumer bench bench-check bench-thresholds clean

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

# The Fashion-MNIST recipe the README reports: Debian's dataset-fashion-mnist
# (installed here if missing), a 4-convolution network, about 8 minutes on 2 cores.
FASHION_RECIPE := --model cnn:16,16,32,32 --dataset fashion-mnist --epochs 10 --batch-size 128 --lr 0.003 --out fashion
fashion: build
	@dpkg-query -W -f='$${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "install ok installed" || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends dataset-fashion-mnist; }
	.build/release/autograd train $(FASHION_RECIPE)

# The whole suite at the CPU's highest ISA level, then the kernel tests and
# the gradient checks again at each lower level (AUTOGRAD_ISA), saying which
# level this CPU cannot run.
KERNEL_SUITES := GradcheckSuite|KernelTests|PackedGemmTests|SmallGemmTests|VectorMathTests|ConvolutionTests|PoolingTests
CPU_FLAGS = $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
HAS_AVX2 = $(and $(findstring avx2,$(CPU_FLAGS)),$(findstring fma,$(CPU_FLAGS)))
HAS_AVX512 = $(and $(HAS_AVX2),$(findstring avx512f,$(CPU_FLAGS)),$(findstring avx512vl,$(CPU_FLAGS)),$(findstring avx512bw,$(CPU_FLAGS)),$(findstring avx512dq,$(CPU_FLAGS)))
test: deps
	$(SWIFT) test
ifneq ($(HAS_AVX512),)
	@echo "make test: the suite ran at AVX-512; kernel tests and gradient checks again at AVX2 and portable"
	AUTOGRAD_ISA=avx2 $(SWIFT) test --skip-build --filter "$(KERNEL_SUITES)"
else ifneq ($(HAS_AVX2),)
	@echo "make test: the suite ran at AVX2; AVX-512 skipped (this CPU lacks it); kernel tests and gradient checks again at portable"
else
	@echo "make test: the suite ran at the portable level; AVX2 and AVX-512 skipped (this CPU lacks them)"
endif
	AUTOGRAD_ISA=portable $(SWIFT) test --skip-build --filter "$(KERNEL_SUITES)"

# The sanitizer builds live in their own build folders. SWIFT_BACKTRACE=enable=no
# keeps the toolchain's backtracer from holding the test's output pipe after a
# sanitizer report; a report fails the run.
SANITIZER_ENV := SWIFT_BACKTRACE=enable=no

# The whole suite under AddressSanitizer (with LeakSanitizer). The
# suppressions name leaks of the Swift runtime libraries, one reason per line.
test-asan: deps
	$(SANITIZER_ENV) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/Sanitizers/lsan.supp \
	$(SWIFT) test --sanitize=address --scratch-path .build-asan

# UndefinedBehaviorSanitizer on the C kernels (Swift's driver has no
# -sanitize=undefined on Linux: clang instruments the C target and the
# runtime is linked from the toolchain's clang). Any report aborts the test.
UBSAN_RUNTIME_DIR = $(shell dirname $$(clang -print-file-name=libclang_rt.ubsan_standalone-x86_64.so))
UBSAN_FLAGS = -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
	-Xlinker -L$(UBSAN_RUNTIME_DIR) -Xlinker -lclang_rt.ubsan_standalone-x86_64 \
	-Xlinker -rpath -Xlinker $(UBSAN_RUNTIME_DIR)
test-ubsan: deps
	$(SANITIZER_ENV) UBSAN_OPTIONS=print_stacktrace=1 $(SWIFT) test --scratch-path .build-ubsan $(UBSAN_FLAGS)
	$(SANITIZER_ENV) UBSAN_OPTIONS=print_stacktrace=1 AUTOGRAD_PORTABLE=1 \
	$(SWIFT) test --skip-build --scratch-path .build-ubsan --filter GradcheckSuite $(UBSAN_FLAGS)

# The whole suite under ThreadSanitizer, including two models training on two
# threads at once (ThreadSafetyTests). LLVM's OpenMP runtime is not
# instrumented: its Archer tool (from libomp-dev) tells TSan about the
# runtime's synchronization, so work handed to the kernel threads is not
# reported as a race. No race is suppressed.
ARCHER = $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))
test-tsan: deps
	$(SANITIZER_ENV) OMP_TOOL_LIBRARIES=$(ARCHER) TSAN_OPTIONS=ignore_noninstrumented_modules=1 \
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan

# libFuzzer on every reader of untrusted bytes (Fuzz/, a package of its own):
# safetensors, NPY, IDX, CSV, and eval's checkpoint-to-model path. Each runs
# FUZZ_SECONDS from the checked-in seeds (Fuzz/Corpus/<name>); inputs it finds
# go to .build-fuzz/corpus, a crash to .build-fuzz/artifacts with the command
# that replays it. No input of up to 4 KB may allocate more than 64 MB. The
# safetensors-based targets get a dictionary of header and metadata tokens.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := SafeTensors:safetensors NPY:npy IDX:idx CSV:csv Checkpoint:checkpoint
fuzz: deps
	cd Fuzz && $(SWIFT) build --sanitize=fuzzer --sanitize=address --scratch-path ../.build-fuzz
	@mkdir -p .build-fuzz/artifacts
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; seeds=$${t##*:}; \
		mkdir -p .build-fuzz/corpus/$$seeds; \
		case $$seeds in safetensors|checkpoint) dict=-dict=Fuzz/safetensors.dict;; *) dict=;; esac; \
		echo "fuzzing $$seeds for $(FUZZ_SECONDS) s"; \
		$(SANITIZER_ENV) .build-fuzz/debug/Fuzz$$name -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-malloc_limit_mb=64 -max_len=4096 $$dict -print_final_stats=1 \
			-artifact_prefix=.build-fuzz/artifacts/$$seeds- .build-fuzz/corpus/$$seeds Fuzz/Corpus/$$seeds \
			> .build-fuzz/$$seeds.log 2>&1 \
		|| { tail -40 .build-fuzz/$$seeds.log; \
		     echo "fuzz: $$seeds failed; replay with .build-fuzz/debug/Fuzz$$name .build-fuzz/artifacts/$$seeds-*"; exit 1; }; \
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb" .build-fuzz/$$seeds.log | tr '\n' ' '; echo; \
	done

# The README's dependency block, as written, in a new package that imports
# the library and runs (see Consumer/test.sh; needs the changes committed).
test-consumer: deps
	Consumer/test.sh

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
