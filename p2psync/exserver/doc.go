// Package exserver answers go-header's exchange protocol
// (/<networkID>/header-ex/v0.0.3) from a store of encoded headers.
//
// It speaks go-header v0.6.4's wire messages and gives every request the
// answer go-header's ExchangeServer gives (see answer.go for the list), but
// it never decodes a header: a range is one ScanBytes call whose bytes go
// straight into one buffered writer per stream. Per-peer limits (Limits)
// stand in front of every request.
//
//	srv, err := exserver.New(host, exserver.ProtocolID("gm"), st, exserver.WithLogger(log))
//	err = srv.Start(ctx)
//	defer srv.Stop(ctx)
//
// The server starts no goroutine of its own: libp2p runs one handler per
// stream, which the server tracks so that Stop can reset the stream and wait
// for the handler. Any go-header store can be served through
// FromHeaderStore.
package exserver
