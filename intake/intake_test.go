package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
)

// flaky wraps a queue and fails Enqueue and Len while down is set.
type flaky struct {
	queue.Queue
	down atomic.Bool
}

var errDown = errors.New("queue is down")

func (f *flaky) Enqueue(ctx context.Context, body []byte, o *queue.EnqueueOptions) (*queue.Message, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Queue.Enqueue(ctx, body, o)
}

func (f *flaky) Len(ctx context.Context) (int, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Queue.Len(ctx)
}

func newFilter(t *testing.T) *filter.Filter {
	t.Helper()
	f, err := filter.New(filter.Config{BotUserID: eventstest.BotUserID})
	require.NoError(t, err)
	return f
}

func newQueue(t *testing.T) *flaky {
	t.Helper()
	q, err := mem.New("jobs", nil)
	require.NoError(t, err)
	return &flaky{Queue: q}
}

func jobsIn(t *testing.T, q queue.Queue) []filter.Job {
	t.Helper()
	var jobs []filter.Job
	for {
		msgs, err := q.Receive(context.Background(), queue.MaxReceive, time.Minute)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return jobs
		}
		for _, m := range msgs {
			j, err := filter.ParseJob(m.Body)
			require.NoError(t, err)
			jobs = append(jobs, j)
		}
	}
}

func TestHandleEnqueuesJobsAndSkipsTheRest(t *testing.T) {
	q := newQueue(t)
	m := newCounts()
	woken := 0
	in, err := New(Config{Queue: q, Filter: newFilter(t), Metrics: m.hooks(), Notify: func() { woken++ }})
	require.NoError(t, err)
	ctx := context.Background()
	for _, name := range []string{"mention_moerand", "dm_moerand", "retweet_of_command", "bot_echo_tweet", "favorite"} {
		require.NoError(t, in.Handle(ctx, eventstest.Payload(t, name), nil), name)
	}
	// X delivers the same mention again.
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil))

	jobs := jobsIn(t, q)
	require.Len(t, jobs, 2)
	ids := []string{jobs[0].ID, jobs[1].ID}
	assert.ElementsMatch(t, []string{"tweet", "dm"}, []string{string(jobs[0].MsgType), string(jobs[1].MsgType)}, ids)
	for _, j := range jobs {
		assert.Equal(t, "rand", j.Command)
		assert.False(t, j.ReceivedAt.IsZero(), "received_at is stamped")
	}
	assert.Equal(t, 2, woken)
	assert.Equal(t, 2, m.get("enqueued/queue"))
	assert.Equal(t, 1, m.get("decided/"+string(filter.ReasonDuplicate)))
	assert.Equal(t, 1, m.get("decided/"+string(filter.ReasonRetweet)))
	assert.Equal(t, 1, m.get("decided/"+string(filter.ReasonOwnEvent)))
	assert.Equal(t, 1, m.get("event/favorite_events"))
	assert.Equal(t, 2, m.enqueueCalls(), "one enqueue per job")
	assert.False(t, in.LastEvent().IsZero())
}

func TestQueueDownGoesToSpoolAndDrainsLater(t *testing.T) {
	q := newQueue(t)
	m := newCounts()
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), EnqueueTimeout: time.Second, Metrics: m.hooks()})
	require.NoError(t, err)
	defer in.Close()
	ctx := context.Background()

	q.down.Store(true)
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil), "spooled jobs are durable: answer 200")
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "dm_moerand"), nil))
	require.Error(t, in.Ready(ctx), "not ready while the queue is down")
	n, err := in.Drain(ctx)
	require.Error(t, err, "drain fails while the queue is down")
	assert.Equal(t, 0, n)
	assert.Empty(t, jobsIn(t, q))

	q.down.Store(false)
	require.NoError(t, in.Ready(ctx))
	n, err = in.Drain(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Len(t, jobsIn(t, q), 2)
	assert.Equal(t, 2, m.get("enqueued/spool"))
	assert.Equal(t, 2, m.get("drained"))
	assert.Zero(t, m.get("enqueued/queue"))

	// Once drained, new jobs go straight to the queue again.
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "mention_moename"), nil))
	assert.Len(t, jobsIn(t, q), 1)
	assert.Equal(t, 1, m.get("enqueued/queue"))
}

func TestSpoolSurvivesRestart(t *testing.T) {
	q := newQueue(t)
	dir := t.TempDir()
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: dir})
	require.NoError(t, err)
	q.down.Store(true)
	require.NoError(t, in.Handle(context.Background(), eventstest.Payload(t, "mention_moerand"), nil))
	require.NoError(t, in.Close())

	q.down.Store(false)
	in2, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: dir, DrainInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	defer in2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- in2.Run(ctx) }()
	require.Eventually(t, func() bool {
		n, _ := q.Len(context.Background())
		return n == 1
	}, 5*time.Second, 10*time.Millisecond, "the background drainer moves the spooled job")
	cancel()
	require.NoError(t, <-done)
}

func TestNoSpoolMeansRetryableFailureAndNoLostRetry(t *testing.T) {
	q := newQueue(t)
	f := newFilter(t)
	in, err := New(Config{Queue: q, Filter: f})
	require.NoError(t, err)
	ctx := context.Background()
	q.down.Store(true)
	err = in.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil)
	require.ErrorIs(t, err, ErrNotDurable)
	// X retries after the queue is back: the retry must not be taken for a
	// duplicate of the failed delivery.
	q.down.Store(false)
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil))
	assert.Len(t, jobsIn(t, q), 1)
}

func TestSpoolFailureAnswers503ThroughTheHandler(t *testing.T) {
	q := newQueue(t)
	dir := t.TempDir()
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: dir})
	require.NoError(t, err)
	require.NoError(t, in.spool.Close()) // the spool's disk went away
	q.down.Store(true)

	h, err := events.NewHandler(events.HandlerConfig{Secrets: []string{"s3cret"}, Callback: in.Handle})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, eventstest.SignedRequest(t, "s3cret", eventstest.Fixture("mention_moerand")))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)

	// Both back: X's retry is accepted and queued.
	q.down.Store(false)
	in.spool, err = OpenSpool(dir)
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, eventstest.SignedRequest(t, "s3cret", eventstest.Fixture("mention_moerand")))
	assert.Equal(t, http.StatusOK, rec.Code)
	// The intake still thinks the queue is down, so the retry was spooled;
	// the drainer brings it over.
	_, err = in.Drain(context.Background())
	require.NoError(t, err)
	assert.Len(t, jobsIn(t, q), 1)
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Queue")
	assert.Contains(t, err.Error(), "Filter")
}

// An encrypted XChat message makes no job, is counted, and is logged once
// however many arrive.
func TestEncryptedChatLoggedOnce(t *testing.T) {
	q := newQueue(t)
	m := newCounts()
	var logged bytes.Buffer
	in, err := New(Config{Queue: q, Filter: newFilter(t), Metrics: m.hooks(),
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, in.Handle(context.Background(), eventstest.Payload(t, "xaa_chat_received"), nil))
	}
	assert.Empty(t, jobsIn(t, q))
	assert.Equal(t, 3, m.get("decided/"+string(filter.ReasonEncrypted)))
	assert.Equal(t, 1, strings.Count(logged.String(), "encrypted DMs are not answered"), logged.String())
}

// The job id is the queue's dedup key: the same job stored twice (a fresh
// intake after a restart has forgotten the first, and a spool drained
// after the queue already took the job) is one message.
func TestSameJobIsOneMessage(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), EnqueueTimeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil))
	require.NoError(t, in.Close())

	// A restarted webhook's filter has forgotten it; X (or the stream's
	// backfill) brings it again.
	in2, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), EnqueueTimeout: time.Second})
	require.NoError(t, err)
	defer in2.Close()
	require.NoError(t, in2.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil))

	// And a spool holding it is drained.
	q.down.Store(true)
	require.NoError(t, in2.Handle(ctx, eventstest.Payload(t, "dm_moerand"), nil))
	q.down.Store(false)
	require.NoError(t, in2.spool.Append(mustBody(t, "mention_moerand")))
	_, err = in2.Drain(ctx)
	require.NoError(t, err)

	jobs := jobsIn(t, q)
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	assert.Len(t, jobs, 2, "one message per job: %v", ids)
}

// mustBody is the queue message of the fixture's only job.
func mustBody(t *testing.T, fixture string) []byte {
	t.Helper()
	f := newFilter(t)
	rs := f.Results(eventstest.Payload(t, fixture))
	for _, r := range rs {
		if r.Job != nil {
			b, err := r.Job.Body()
			require.NoError(t, err)
			return b
		}
	}
	t.Fatalf("%s makes no job", fixture)
	return nil
}

// One delivery cannot make more than MaxJobsPerDelivery jobs; the rest are
// counted and dropped, and the delivery is still taken (X would resend a
// refused one for ever).
func TestDeliveryCap(t *testing.T) {
	q := newQueue(t)
	m := newCounts()
	in, err := New(Config{Queue: q, Filter: newFilter(t), Metrics: m.hooks(), MaxJobsPerDelivery: 3})
	require.NoError(t, err)
	p := eventstest.Payload(t, "mention_moerand")
	one := p.TweetCreateEvents[0]
	p.TweetCreateEvents = nil
	for i := range 8 {
		tw := one
		tw.ID = fmt.Sprintf("13325573450716447%02d", i)
		tw.User.ID = fmt.Sprintf("22449949%02d", i)
		p.TweetCreateEvents = append(p.TweetCreateEvents, tw)
	}
	require.NoError(t, in.Handle(context.Background(), p, nil))
	assert.Len(t, jobsIn(t, q), 3)
	assert.Equal(t, 5, m.get("decided/"+DecisionDeliveryCap))
}

func TestReadinessStates(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	noSpool, err := New(Config{Queue: q, Filter: newFilter(t)})
	require.NoError(t, err)
	in, err := New(Config{Queue: q, Filter: newFilter(t), SpoolDir: t.TempDir(), MaxSpoolBytes: 300})
	require.NoError(t, err)
	defer in.Close()
	assert.Equal(t, StateReady, in.Readiness(ctx).State)

	q.down.Store(true)
	assert.Equal(t, StateNotReady, noSpool.Readiness(ctx).State)
	assert.Equal(t, StateDegraded, in.Readiness(ctx).State)
	require.NoError(t, in.Handle(ctx, eventstest.Payload(t, "mention_moerand"), nil), "spooled")
	err = in.Handle(ctx, eventstest.Payload(t, "mention_moemess"), nil)
	require.ErrorIs(t, err, ErrNotDurable)
	assert.ErrorIs(t, err, ErrSpoolFull)
	rd := in.Readiness(ctx)
	assert.Equal(t, StateNotReady, rd.State)
	assert.Contains(t, rd.Reason, "spool")

	q.down.Store(false)
	assert.Equal(t, StateReady, in.Readiness(ctx).State)
	n, err := in.Drain(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Zero(t, in.spool.Bytes(), "a drained spool counts nothing")
}
