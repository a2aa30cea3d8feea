// Package api owns the node's HTTP JSON API and the client the CLI uses to
// call it. The Server serves a running node through the Backend interface;
// it listens on loopback by default (DefaultListen), because nothing in it
// is authenticated.
//
// Routes (all JSON; an error is {"error": "..."} with a matching status):
//
//	GET  /status               Status: role, chain, peers, per-service state
//	GET  /headers/head         newest stored header (HeaderJSON)
//	GET  /headers/{height}     header by height
//	GET  /headers/hash/{hash}  header by hash: 64 hex digits, either case
//	GET  /blocks/{height}      block by height (BlockJSON)
//	POST /txs                  raw body is one transaction, at most
//	                           MaxTxBodySize bytes; 202 {"pending": n}
//	GET  /metrics              Prometheus text exposition
//	GET  /healthz              liveness: 200 {"status": "ok"}
//
// Backend errors map to statuses: header.ErrNotFound and ErrNoBlocks 404,
// ErrNotReady and ErrQueueFull 503, ErrNotSequencer 403, ErrTxTooLarge 413,
// ErrEmptyTx 400, anything else 500. A malformed height or hash is 400.
//
// The Client calls these routes and turns every non-2xx reply into an
// *HTTPError carrying the status and the server's message.
package api
