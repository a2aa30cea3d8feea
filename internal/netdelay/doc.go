// Package netdelay is a TCP relay that delays every byte by a fixed time in
// each direction, so that benchmarks can put real libp2p connections on
// loopback at the distance of real peers. Listen starts a relay in front of
// one target address; clients dial Addr instead of the target; Close stops
// it and every connection through it.
//
// A chunk read from one side is written to the other no earlier than the
// one-way delay after it was read, in order. The relay adds latency, not a
// bandwidth limit: a direction holds at most MaxQueued bytes in flight
// (read, not yet written), and its reader waits while it is full, so the
// most a relay can carry is MaxQueued per one-way delay and per direction
// (64 MiB/s at 50 ms), above any catch-up's need.
package netdelay
