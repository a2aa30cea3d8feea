package exserver

import (
	"bufio"
	"encoding/binary"
	"math/bits"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
)

// writeResponse writes one HeaderResponse exactly as go-header writes it
// (serde's uvarint length, then gogo-protobuf's encoding: field 1, the body,
// only if not empty; field 2, the status, only if not zero) without building
// the message, so a header's bytes are copied once, into w.
func writeResponse(w *bufio.Writer, code p2p_pb.StatusCode, body []byte) error {
	size := 0
	if len(body) > 0 {
		size += 1 + uvarintLen(uint64(len(body))) + len(body)
	}
	if code != 0 {
		size += 1 + uvarintLen(uint64(code))
	}
	var head [3*binary.MaxVarintLen64 + 2]byte
	n := binary.PutUvarint(head[:], uint64(size))
	if len(body) > 0 {
		head[n] = 0x0a // field 1, length-delimited
		n++
		n += binary.PutUvarint(head[n:], uint64(len(body)))
	}
	if _, err := w.Write(head[:n]); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if code == 0 {
		return nil
	}
	n = 0
	head[n] = 0x10 // field 2, varint
	n++
	n += binary.PutUvarint(head[n:], uint64(code))
	_, err := w.Write(head[:n])
	return err
}

func uvarintLen(v uint64) int {
	return max(1, (bits.Len64(v)+6)/7)
}
