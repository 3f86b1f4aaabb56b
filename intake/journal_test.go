package intake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

// sqliteQueue is a real SQLite queue in a file of its own.
func sqliteQueue(t *testing.T, path string) *sqlite.Queue {
	t.Helper()
	st, err := sqlite.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	q, err := st.Queue("jobs")
	require.NoError(t, err)
	require.NoError(t, q.Create(context.Background()))
	return q
}

// mentions returns n deliveries, each a mention with a command from a new
// tweet and author.
func mentions(t *testing.T, n int) []*events.Payload {
	t.Helper()
	var ps []*events.Payload
	for i := range n {
		p := eventstest.Payload(t, "mention_moerand")
		p.TweetCreateEvents[0].ID = fmt.Sprintf("19%017d", i)
		p.TweetCreateEvents[0].User.ID = fmt.Sprintf("18%017d", i)
		ps = append(ps, p)
	}
	return ps
}

func runIntake(t *testing.T, in *Intake) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// With Journal, Handle answers once the job is in the journal, and Run
// moves it to the queue at once, in batches.
func TestJournalHandleThenRunMoves(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    func(t *testing.T) queue.Queue
	}{
		{"sqlite (batches)", func(t *testing.T) queue.Queue { return sqliteQueue(t, filepath.Join(t.TempDir(), "q.db")) }},
		{"mem (concurrent enqueues)", func(t *testing.T) queue.Queue { return newQueue(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q(t)
			m := newCounts()
			woken := make(chan struct{}, 100)
			in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), Journal: true, Metrics: m.hooks(),
				DrainInterval: time.Hour, Notify: func() { woken <- struct{}{} }})
			require.NoError(t, err)
			defer in.Close()
			ctx := context.Background()
			ps := mentions(t, 40)
			for _, p := range ps {
				require.NoError(t, in.Handle(ctx, p, nil))
			}
			n, _ := q.Len(ctx)
			assert.Zero(t, n, "nothing reaches the queue without the mover")
			assert.Zero(t, m.get("enqueued/queue"), "counted once moved")

			runIntake(t, in)
			require.Eventually(t, func() bool { n, _ := q.Len(ctx); return n == 40 }, 5*time.Second, 5*time.Millisecond)
			<-woken
			// Later deliveries move without waiting for DrainInterval (an hour).
			require.NoError(t, in.Handle(ctx, mentions(t, 41)[40], nil))
			require.Eventually(t, func() bool { n, _ := q.Len(ctx); return n == 41 }, 5*time.Second, 5*time.Millisecond)
			assert.Equal(t, 41, m.get("enqueued/queue"))
			assert.Zero(t, m.get("enqueued/spool"))
			assert.Zero(t, m.get("drained"), "no outage, nothing drained")
			ids := map[string]bool{}
			for _, j := range jobsIn(t, q) {
				assert.False(t, ids[j.ID], "job %s twice", j.ID)
				ids[j.ID] = true
			}
			assert.Len(t, ids, 41)
		})
	}
}

// A webhook killed with jobs only in its journal loses none of them: the
// next start moves them, and those that were moved already are not stored
// twice (the job id is the queue's dedup key).
func TestJournalOfAKilledWebhookIsMovedAtTheNextStart(t *testing.T) {
	dir, qpath := t.TempDir(), filepath.Join(t.TempDir(), "q.db")
	q := sqliteQueue(t, qpath)
	ctx := context.Background()
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: dir, Journal: true})
	require.NoError(t, err)
	ps := mentions(t, 30)
	for _, p := range ps[:10] {
		require.NoError(t, in.Handle(ctx, p, nil))
	}
	n, err := in.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	for _, p := range ps[10:] {
		require.NoError(t, in.Handle(ctx, p, nil))
	}
	// Killed: no Close, no move of the last 20; the kernel drops its lock.
	in.spool.unlock()
	in2, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: dir, Journal: true})
	require.NoError(t, err)
	runIntake(t, in2)
	require.Eventually(t, func() bool { return !in2.spool.Pending() }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, in2.Close())
	jobs := jobsIn(t, q)
	ids := map[string]int{}
	for _, j := range jobs {
		ids[j.ID]++
	}
	for _, p := range ps {
		id := "tweet:" + p.TweetCreateEvents[0].ID
		assert.Equal(t, 1, ids[id], "job %s", id)
	}
	assert.Len(t, jobs, 30)
	left, _ := filepath.Glob(filepath.Join(dir, "spool-*"))
	assert.Empty(t, left, "nothing left in the journal")
}

// Close moves what the journal holds before it returns.
func TestJournalCloseMovesEverything(t *testing.T) {
	q := sqliteQueue(t, filepath.Join(t.TempDir(), "q.db"))
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), Journal: true})
	require.NoError(t, err)
	for _, p := range mentions(t, 25) {
		require.NoError(t, in.Handle(context.Background(), p, nil))
	}
	require.NoError(t, in.Close())
	n, err := q.Len(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 25, n)
}

// While the queue is down the journal still takes deliveries (200,
// degraded); once it is back they are moved.
func TestJournalWhileTheQueueIsDown(t *testing.T) {
	q := newQueue(t)
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), Journal: true,
		DrainInterval: 10 * time.Millisecond, EnqueueTimeout: time.Second})
	require.NoError(t, err)
	defer in.Close()
	ctx := context.Background()
	q.down.Store(true)
	runIntake(t, in)
	for _, p := range mentions(t, 5) {
		require.NoError(t, in.Handle(ctx, p, nil))
	}
	assert.Equal(t, StateDegraded, in.Readiness(ctx).State)
	time.Sleep(50 * time.Millisecond)
	assert.True(t, in.spool.Pending())
	q.down.Store(false)
	require.Eventually(t, func() bool { n, _ := q.Len(ctx); return n == 5 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, StateReady, in.Readiness(ctx).State)
}

// A journal that cannot take the jobs fails the delivery (503, X retries)
// and the filter forgets them, so the retry is not a duplicate.
func TestJournalFailureFailsTheDeliveryAndForgets(t *testing.T) {
	q := newQueue(t)
	dir := t.TempDir()
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: dir, Journal: true})
	require.NoError(t, err)
	require.NoError(t, in.spool.Close()) // the journal's disk went away
	p := mentions(t, 1)[0]
	err = in.Handle(context.Background(), p, nil)
	require.ErrorIs(t, err, ErrNotDurable)
	assert.Equal(t, StateNotReady, func() string {
		q.down.Store(true)
		defer q.down.Store(false)
		return in.Readiness(context.Background()).State
	}())

	in.spool, err = openSpool(dir, 0, JournalSegment)
	require.NoError(t, err)
	require.NoError(t, in.Handle(context.Background(), p, nil), "the retry is taken")
	require.NoError(t, in.Close())
	assert.Len(t, jobsIn(t, q), 1)
}

func TestJournalNeedsASpoolDir(t *testing.T) {
	_, err := New(Config{Queue: newQueue(t), Filter: newFilter(t), Journal: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SpoolDir")
}

// The journal's files are owner-only: they hold DM text and user ids.
func TestJournalFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	in, err := New(Config{Queue: newQueue(t), Filter: newFilter(t), SpoolDir: dir, Journal: true})
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.Handle(context.Background(), mentions(t, 1)[0], nil))
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	files, _ := filepath.Glob(filepath.Join(dir, "spool-*.log"))
	require.NotEmpty(t, files)
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
}

// The SQLite queue takes the journal in batches.
var _ BatchEnqueuer = (*sqlite.Queue)(nil)

// jobID reads the same id as ParseJob, also when the text holds what
// looks like an id member, and falls back to parsing for other shapes.
func TestJobIDMatchesParseJob(t *testing.T) {
	in, err := New(Config{Queue: newQueue(t), Filter: newFilter(t)})
	require.NoError(t, err)
	f := newFilter(t)
	p := mentions(t, 1)[0]
	p.TweetCreateEvents[0].Text += ` moerand "id":"tweet:1" \"id\":\"x"`
	var bodies [][]byte
	for _, name := range []string{"mention_moerand", "dm_moerand"} {
		bodies = append(bodies, mustBody(t, name))
	}
	for _, r := range f.Results(p) {
		if r.Job != nil {
			b, err := r.Job.Body()
			require.NoError(t, err)
			bodies = append(bodies, b)
		}
	}
	require.Len(t, bodies, 3)
	// The original bot's message, without an id member.
	bodies = append(bodies, []byte(`{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@moebot moerand","user_id":"1247048165561270272"}`))
	for _, b := range bodies {
		j, err := filter.ParseJob(b)
		require.NoError(t, err, "%s", b)
		assert.Equal(t, j.ID, in.jobID(b), "%s", b)
		assert.NotEmpty(t, j.ID)
	}
	assert.Empty(t, in.jobID([]byte("not json")))
}
