package intake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func drainAll(t *testing.T, s *Spool) []string {
	t.Helper()
	var got []string
	_, err := s.Drain(func(b []byte) error { got = append(got, string(b)); return nil })
	require.NoError(t, err)
	return got
}

func TestSpoolSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	require.NoError(t, err)
	require.NoError(t, s.Append([]byte("a"), []byte("b")))
	require.NoError(t, s.Append([]byte("c")))
	require.True(t, s.Pending())
	require.NoError(t, s.Close())

	s, err = OpenSpool(dir)
	require.NoError(t, err)
	defer s.Close()
	require.True(t, s.Pending(), "records of a previous run are pending")
	require.NoError(t, s.Append([]byte("d")))
	assert.Equal(t, []string{"a", "b", "c", "d"}, drainAll(t, s))
	assert.False(t, s.Pending())
	assert.Empty(t, drainAll(t, s), "drained records are gone")
}

func TestSpoolDrainStopsAtFailureAndResumesWithoutResending(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	for i := 0; i < 5; i++ {
		require.NoError(t, s.Append(fmt.Appendf(nil, "job-%d", i)))
	}
	var sent []string
	down := errors.New("queue down")
	n, err := s.Drain(func(b []byte) error {
		if len(sent) == 2 {
			return down
		}
		sent = append(sent, string(b))
		return nil
	})
	require.ErrorIs(t, err, down)
	assert.Equal(t, 2, n)
	// New records arrive while the queue is down.
	require.NoError(t, s.Append([]byte("job-5")))
	rest := drainAll(t, s)
	assert.Equal(t, []string{"job-2", "job-3", "job-4", "job-5"}, rest, "nothing lost, nothing sent twice")
}

func TestSpoolIgnoresTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	require.NoError(t, err)
	require.NoError(t, s.Append([]byte("whole")))
	path := s.segmentPath(s.curSeq)
	require.NoError(t, s.Close())
	// A crash in the middle of an Append leaves a partial record.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0, 0, 0, 9, 1, 2, 3, 4, 'p', 'a', 'r'})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s, err = OpenSpool(dir)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []string{"whole"}, drainAll(t, s))
}

func TestSpoolReportsCorruptionInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	require.NoError(t, err)
	require.NoError(t, s.Append([]byte("first"), []byte("second")))
	path := s.segmentPath(s.curSeq)
	require.NoError(t, s.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[9] ^= 0xff // a bit flip in the first record's body
	require.NoError(t, os.WriteFile(path, b, 0o600))

	s, err = OpenSpool(dir)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Drain(func([]byte) error { return nil })
	require.ErrorIs(t, err, ErrCorruptRecord)
	_, statErr := os.Stat(path)
	assert.NoError(t, statErr, "a corrupt segment is kept for an operator to look at")
}

func TestSpoolErrors(t *testing.T) {
	_, err := OpenSpool("")
	require.Error(t, err)

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = OpenSpool(filepath.Join(file, "sub"))
	require.Error(t, err, "a spool under a regular file cannot be created")

	s, err := OpenSpool(t.TempDir())
	require.NoError(t, err)
	require.Error(t, s.Append(make([]byte, MaxRecord+1)))
	require.NoError(t, s.Close())
	require.Error(t, s.Append([]byte("late")), "append after close fails")
}
