package exserver

import (
	"github.com/celestiaorg/go-header"
)

// How go-header v0.6.4's ExchangeServer (p2p/server.go) answers, and so how
// this server answers. "reset" means the stream is reset with nothing
// written; NOT_FOUND is one message with status NOT_FOUND and no body; OK is
// one message per header, each with status OK, then the stream is closed.
//
//   - The request must arrive within the read deadline (go-header: a minute;
//     here 5 s by default, as the project configured go-header). A request
//     that is late, truncated, over serde's 1 MiB frame limit or not a
//     HeaderRequest: reset.
//   - A request with neither origin nor hash: reset.
//   - By hash (any amount, any hash length): the header, OK; absent:
//     NOT_FOUND; any other store error or timeout (10 s): reset. A read of
//     damaged data (store.ErrCorrupt) is such an error, here and in a range:
//     NOT_FOUND would say this node lacks a header it holds.
//   - Origin 0, any amount (even over 512): the head, OK; an empty store
//     (ErrNoHead is not ErrNotFound to go-header): reset.
//   - Origin o >= 1 with amount a, to = o+a (wrapping, as go-header's uint64):
//     1. a > 512: reset, before the store is read.
//     2. to-1 is 0 or above the head: if the head is below o, NOT_FOUND;
//     otherwise the range is cut to end at the head (a partial range).
//     3. o > to-1 (a = 0 at o >= 2, or a range that wraps past 2^64): go-header's
//     store refuses the range as invalid: reset.
//     4. The headers [o, to), OK, read with one ScanBytes. A range reaching
//     below the lowest stored header: NOT_FOUND (go-header's store misses a
//     header and says so); a store error before any header: reset, except
//     a timeout, which go-header reports as NOT_FOUND; a store error after
//     some headers: reset. go-header reads a range without a timeout; here
//     the request timeout (10 s) bounds it too.
//   - One departure: a = 0 at o = 1 passes step 2 (to-1 = 0 is never
//     "stored") and go-header then sends the whole chain, however long. Here
//     it is reset, as a = 0 is at every other stored origin.
//   - Every answer is written under the write deadline (8 s, go-header's);
//     a write that fails or is late: reset.
//   - A request over its peer's or the server's limits is reset before it is
//     read (go-header has no limits; the project put them in front of it).

// answerKind is what a request gets.
type answerKind int

const (
	answerReset answerKind = iota
	answerNotFound
	answerRange
)

// rangeAnswer is how to answer a request for amount headers from from >= 1.
type rangeAnswer struct {
	kind     answerKind
	from, to uint64 // [from, to) for answerRange
	why      string // for answerReset, for the log
}

// overLimit reports whether a range request is refused before the store is
// read (step 1 above).
func overLimit(amount uint64) bool {
	return amount > header.MaxRangeRequestSize
}

// planRange answers a request for amount headers from from >= 1 when the
// stored head is at height head (steps 2 and 3 above); overLimit has been
// checked.
func planRange(from, amount, head uint64) rangeAnswer {
	to := from + amount // wraps like go-header's
	if last := to - 1; last == 0 || last > head {
		if head < from {
			return rangeAnswer{kind: answerNotFound}
		}
		to = head + 1
	}
	if from > to-1 {
		return rangeAnswer{kind: answerReset, why: "empty or wrapping range"}
	}
	if to-from > header.MaxRangeRequestSize {
		return rangeAnswer{kind: answerReset, why: "amount 0 from the first height"}
	}
	return rangeAnswer{kind: answerRange, from: from, to: to}
}
