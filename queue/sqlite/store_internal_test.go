package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
)

func openTest(t *testing.T, opts *Options) (*Store, *Queue) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "q.db"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	q, err := s.Queue("jobs")
	require.NoError(t, err)
	require.NoError(t, q.Create(context.Background()))
	return s, q
}

// TestGroupCommit holds the writer busy, lets 20 Enqueue calls queue up
// behind it, and checks that they then share one transaction.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, q := openTest(t, nil)
	before := s.w.commits.Load()

	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		assert.NoError(t, s.w.do(ctx, func(*statements) error {
			close(started)
			<-release
			return nil
		}))
	})
	<-started
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := q.Enqueue(ctx, []byte(strings.Repeat("x", i)), nil)
			errs <- err
		})
	}
	// Wait (not a timing assertion: only a guard against hanging) until
	// all n are waiting behind the blocker.
	deadline := time.Now().Add(30 * time.Second)
	for s.w.waiting.Load() < n+1 {
		require.True(t, time.Now().Before(deadline), "enqueuers never queued up")
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(2), s.w.commits.Load()-before, "the blocker's commit, then one for all %d enqueues", n)
	got, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, got)
}

// TestBatchedInserts lets 100 Enqueue calls (more than one multi-row
// INSERT holds) queue up behind a blocker, some for a queue that does not
// exist, and checks that each stored one got its own body, id and receipt.
func TestBatchedInserts(t *testing.T) {
	ctx := context.Background()
	s, q := openTest(t, nil)
	missing, err := s.Queue("missing")
	require.NoError(t, err)

	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		assert.NoError(t, s.w.do(ctx, func(*statements) error {
			close(started)
			<-release
			return nil
		}))
	})
	<-started
	const n = 100
	var mu sync.Mutex
	sent := map[string]*queue.Message{} // body -> answer
	for i := range n {
		wg.Go(func() {
			if i%10 == 3 {
				_, err := missing.Enqueue(ctx, []byte("lost"), nil)
				assert.ErrorIs(t, err, queue.ErrQueueNotFound)
				return
			}
			body := "body-" + strconv.Itoa(i)
			m, err := q.Enqueue(ctx, []byte(body), &queue.EnqueueOptions{TTL: time.Hour})
			if assert.NoError(t, err) {
				mu.Lock()
				sent[body] = m
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second) // a guard against hanging only
	for s.w.waiting.Load() < n+1 {
		require.True(t, time.Now().Before(deadline), "enqueuers never queued up")
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	require.Len(t, sent, n-n/10)

	ids, receipts := map[string]bool{}, map[string]bool{}
	for body, m := range sent {
		assert.False(t, ids[m.ID], "id %s twice", m.ID)
		assert.False(t, receipts[m.Receipt], "receipt %s twice", m.Receipt)
		ids[m.ID], receipts[m.Receipt] = true, true
		assert.Len(t, m.Receipt, 24, body)
		assert.Equal(t, m.InsertedAt.Add(time.Hour), m.ExpiresAt, body)
	}
	// Each answer's id and receipt name the row holding its body.
	for body, m := range sent {
		var got []byte
		var receipt string
		require.NoError(t, s.db.QueryRowContext(ctx, "SELECT body, receipt FROM messages WHERE id = ?", m.ID).Scan(&got, &receipt))
		assert.Equal(t, body, string(got))
		assert.Equal(t, m.Receipt, receipt, body)
		require.NoError(t, q.Delete(ctx, m.ID, m.Receipt), body)
	}
	got, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, got)
}

// TestNoGroupCommit checks that MaxBatch 1 commits each write alone.
func TestNoGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, q := openTest(t, &Options{MaxBatch: 1})
	before := s.w.commits.Load()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := q.Enqueue(ctx, []byte("x"), nil)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(10), s.w.commits.Load()-before)
}

// TestDiskFull limits the database's size, fills it, and checks that the
// failing writes report ErrFull, that every write of a failed batch fails,
// and that nothing committed before is lost.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	s, q := openTest(t, nil)
	var kept []string
	for i := range 5 {
		m, err := q.Enqueue(ctx, []byte{byte('a' + i)}, nil)
		require.NoError(t, err)
		kept = append(kept, m.ID)
	}
	// Cap the file at its current size plus a little.
	require.NoError(t, s.w.do(ctx, func(st *statements) error {
		var pages int64
		if err := s.w.conn.QueryRowContext(st.ctx, "PRAGMA page_count").Scan(&pages); err != nil {
			return err
		}
		_, err := s.w.conn.ExecContext(st.ctx, "PRAGMA max_page_count = "+strconv.FormatInt(pages+4, 10))
		return err
	}))

	big := []byte(strings.Repeat("b", queue.MaxBodySize))
	var mu sync.Mutex
	var okCount, fullCount int
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := q.Enqueue(ctx, big, nil)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				okCount++
				return
			}
			assert.ErrorIs(t, err, ErrFull)
			assert.Contains(t, err.Error(), "rolled back")
			fullCount++
		})
	}
	wg.Wait()
	require.Positive(t, fullCount, "the size cap must have been hit")

	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(kept)+okCount, n, "exactly the successful enqueues are stored")
	got, err := q.Receive(ctx, queue.MaxReceive, time.Minute)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.ID] = true
	}
	for _, id := range kept {
		assert.True(t, ids[id], "message %s committed before the disk filled must survive", id)
	}
}

// TestDedupKeysArePurged: expired dedup keys leave the file (Receive purges
// them with expired messages), so the table holds about one window of keys.
func TestDedupKeysArePurged(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, q := openTest(t, &Options{Now: clock, DedupWindow: time.Hour})
	count := func() int {
		var n int
		require.NoError(t, s.db.QueryRowContext(ctx, "SELECT count(*) FROM dedup").Scan(&n))
		return n
	}
	for i := range 3 {
		_, err := q.Enqueue(ctx, []byte("job"), &queue.EnqueueOptions{DedupKey: "tweet:" + strconv.Itoa(i)})
		require.NoError(t, err)
	}
	assert.Equal(t, 3, count())
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	_, err := q.Enqueue(ctx, []byte("job"), &queue.EnqueueOptions{DedupKey: "tweet:9"})
	require.NoError(t, err)
	_, err = q.Receive(ctx, 1, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, 1, count(), "expired keys were not purged")
}
