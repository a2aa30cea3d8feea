# Developer entry points. CI runs .ci/run, which uses the same commands.

PROTOC_GEN_GO_VERSION := v1.36.11

.PHONY: test race proto build devnet bench lint

## test: run the whole test suite (the command the README and CI use)
test:
	go test ./...

## race: run the race detector over the packages with concurrency
race:
	go test -race ./...

## build: build the headersync binary into ./bin
build:
	go build -o bin/headersync ./cmd/headersync

## devnet: build the binary, then start a sequencer, a full and a light node on loopback
devnet: build
	./bin/headersync devnet

## bench: micro-benchmarks of the types package
bench:
	go test -run '^$$' -bench . -benchmem ./types/...

## proto: regenerate types/pb from proto/ (needs protoc: apt-get install protobuf-compiler)
proto:
	GOBIN=$(CURDIR)/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH=$(CURDIR)/bin:$$PATH protoc --proto_path=proto \
		--go_out=. --go_opt=module=github.com/headersync/headersync \
		proto/headersync/types/v1/types.proto

## lint: gofmt and go vet, as CI runs them
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
