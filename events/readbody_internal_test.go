package events

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// TestReadBodyMatchesReadAll checks readBody against io.ReadAll whatever
// the declared size says: right, too small, too large or unknown.
func TestReadBodyMatchesReadAll(t *testing.T) {
	for _, body := range []string{"", "x", `{"for_user_id":"1"}`, string(bytes.Repeat([]byte("ab"), 3000))} {
		for _, size := range []int64{-1, 0, 1, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 7} {
			if size < -1 {
				continue
			}
			for name, r := range map[string]func() io.Reader{
				"reader":  func() io.Reader { return bytes.NewReader([]byte(body)) },
				"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader([]byte(body))) },
				"dataerr": func() io.Reader { return iotest.DataErrReader(bytes.NewReader([]byte(body))) },
			} {
				got, err := readBody(r(), size)
				require.NoError(t, err, "%s size %d", name, size)
				require.Equal(t, body, string(got), "%s size %d", name, size)
			}
		}
	}
	boom := errors.New("boom")
	_, err := readBody(iotest.ErrReader(boom), 10)
	require.ErrorIs(t, err, boom)
}
