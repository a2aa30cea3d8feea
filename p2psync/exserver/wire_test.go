package exserver

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/stretchr/testify/require"
)

// TestWriteResponseIsGoHeaders holds writeResponse to the bytes go-header
// writes for the same response (serde framing of the gogo message).
func TestWriteResponseIsGoHeaders(t *testing.T) {
	for _, size := range []int{0, 1, 127, 128, 245, 16383, 16384, 70000} {
		for _, code := range []p2p_pb.StatusCode{p2p_pb.StatusCode_INVALID, p2p_pb.StatusCode_OK, p2p_pb.StatusCode_NOT_FOUND} {
			body := bytes.Repeat([]byte{0x5a}, size)
			var want bytes.Buffer
			_, err := serde.Write(&want, &p2p_pb.HeaderResponse{Body: body, StatusCode: code})
			require.NoError(t, err)

			var got bytes.Buffer
			w := bufio.NewWriterSize(&got, 4096)
			require.NoError(t, writeResponse(w, code, body))
			require.NoError(t, w.Flush())
			require.Equal(t, want.Bytes(), got.Bytes(), "body %d bytes, status %s", size, code)
		}
	}
}

func TestUvarintLen(t *testing.T) {
	for v, n := range map[uint64]int{0: 1, 1: 1, 127: 1, 128: 2, 16383: 2, 16384: 3, 1<<63 - 1: 9, 1 << 63: 10} {
		require.Equal(t, n, uvarintLen(v), "%d", v)
	}
}

func TestWriteResponseAllocatesNothing(t *testing.T) {
	body := bytes.Repeat([]byte{1}, 245)
	w := bufio.NewWriterSize(io.Discard, 4096)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := writeResponse(w, p2p_pb.StatusCode_OK, body); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
