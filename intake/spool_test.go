package intake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// A damaged record in the middle of a segment hides nothing after it; the
// segment is kept as *.damaged and counted.
func TestSpoolSkipsDamageKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	require.NoError(t, err)
	require.NoError(t, s.Append([]byte("first"), []byte("second"), []byte("third")))
	path := s.segmentPath(s.curSeq)
	require.NoError(t, s.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[9] ^= 0xff // a bit flip in the first record's body
	require.NoError(t, os.WriteFile(path, b, 0o600))

	s, err = OpenSpool(dir)
	require.NoError(t, err)
	defer s.Close()
	var damaged []string
	s.onDamage = func(name string, unread int) { damaged = append(damaged, name); assert.Equal(t, 13, unread) }
	assert.Equal(t, []string{"second", "third"}, drainAll(t, s))
	_, statErr := os.Stat(path + ".damaged")
	assert.NoError(t, statErr, "a damaged segment is kept for an operator to look at")
	assert.Equal(t, int64(1), s.Damaged())
	assert.Len(t, damaged, 1)
	assert.False(t, s.Pending(), "a kept damaged segment is not drained again")
}

// failingFile passes writes to a real file until budget bytes were written
// in all, then writes what is left of the budget and fails (a disk that
// fills up mid-record).
type failingFile struct {
	*os.File
	budget        *int
	truncateFails bool
	syncFails     *bool
}

func (f *failingFile) Write(b []byte) (int, error) {
	if len(b) <= *f.budget {
		*f.budget -= len(b)
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:*f.budget])
	*f.budget = 0
	return n, syscall.ENOSPC
}

func (f *failingFile) Sync() error {
	if *f.syncFails {
		return syscall.EIO
	}
	return f.File.Sync()
}

func (f *failingFile) Truncate(n int64) error {
	if f.truncateFails {
		return syscall.EIO
	}
	return f.File.Truncate(n)
}

// The finding of 2026-12: a write that failed part-way left partial bytes,
// later appends landed behind them, and the drain removed the segment with
// three acknowledged jobs. Every acknowledged record must come out.
func TestSpoolPartialWriteLosesNoAcknowledgedJob(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		truncateFails, syncFail bool
	}{
		{"truncate works", false, false},
		{"truncate fails too", true, false},
		{"fsync fails", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			budget := 1 << 30
			syncFails := false
			orig := openSegmentFile
			openSegmentFile = func(path string) (segmentFile, error) {
				f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
				if err != nil {
					return nil, err
				}
				return &failingFile{File: f, budget: &budget, truncateFails: tc.truncateFails, syncFails: &syncFails}, nil
			}
			t.Cleanup(func() { openSegmentFile = orig })

			s, err := OpenSpool(t.TempDir())
			require.NoError(t, err)
			defer s.Close()
			var acked []string
			appendJob := func(j string) {
				if s.Append([]byte(j)) == nil {
					acked = append(acked, j)
				}
			}
			appendJob("job-1")
			if tc.syncFail {
				syncFails = true
			} else {
				budget = 11 // the header and 3 bytes of the next record
			}
			appendJob("job-2-not-acknowledged")
			syncFails, budget = false, 1<<30 // the disk has room again
			appendJob("job-3")
			appendJob("job-4")
			appendJob("job-5")
			require.Equal(t, []string{"job-1", "job-3", "job-4", "job-5"}, acked)

			got := drainAll(t, s)
			for _, j := range acked {
				assert.Contains(t, got, j, "an acknowledged job was lost")
			}
			if !tc.syncFail {
				assert.NotContains(t, got, "job-2-not-acknowledged")
			}
		})
	}
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

// blockingFile holds the first Sync until release is closed, so that the
// appends that arrive meanwhile pile up behind it.
type blockingFile struct {
	*os.File
	first   *atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (f *blockingFile) Sync() error {
	if f.first.CompareAndSwap(true, false) {
		close(f.entered)
		<-f.release
	}
	return f.File.Sync()
}

// Appends that arrive while a write is in progress share the next write
// and its one sync, and each gets its own records durable.
func TestSpoolGroupCommit(t *testing.T) {
	first := &atomic.Bool{}
	first.Store(true)
	entered, release := make(chan struct{}), make(chan struct{})
	orig := openSegmentFile
	openSegmentFile = func(path string) (segmentFile, error) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		return &blockingFile{File: f, first: first, entered: entered, release: release}, nil
	}
	t.Cleanup(func() { openSegmentFile = orig })

	s, err := OpenSpool(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	errs := make(chan error, 51)
	go func() { errs <- s.Append([]byte("job-0")) }()
	<-entered // the first write is in its sync
	const n = 50
	for i := 1; i <= n; i++ {
		go func() { errs <- s.Append(fmt.Appendf(nil, "job-%d", i)) }()
	}
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pend != nil && s.pend.n == n
	}, 5*time.Second, time.Millisecond, "all appends wait for the next write")
	close(release)
	for range n + 1 {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, int64(2), s.writes.Load(), "51 appends in two writes")
	got := drainAll(t, s)
	assert.Len(t, got, n+1)
}

// The drainer reads the current segment up to its last sync without
// sealing it, then only what came after; a fully drained segment is
// removed at Close and nothing is drained twice after a reopen.
func TestSpoolDrainTailsTheCurrentSegment(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	require.NoError(t, err)
	require.NoError(t, s.Append([]byte("a"), []byte("b")))
	assert.Equal(t, []string{"a", "b"}, drainAll(t, s))
	assert.Zero(t, s.Bytes())
	assert.False(t, s.Pending())
	require.NoError(t, s.Append([]byte("c")))
	assert.True(t, s.Pending())
	assert.Equal(t, []string{"c"}, drainAll(t, s))
	files, _ := filepath.Glob(filepath.Join(dir, "spool-*.log"))
	assert.Len(t, files, 1, "draining does not seal the current segment")
	require.NoError(t, s.Close())
	files, _ = filepath.Glob(filepath.Join(dir, "spool-*.log"))
	assert.Empty(t, files, "a drained segment is removed at Close")

	s, err = OpenSpool(dir)
	require.NoError(t, err)
	defer s.Close()
	assert.False(t, s.Pending())
	assert.Empty(t, drainAll(t, s))
}

// A process that dies without Close (kill -9) leaves its records on disk:
// the next one drains every record the first had not drained, and may
// drain the others again (at least once), never fewer.
func TestSpoolRecordsOfAKilledProcessAreDrainedAgain(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 0, 64)
	require.NoError(t, err)
	var want []string
	for i := range 20 {
		r := fmt.Sprintf("job-%02d", i)
		require.NoError(t, s.Append([]byte(r)))
		want = append(want, r)
		if i == 7 {
			assert.Len(t, drainAll(t, s), 8)
		}
	}
	// No Close: the process is gone, and with it its lock.
	s.unlock()
	s2, err := OpenSpool(dir)
	require.NoError(t, err)
	defer s2.Close()
	got := drainAll(t, s2)
	assert.Subset(t, got, want[8:], "every record not drained before the crash is drained now")
	assert.NotContains(t, got, "job-00", "a sealed segment drained in full was removed")
}

// Small segments roll over; the drainer removes sealed segments it has
// read in full without reading them again, and keeps the order.
func TestSpoolRollsSegmentsAndRemovesDrainedOnes(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 0, 40)
	require.NoError(t, err)
	defer s.Close()
	var want, got []string
	for i := range 30 {
		r := fmt.Sprintf("job-%02d", i)
		require.NoError(t, s.Append([]byte(r)))
		want = append(want, r)
		if i%7 == 0 {
			got = append(got, drainAll(t, s)...)
		}
	}
	got = append(got, drainAll(t, s)...)
	assert.Equal(t, want, got)
	files, _ := filepath.Glob(filepath.Join(dir, "spool-*.log"))
	assert.Len(t, files, 1, "only the current segment is left: %v", files)
}

// DrainBatches hands records in batches; a batch stored in part resumes at
// the first record not stored.
func TestSpoolDrainBatchesResumesInsideABatch(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	for i := range 10 {
		require.NoError(t, s.Append(fmt.Appendf(nil, "job-%d", i)))
	}
	var sizes []int
	var got []string
	down := errors.New("queue down")
	n, err := s.DrainBatches(4, func(rs [][]byte) (int, error) {
		sizes = append(sizes, len(rs))
		if len(sizes) == 2 {
			got = append(got, string(rs[0]))
			return 1, down
		}
		for _, r := range rs {
			got = append(got, string(r))
		}
		return len(rs), nil
	})
	require.ErrorIs(t, err, down)
	assert.Equal(t, 5, n)
	assert.Equal(t, []int{4, 4}, sizes)
	n, err = s.DrainBatches(4, func(rs [][]byte) (int, error) {
		for _, r := range rs {
			got = append(got, string(r))
		}
		return len(rs), nil
	})
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	want := make([]string, 10)
	for i := range want {
		want[i] = fmt.Sprintf("job-%d", i)
	}
	assert.Equal(t, want, got)
}

// One spool directory, one Spool: a second process would drain, and
// remove, the first one's segments.
func TestSpoolDirectoryIsLocked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the lock is taken on Linux")
	}
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	require.NoError(t, err)
	_, err = OpenSpool(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "its own SPOOL_DIR")
	assert.Contains(t, err.Error(), dir)
	require.NoError(t, s.Close())
	s, err = OpenSpool(dir)
	require.NoError(t, err, "free again after Close")
	require.NoError(t, s.Close())
}
