//go:build linux

package sqlite

import (
	"encoding/binary"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// event builds one raw inotify event as the kernel lays it out (the name
// NUL-padded to a multiple of 4).
func event(mask uint32, name string) []byte {
	n := (len(name) + 4) &^ 3
	b := make([]byte, 16+n)
	binary.NativeEndian.PutUint32(b[0:], 1)
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(n))
	copy(b[16:], name)
	return b
}

func TestWalWritten(t *testing.T) {
	const wal = "queue.db-wal"
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	assert.True(t, walWritten(event(syscall.IN_MODIFY, wal), wal))
	assert.True(t, walWritten(cat(event(syscall.IN_MODIFY, "spool-1.json"), event(syscall.IN_MODIFY, wal)), wal), "the WAL after another file")
	assert.False(t, walWritten(cat(event(syscall.IN_MODIFY, "queue.db"), event(syscall.IN_MODIFY, "queue.db-shm"), event(syscall.IN_MODIFY, "ledger.db-wal")), wal))
	assert.False(t, walWritten(event(syscall.IN_MODIFY, wal+"x"), wal), "a name that only starts like the WAL's")
	assert.True(t, walWritten(event(syscall.IN_Q_OVERFLOW, ""), wal), "lost events may have named the WAL")
	assert.True(t, walWritten(event(syscall.IN_MODIFY, wal)[:20], wal), "a cut event")
	assert.False(t, walWritten(nil, wal))
}
