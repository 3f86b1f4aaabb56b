package worker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/xfake"
)

// reports collects what an Observer is told.
type reports struct {
	mu  sync.Mutex
	got []worker.JobReport
}

func (rs *reports) JobDone(_ context.Context, r worker.JobReport) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.got = append(rs.got, r)
}

func (rs *reports) last(t *testing.T) worker.JobReport {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	require.NotEmpty(t, rs.got, "the observer was not called")
	return rs.got[len(rs.got)-1]
}

// observed returns the rig's worker configuration with obs as its observer.
func observed(t *testing.T, r *rig, obs worker.Observer) *worker.Worker {
	t.Helper()
	cfg := r.cfg
	cfg.Observer = obs
	w, err := worker.New(cfg)
	require.NoError(t, err)
	return w
}

func TestObserverSeesEachOutcome(t *testing.T) {
	r := newRig(t, rigOpts{})
	rs := &reports{}
	w := observed(t, r, rs)
	ctx := context.Background()

	tj := tweetJob("1332557345071644672")
	require.NoError(t, w.Handle(ctx, &queue.Message{ID: "m1", Body: body(t, tj), DequeueCount: 1}))
	got := rs.last(t)
	assert.Equal(t, worker.OutcomeReplied, got.Outcome)
	assert.Equal(t, "m1", got.MsgID)
	assert.Equal(t, tj.ID, got.Job.ID)
	assert.Equal(t, "alice", got.Job.ScreenName)
	assert.True(t, got.HasSeed)
	require.NotNil(t, got.Image, "the generated image is reported")
	assert.Equal(t, got.Seed, got.Image.Seed)
	requirePNG(t, got.Image.Data)
	assert.Positive(t, got.Generate)
	assert.GreaterOrEqual(t, got.Total, got.Generate+got.Reply)
	replies := r.x.RepliesTo(tj.RespondID)
	require.Len(t, replies, 1)
	assert.Equal(t, replies[0].ID, got.ReplyID)
	assert.NoError(t, got.Err)
	assert.Equal(t, 1, got.Attempt)

	// Not a job: reported with the error and no job.
	err := w.Handle(ctx, &queue.Message{ID: "m2", Body: []byte("not json"), DequeueCount: 1})
	require.True(t, queue.IsPermanent(err))
	got = rs.last(t)
	assert.Equal(t, worker.OutcomeInvalid, got.Outcome)
	assert.ErrorIs(t, got.Err, filter.ErrInvalidJob)
	assert.Empty(t, got.Job.ID)
	assert.Nil(t, got.Image)
	assert.False(t, got.HasSeed)

	// X refuses for good: Handle returns nil, the report keeps the refusal.
	_, err = r.x.InjectFault(xfake.Fault{Kind: xfake.FaultDuplicate, Endpoint: xfake.EndpointTweets})
	require.NoError(t, err)
	tj2 := tweetJob("1332557345071644673")
	require.NoError(t, w.Handle(ctx, &queue.Message{ID: "m3", Body: body(t, tj2), DequeueCount: 1}))
	got = rs.last(t)
	assert.Equal(t, worker.OutcomePermanentXError, got.Outcome)
	assert.ErrorIs(t, got.Err, reply.ErrDuplicateContent)
	assert.NotNil(t, got.Image, "the image was generated before X refused it")
	assert.Empty(t, got.ReplyID)

	// The answered job again: already replied, nothing generated.
	require.NoError(t, w.Handle(ctx, &queue.Message{ID: "m4", Body: body(t, tj), DequeueCount: 2}))
	got = rs.last(t)
	assert.Equal(t, worker.OutcomeAlreadyReplied, got.Outcome)
	assert.Nil(t, got.Image)
	assert.Equal(t, 2, got.Attempt)
	assert.Len(t, rs.got, 4, "one report per Handle call")
}

// A panicking observer does not change the job's result.
func TestObserverPanicIsContained(t *testing.T) {
	r := newRig(t, rigOpts{})
	w := observed(t, r, worker.ObserverFunc(func(context.Context, worker.JobReport) { panic("observer bug") }))
	tj := tweetJob("1332557345071644672")
	require.NoError(t, w.Handle(context.Background(), &queue.Message{ID: "m1", Body: body(t, tj), DequeueCount: 1}))
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1)
	assert.Equal(t, 1, r.outcome(worker.OutcomeReplied))
}
