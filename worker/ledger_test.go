package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/worker/ledgertest"
	"github.com/moetron/moetron/xfake"
)

// withWorker replaces the rig's worker by one built from its config after
// change.
func (r *rig) withWorker(change func(*worker.Config)) {
	r.t.Helper()
	change(&r.cfg)
	w, err := worker.New(r.cfg)
	require.NoError(r.t, err)
	r.w = w
}

// Two messages with the same job id on the queue at once (a spool drained
// after an enqueue whose answer was lost, as in CI run of 2026-12-02) are
// answered once, although both arrive at dequeue count 1.
func TestSameJobTwiceAtOnceAnsweredOnce(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.withWorker(func(c *worker.Config) { c.ClaimedRetry = 50 * time.Millisecond })
	dj, tj := dmJob("2128264838051266563"), tweetJob("2128264838051266560")
	for range 2 {
		r.enqueue(body(t, dj))
		r.enqueue(body(t, tj))
	}
	r.run(r.consumer(nil))
	r.waitEmpty()

	assert.Len(t, r.x.DMsTo(dj.UserID), 1, "the DM job was answered more than once")
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1, "the tweet job was answered more than once")
	assert.Equal(t, 2, r.outcome(worker.OutcomeReplied))
	assert.Equal(t, 2, r.outcome(worker.OutcomeAlreadyReplied))
	assert.Equal(t, 0, queueLen(t, r.poison))
	assert.Equal(t, 2, r.gen.Calls(), "the second copies generated an image")
}

// A copy of a job that arrives after the first was answered and deleted is
// only deleted, without asking X.
func TestSameJobLaterAnsweredOnce(t *testing.T) {
	r := newRig(t, rigOpts{})
	dj := dmJob("2128264838051266599")
	r.enqueue(body(t, dj))
	stop := r.run(r.consumer(nil))
	r.waitEmpty()
	r.enqueue(body(t, dj))
	r.waitEmpty()
	stop()

	assert.Len(t, r.x.DMsTo(dj.UserID), 1)
	assert.Equal(t, 1, r.outcome(worker.OutcomeReplied))
	assert.Equal(t, 1, r.outcome(worker.OutcomeAlreadyReplied))
	assert.Equal(t, 1, r.gen.Calls())
}

// A claim released after an uncertain send makes the next copy read back:
// the reply that did reach X is found and nothing is sent twice.
func TestUnfinishedClaimReadsBack(t *testing.T) {
	r := newRig(t, rigOpts{})
	led := worker.NewMemLedger(0)
	r.withWorker(func(c *worker.Config) { c.Ledger = led })
	tj := tweetJob("2128264838051266601")
	// First copy: answered, but the ledger never learns it (as if the
	// process died after the post).
	_, err := led.Claim(context.Background(), tj.ID)
	require.NoError(t, err)
	require.NoError(t, led.Release(context.Background(), tj.ID, true))
	r.x.SeedPost(xfake.Post{AuthorID: xfake.DefaultBotUserID, InReplyToTweetID: tj.RespondID, Text: "@alice earlier"})

	r.enqueue(body(t, tj))
	r.run(r.consumer(nil))
	r.waitEmpty()
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1)
	assert.Equal(t, 1, r.outcome(worker.OutcomeAlreadyReplied))
	assert.Equal(t, 0, r.gen.Calls())
}

func TestMemLedger(t *testing.T) {
	ledgertest.Run(t, func(_ *testing.T, n int) []worker.Ledger {
		l := worker.NewMemLedger(0)
		ls := make([]worker.Ledger, n)
		for i := range ls {
			ls[i] = l // one process, one ledger
		}
		return ls
	})

	// An answered job is one entry, whatever came before.
	ctx := context.Background()
	l := worker.NewMemLedger(0)
	_, err := l.Claim(ctx, "tweet:1")
	require.NoError(t, err)
	require.NoError(t, l.Release(ctx, "tweet:1", true))
	_, err = l.Claim(ctx, "tweet:1")
	require.NoError(t, err)
	require.NoError(t, l.Done(ctx, "tweet:1", "99"))
	require.NoError(t, l.Release(ctx, "tweet:1", true), "release after done changes nothing")
	assert.Equal(t, 1, l.Len())
}

// The in-flight copy is a deferral, not a failure.
func TestClaimedIsRetryAfter(t *testing.T) {
	r := newRig(t, rigOpts{})
	led := worker.NewMemLedger(0)
	r.withWorker(func(c *worker.Config) { c.Ledger = led; c.ClaimedRetry = 3 * time.Second })
	tj := tweetJob("2128264838051266602")
	_, err := led.Claim(context.Background(), tj.ID)
	require.NoError(t, err)
	err = r.w.Handle(context.Background(), &queue.Message{ID: "m", Body: body(t, tj), DequeueCount: 1})
	d, ok := queue.RetryAfterDelay(err)
	require.True(t, ok, "want a RetryAfter, got %v", err)
	assert.Equal(t, 3*time.Second, d)
	assert.True(t, errors.Is(err, worker.ErrClaimed))
	assert.Equal(t, 1, r.outcome(worker.OutcomeInFlight))
	assert.Equal(t, 0, r.gen.Calls())
}
