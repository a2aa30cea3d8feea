package exserver

import (
	"bufio"
	"encoding/binary"
	"math/bits"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
)

// maxPrefix is the most bytes written around a body: the frame's length,
// the body's tag and length, the status's tag and value.
const maxPrefix = 3*binary.MaxVarintLen64 + 2

// writeResponse writes one HeaderResponse exactly as go-header writes it
// (serde's uvarint length, then gogo-protobuf's encoding: field 1, the body,
// only if not empty; field 2, the status, only if not zero) without building
// the message, so a header's bytes are copied once, into w. The framing is
// appended in w's own buffer: nothing is allocated.
func writeResponse(w *bufio.Writer, code p2p_pb.StatusCode, body []byte) error {
	size := 0
	if len(body) > 0 {
		size += 1 + uvarintLen(uint64(len(body))) + len(body)
	}
	if code != 0 {
		size += 1 + uvarintLen(uint64(code))
	}
	if w.Available() < maxPrefix {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	buf := binary.AppendUvarint(w.AvailableBuffer(), uint64(size))
	if len(body) > 0 {
		buf = append(buf, 0x0a) // field 1, length-delimited
		buf = binary.AppendUvarint(buf, uint64(len(body)))
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if code == 0 {
		return nil
	}
	if w.Available() < maxPrefix {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	buf = append(w.AvailableBuffer(), 0x10) // field 2, varint
	buf = binary.AppendUvarint(buf, uint64(code))
	_, err := w.Write(buf)
	return err
}

func uvarintLen(v uint64) int {
	return max(1, (bits.Len64(v)+6)/7)
}
