# moetron: make test runs everything the CI runs; make demo runs the bot end to end.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION ?= v0.8.2

.PHONY: test demo bench lint vet fmt ort azurite vuln clean

## test: install what the tests need (ONNX Runtime, Azurite), start Azurite, run every test with -race.
test:
	@bash scripts/test.sh

## demo: fetch ONNX Runtime if missing, build, and run the whole bot end to end on a fake X.
demo:
	@bash scripts/demo.sh

## bench: run the benchmarks and print their tables.
bench:
	@bash scripts/bench.sh

## lint: gofmt, go vet and staticcheck.
lint:
	@bash scripts/lint.sh

## vet: go vet alone.
vet:
	$(GO) vet ./...

## fmt: gofmt -w every Go file git tracks (the files lint checks).
fmt:
	@git ls-files -z '*.go' | xargs -0 gofmt -l -w

## azurite: install Azurite (queue and table emulator) into the user cache; make test starts it.
azurite:
	@bash scripts/azurite.sh install

## ort: fetch the ONNX Runtime shared library into the user cache and print its path.
ort:
	@bash scripts/ort-lib.sh

## vuln: govulncheck against golang.org/x/vulndb (via the module proxy), indexed locally, with go.mod's toolchain.
vuln:
	@GOTOOLCHAIN=$${GOTOOLCHAIN_VULN:-auto} bash scripts/vuln.sh

clean:
	rm -rf out/ bin/
