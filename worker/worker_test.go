package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/xfake"
)

func TestNewNamesEveryProblem(t *testing.T) {
	_, err := worker.New(worker.Config{BotUserID: "bot", Format: "gif"})
	require.ErrorIs(t, err, worker.ErrConfig)
	for _, want := range []string{"Generator", "Replier", "BotUserID", "Format"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestTweetAndDMReplied(t *testing.T) {
	r := newRig(t, rigOpts{})
	tj, dj := tweetJob("1332557345071644672"), dmJob("1332557345071644999")
	r.enqueue(body(t, tj))
	r.enqueue(body(t, dj))
	r.run(r.consumer(nil))
	r.waitEmpty()

	posts := r.x.RepliesTo(tj.RespondID)
	require.Len(t, posts, 1)
	p := posts[0]
	assert.Equal(t, xfake.DefaultBotUserID, p.AuthorID)
	assert.True(t, strings.HasPrefix(p.Text, "@alice "), p.Text)
	req, err := imagegen.DefaultCommands().Request("rand", "", tj.ID)
	require.NoError(t, err)
	assert.Contains(t, p.Text, "seed ", p.Text)
	assert.Contains(t, p.Text, "#"+reply.RequestID(tj.ID))
	assert.Contains(t, p.Text, itoa(req.Seed), "the rand seed is derived from the job id")
	require.Len(t, p.MediaIDs, 1)
	up, ok := r.x.Upload(p.MediaIDs[0])
	require.True(t, ok)
	assert.Equal(t, reply.CategoryTweetImage, up.Category)
	requirePNG(t, up.Data)

	dms := r.x.DMsTo(dj.UserID)
	require.Len(t, dms, 1)
	assert.False(t, strings.HasPrefix(dms[0].Text, "@"), "no handle in a DM: %s", dms[0].Text)
	require.Len(t, dms[0].MediaIDs, 1)
	up, ok = r.x.Upload(dms[0].MediaIDs[0])
	require.True(t, ok)
	assert.Equal(t, reply.CategoryDMImage, up.Category)
	requirePNG(t, up.Data)

	assert.Equal(t, 2, r.outcome(worker.OutcomeReplied))
	assert.Equal(t, 0, r.outcome(worker.OutcomeFailed))
	assert.Equal(t, 0, queueLen(t, r.poison))
	gen, rep := r.met.calls()
	assert.Equal(t, 2, gen, "Generated hook per image")
	assert.Equal(t, 2, rep, "Replied hook per reply or DM")
}

func itoa(n uint32) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func queueLen(t testing.TB, q queue.Queue) int {
	t.Helper()
	n, err := q.Len(context.Background())
	require.NoError(t, err)
	return n
}

// redeliver receives every job once and gives it back, as a crashed
// worker's lease running out would: the next delivery has dequeue count 2.
func (r *rig) redeliver() {
	r.t.Helper()
	ms, err := r.q.Receive(context.Background(), queue.MaxReceive, time.Minute)
	require.NoError(r.t, err)
	require.NotEmpty(r.t, ms)
	for _, m := range ms {
		_, err = r.q.Update(context.Background(), m.ID, m.Receipt, 0, nil)
		require.NoError(r.t, err)
	}
}

func TestRedeliveredJobWhoseReplyExists(t *testing.T) {
	r := newRig(t, rigOpts{})
	tj, dj := tweetJob("1332557345071644672"), dmJob("1332557345071644999")
	// The answers an earlier, crashed attempt sent.
	r.x.SeedPost(xfake.Post{AuthorID: xfake.DefaultBotUserID, InReplyToTweetID: tj.RespondID, Text: "@alice earlier"})
	req, err := imagegen.DefaultCommands().Request(dj.Command, dj.Args, dj.ID)
	require.NoError(t, err)
	text, err := r.client.Text(reply.Fields{MsgType: "dm", Seed: uint64(req.Seed), Command: dj.Command, JobID: dj.ID})
	require.NoError(t, err)
	r.x.SeedDM(xfake.DM{SenderID: xfake.DefaultBotUserID, RecipientID: dj.UserID, Text: text})

	r.enqueue(body(t, tj))
	r.enqueue(body(t, dj))
	r.redeliver()
	r.run(r.consumer(nil))
	r.waitEmpty()

	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1, "no second reply")
	assert.Len(t, r.x.DMsTo(dj.UserID), 1, "no second DM")
	assert.Equal(t, 2, r.outcome(worker.OutcomeAlreadyReplied))
	assert.Zero(t, r.gen.Calls(), "nothing generated")
	assert.Empty(t, r.x.Uploads())
	gen, rep := r.met.calls()
	assert.Zero(t, gen+rep, "no generation or reply latency without a generation")
}

func TestRedeliveredJobWithoutReplyAnswers(t *testing.T) {
	r := newRig(t, rigOpts{})
	tj := tweetJob("1332557345071644672")
	// A reply to another tweet does not count.
	r.x.SeedPost(xfake.Post{AuthorID: xfake.DefaultBotUserID, InReplyToTweetID: "1", Text: "@bob other"})
	r.enqueue(body(t, tj))
	r.redeliver()
	r.run(r.consumer(nil))
	r.waitEmpty()
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1)
	assert.Equal(t, 1, r.outcome(worker.OutcomeReplied))
	var reads int
	for _, rq := range r.x.Requests() {
		if rq.Endpoint == xfake.EndpointUserTweets {
			reads++
		}
	}
	assert.Equal(t, 1, reads, "the redelivered job read back first")
}

func TestDoneMarkedMessageOnlyDeleted(t *testing.T) {
	r := newRig(t, rigOpts{})
	b := body(t, tweetJob("1332557345071644672"))
	b = append(b[:len(b)-1], `,"done":"1999"}`...)
	r.enqueue(b)
	r.run(r.consumer(nil))
	r.waitEmpty()
	assert.Empty(t, r.x.Requests(), "X was not called")
	assert.Zero(t, r.gen.Calls())
	assert.Equal(t, 1, r.outcome(worker.OutcomeAlreadyReplied))
}

// markSpy records the bodies written with Update (the done marker).
type markSpy struct {
	queue.Queue
	mu     sync.Mutex
	bodies []string
	delays []time.Duration
}

func (s *markSpy) Update(ctx context.Context, id, receipt string, vis time.Duration, body []byte) (string, error) {
	if body != nil {
		s.mu.Lock()
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
	}
	return s.Queue.Update(ctx, id, receipt, vis, body)
}

func (s *markSpy) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	if opts != nil {
		s.mu.Lock()
		s.delays = append(s.delays, opts.Delay)
		s.mu.Unlock()
	}
	return s.Queue.Enqueue(ctx, body, opts)
}

func (s *markSpy) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func (s *markSpy) Delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

func TestReplyMarksDoneBeforeDelete(t *testing.T) {
	spy := &markSpy{Queue: newMem(t, "jobs", nil)}
	r := newRig(t, rigOpts{q: spy})
	tj := tweetJob("1332557345071644672")
	r.enqueue(body(t, tj))
	r.run(r.consumer(nil))
	r.waitEmpty()
	posts := r.x.RepliesTo(tj.RespondID)
	require.Len(t, posts, 1)
	bodies := spy.Bodies()
	require.Len(t, bodies, 1)
	var got struct {
		ID   string `json:"id"`
		Done string `json:"done"`
	}
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &got))
	assert.Equal(t, tj.ID, got.ID)
	assert.Equal(t, posts[0].ID, got.Done)
	parsed, err := filter.ParseJob([]byte(bodies[0]))
	require.NoError(t, err, "the marked body is still a job")
	assert.Equal(t, tj.RespondID, parsed.RespondID)
}

// clock is a settable clock near real time.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

func TestRateLimitDefersUntilReset(t *testing.T) {
	clk := &clock{}
	spy := &markSpy{Queue: newMem(t, "jobs", clk.Now)}
	r := newRig(t, rigOpts{q: spy, now: clk.Now})
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	_, err := r.x.InjectFault(xfake.Fault{Kind: xfake.FaultRateLimit, Endpoint: xfake.EndpointTweets, Times: 1, Reset: reset})
	require.NoError(t, err)
	tj := tweetJob("1332557345071644672")
	r.enqueue(body(t, tj))
	r.run(r.consumer(nil))

	require.Eventually(t, func() bool { return len(spy.Delays()) == 1 }, waitFor, tick)
	d := spy.Delays()[0]
	want := time.Until(reset)
	assert.InDelta(t, want.Seconds(), d.Seconds(), 3, "deferred until X's reset, got %v", d)
	assert.Equal(t, 1, r.outcome(worker.OutcomeRateLimited))
	assert.Empty(t, r.x.RepliesTo(tj.RespondID))
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, 1, queueLen(t, spy), "the job waits in the queue")
	assert.Equal(t, 1, r.gen.Calls(), "not retried before the reset")

	clk.Advance(d)
	r.waitEmpty()
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1, "answered after the reset")
	assert.Equal(t, 1, r.outcome(worker.OutcomeReplied))
	assert.Equal(t, 0, r.outcome(worker.OutcomeFailed))
	assert.Equal(t, 0, queueLen(t, r.poison))
	// The deferred copy was marked for read-back.
	require.NotEmpty(t, spy.Bodies())
	assert.Contains(t, spy.Bodies()[0], `"redelivered":true`)
}

func TestPermanentXErrorsEndTheJob(t *testing.T) {
	for _, kind := range []xfake.FaultKind{xfake.FaultDuplicate, xfake.FaultUsageCap} {
		t.Run(kind.String(), func(t *testing.T) {
			r := newRig(t, rigOpts{})
			_, err := r.x.InjectFault(xfake.Fault{Kind: kind, Endpoint: xfake.EndpointTweets})
			require.NoError(t, err)
			tj := tweetJob("1332557345071644672")
			r.enqueue(body(t, tj))
			r.run(r.consumer(nil))
			r.waitEmpty()
			assert.Empty(t, r.x.RepliesTo(tj.RespondID))
			assert.Equal(t, 1, r.outcome(worker.OutcomePermanentXError))
			assert.Equal(t, 0, queueLen(t, r.poison), "not poisoned")
		})
	}
}

func TestInvalidJobsPoisoned(t *testing.T) {
	r := newRig(t, rigOpts{})
	unknown := tweetJob("1332557345071644672")
	unknown.Command = "nope"
	bad := []string{`not json`, `{"msg_type":"tweet","respond_id":1}`, string(body(t, unknown))}
	for _, b := range bad {
		r.enqueue([]byte(b))
	}
	r.run(r.consumer(nil))
	r.waitEmpty()
	assert.Equal(t, 3, r.outcome(worker.OutcomeInvalid))
	assert.Empty(t, r.x.Requests())
	ms, err := r.poison.Receive(context.Background(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ms, 3)
	var got []string
	for _, m := range ms {
		rec, err := queue.DecodePoison(m.Body)
		require.NoError(t, err)
		assert.Equal(t, queue.PoisonPermanent, rec.Reason)
		assert.NotEmpty(t, rec.Error)
		got = append(got, rec.Body)
	}
	assert.ElementsMatch(t, bad, got, "the bodies are kept byte for byte")
}

func TestResetAfterStoreRepliesOnce(t *testing.T) {
	r := newRig(t, rigOpts{})
	_, err := r.x.InjectFault(xfake.Fault{Kind: xfake.FaultResetAfterStore, Endpoint: xfake.EndpointTweets, Times: 1})
	require.NoError(t, err)
	_, err = r.x.InjectFault(xfake.Fault{Kind: xfake.FaultResetAfterStore, Endpoint: xfake.EndpointDMSend, Times: 1})
	require.NoError(t, err)
	tj, dj := tweetJob("1332557345071644672"), dmJob("1332557345071644999")
	r.enqueue(body(t, tj))
	r.enqueue(body(t, dj))
	r.run(r.consumer(nil))
	r.waitEmpty()
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1)
	assert.Len(t, r.x.DMsTo(dj.UserID), 1)
	assert.Equal(t, 2, r.outcome(worker.OutcomeReplied))
}

func TestServerErrorsRetryThenReplyOnce(t *testing.T) {
	r := newRig(t, rigOpts{})
	// Two 503s exhaust the client's two attempts; the Consumer retries the job.
	_, err := r.x.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointTweets, Times: 2})
	require.NoError(t, err)
	tj := tweetJob("1332557345071644672")
	r.enqueue(body(t, tj))
	r.run(r.consumer(nil))
	r.waitEmpty()
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1)
	assert.Equal(t, 1, r.outcome(worker.OutcomeFailed))
	assert.Equal(t, 1, r.outcome(worker.OutcomeReplied))
	assert.Equal(t, 2, r.gen.Calls(), "the retry regenerates")
}

// dyingReplier stores the reply on X, then "kills" the process before the
// worker can mark or delete the job.
type dyingReplier struct {
	worker.Replier
	die    func()
	killed chan struct{}
}

func (d *dyingReplier) ReplyWithImage(ctx context.Context, tweetID, text string, img []byte) (*reply.Tweet, error) {
	t, err := d.Replier.ReplyWithImage(ctx, tweetID, text, img)
	if err != nil {
		return t, err
	}
	d.die()
	<-ctx.Done() // the process is gone; nothing after this point happens
	close(d.killed)
	return nil, context.Cause(ctx)
}

func TestCrashAfterReplyBeforeDelete(t *testing.T) {
	dr := &dyingReplier{killed: make(chan struct{})}
	r := newRig(t, rigOpts{replier: dr})
	dr.Replier = r.client
	c1 := r.consumer(nil)
	dr.die = r.run(c1) // stop with DrainTimeout -1: the handler is cancelled and the message released
	var once sync.Once
	die := dr.die
	dr.die = func() { once.Do(func() { go die() }) }
	tj := tweetJob("1332557345071644672")
	r.enqueue(body(t, tj))
	<-dr.killed
	require.Len(t, r.x.RepliesTo(tj.RespondID), 1, "the reply was stored before the crash")
	require.Equal(t, 1, queueLen(t, r.q), "the job survived the crash")

	// A new process: a fresh worker and consumer take the redelivered job.
	w2, err := worker.New(worker.Config{Generator: r.gen, Replier: r.client, BotUserID: xfake.DefaultBotUserID, Metrics: r.met.hooks()})
	require.NoError(t, err)
	r.run(r.consumer(w2))
	r.waitEmpty()
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1, "exactly one reply")
	assert.Equal(t, 1, r.outcome(worker.OutcomeAlreadyReplied))
	assert.Equal(t, 1, r.gen.Calls(), "the second process did not generate")
}

// Handle outside a Consumer (no Delivery) still answers; it cannot mark.
func TestHandleWithoutConsumer(t *testing.T) {
	r := newRig(t, rigOpts{})
	tj := tweetJob("1332557345071644672")
	err := r.w.Handle(context.Background(), &queue.Message{ID: "1", Body: body(t, tj), DequeueCount: 1})
	require.NoError(t, err)
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1)

	err = r.w.Handle(context.Background(), &queue.Message{ID: "2", Body: []byte("{}"), DequeueCount: 1})
	require.True(t, queue.IsPermanent(err))
	require.ErrorIs(t, err, filter.ErrInvalidJob)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	err = r.w.Handle(cancelled, &queue.Message{ID: "3", Body: body(t, tweetJob("1332557345071644673")), DequeueCount: 1})
	require.Error(t, err)
	assert.False(t, queue.IsPermanent(err), "a cancelled job is retried, not poisoned")
	assert.True(t, errors.Is(err, context.Canceled), err.Error())
}

// lostMarkQueue applies the first body update (the done marker) but reports
// a transport error, as when Azure processes a request whose response never
// arrives (the SDK's retry then finds the connection refused). The worker's
// receipt is stale from then on.
type lostMarkQueue struct {
	queue.Queue
	mu   sync.Mutex
	lost int
}

func (q *lostMarkQueue) Update(ctx context.Context, id, receipt string, vis time.Duration, body []byte) (string, error) {
	rc, err := q.Queue.Update(ctx, id, receipt, vis, body)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil && body != nil && q.lost == 0 {
		q.lost++
		return "", fmt.Errorf("%w: update: connection reset after the request was sent", queue.ErrUnavailable)
	}
	return rc, err
}

// The CI run that found this: Azurite stopped while the done marker was
// written, the write took effect but its answer was lost, and the delete
// with the old receipt got PopReceiptMismatch. The message must come back
// when the marker's lease ends and be deleted without a second reply.
func TestDoneMarkWhoseAnswerWasLost(t *testing.T) {
	lq := &lostMarkQueue{Queue: newMem(t, "jobs", nil)}
	r := newRig(t, rigOpts{q: lq})
	c := r.consumer(nil, func(cfg *queue.ConsumerConfig) {
		cfg.Concurrency, cfg.BatchSize, cfg.Visibility = 1, 1, 300*time.Millisecond
	})
	tj := tweetJob("1332557345071644672")
	r.enqueue(body(t, tj))
	r.run(c)
	r.waitEmpty()
	assert.Equal(t, 1, lq.lost, "the fault fired")
	assert.Len(t, r.x.RepliesTo(tj.RespondID), 1, "exactly one reply")
	assert.Equal(t, 1, r.gen.Calls(), "the redelivery did not generate")
	assert.Equal(t, 1, r.outcome(worker.OutcomeAlreadyReplied), "the redelivery was recognised as done")
	n, err := r.poison.Len(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing poisoned")
}
