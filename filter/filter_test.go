package filter

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewConfigErrors(t *testing.T) {
	cases := map[string]Config{
		"no bot":             {},
		"bot not decimal":    {BotUserID: "@bot"},
		"negative ttl":       {BotUserID: testBot, DedupTTL: -time.Second},
		"negative every":     {BotUserID: testBot, RateLimit: RateLimit{Every: -time.Second}},
		"negative burst":     {BotUserID: testBot, RateLimit: RateLimit{Every: time.Second, Burst: -1}},
		"burst without rate": {BotUserID: testBot, RateLimit: RateLimit{Burst: 3}},
	}
	for name, cfg := range cases {
		f, err := New(cfg)
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
		assert.Nil(t, f, name)
	}
	f, err := New(Config{BotUserID: testBot})
	require.NoError(t, err)
	assert.Same(t, DefaultTable(), f.Table())
	assert.Equal(t, testBot, f.BotUserID())
}

func newTestFilter(t *testing.T, c *clock, cfg Config) *Filter {
	t.Helper()
	cfg.BotUserID = testBot
	cfg.Now = c.now
	f, err := New(cfg)
	require.NoError(t, err)
	return f
}

func payload(tweets ...events.Tweet) *events.Payload {
	return &events.Payload{ForUserID: testBot, TweetCreateEvents: tweets}
}

func TestFilterDuplicates(t *testing.T) {
	c := newClock()
	f := newTestFilter(t, c, Config{DedupTTL: time.Hour})
	p := payload(mentionTweet("1", "@bot moerand"), mentionTweet("1", "@bot moerand"), mentionTweet("2", "@bot hi"))

	res := f.Results(p)
	require.Len(t, res, 3)
	assert.Equal(t, ReasonJob, res[0].Reason)
	assert.Equal(t, c.now(), res[0].Job.ReceivedAt, "received_at comes from the clock")
	assert.Equal(t, ReasonDuplicate, res[1].Reason, "a duplicate within one payload")
	assert.Nil(t, res[1].Job)
	assert.Equal(t, ReasonNotACommand, res[2].Reason)

	assert.Empty(t, f.Jobs(p), "redelivery of the same payload")
	c.advance(time.Hour)
	jobs := f.Jobs(p)
	require.Len(t, jobs, 1, "after the TTL the id is new again")
	assert.Equal(t, "tweet:1", jobs[0].ID)

	// A DM and a tweet with the same number are different events.
	dm := &events.Payload{ForUserID: testBot, DirectMessageEvents: []events.DirectMessage{dmTo("1", testAlice, testBot, "moerand")}}
	assert.Len(t, f.Jobs(dm), 1)
}

func TestFilterDedupOff(t *testing.T) {
	c := newClock()
	f := newTestFilter(t, c, Config{DedupSize: -1})
	p := payload(mentionTweet("1", "@bot moerand"))
	assert.Len(t, f.Jobs(p), 1)
	assert.Len(t, f.Jobs(p), 1, "no suppression when DedupSize < 0")
}

func TestFilterDedupSize(t *testing.T) {
	c := newClock()
	f := newTestFilter(t, c, Config{DedupSize: 2})
	for _, id := range []string{"1", "2", "3"} {
		require.Len(t, f.Jobs(payload(mentionTweet(id, "@bot moerand"))), 1)
	}
	assert.Len(t, f.Jobs(payload(mentionTweet("1", "@bot moerand"))), 1, "the oldest id was forgotten")
	assert.Empty(t, f.Jobs(payload(mentionTweet("3", "@bot moerand"))), "the newest is remembered")
}

func TestFilterRateLimit(t *testing.T) {
	c := newClock()
	f := newTestFilter(t, c, Config{RateLimit: RateLimit{Every: time.Minute, Burst: 2}})
	bobTweet := mentionTweet("100", "@bot moerand")
	bobTweet.User = events.User{ID: testBob, ScreenName: "bob"}
	p := payload(mentionTweet("1", "@bot moerand"), mentionTweet("1", "@bot moerand"),
		mentionTweet("2", "@bot moemess"), mentionTweet("3", "@bot moename x"), bobTweet)
	res := f.Results(p)
	var got []Reason
	for _, r := range res {
		got = append(got, r.Reason)
	}
	assert.Equal(t, []Reason{ReasonJob, ReasonDuplicate, ReasonJob, ReasonRateLimited, ReasonJob}, got,
		"duplicates take no token; bob has his own bucket")

	// The rate-limited event is not remembered: a redelivery after a
	// refill becomes a job.
	c.advance(time.Minute)
	jobs := f.Jobs(payload(mentionTweet("3", "@bot moename x")))
	require.Len(t, jobs, 1)
	assert.Equal(t, "x", jobs[0].Args)
}

func TestFilterForget(t *testing.T) {
	c := newClock()
	f := newTestFilter(t, c, Config{RateLimit: RateLimit{Every: time.Hour, Burst: 1}})
	p := payload(mentionTweet("1", "@bot moerand"))
	jobs := f.Jobs(p)
	require.Len(t, jobs, 1)
	// The queue was down: the webhook answers 500 and X retries.
	f.Forget(jobs...)
	again := f.Jobs(p)
	require.Len(t, again, 1, "a forgotten job is neither a duplicate nor rate limited")
	assert.Equal(t, jobs, again)

	// Forgetting a job that was never taken refunds nothing.
	f.Forget(Job{ID: "tweet:999", UserID: testAlice})
	res := f.Results(payload(mentionTweet("2", "@bot moerand")))
	assert.Equal(t, ReasonRateLimited, res[0].Reason)
}

func TestFilterLogsSkips(t *testing.T) {
	var buf bytes.Buffer
	c := newClock()
	f := newTestFilter(t, c, Config{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	f.Jobs(payload(mentionTweet("1", "@bot moerand"), mentionTweet("2", "@bot hi")))
	out := buf.String()
	assert.Contains(t, out, "reason=not_a_command")
	assert.Contains(t, out, "event_id=2")
	assert.NotContains(t, out, "event_id=1 ", "jobs are not logged as skips")
}

func TestFilterConcurrent(t *testing.T) {
	c := newClock()
	f := newTestFilter(t, c, Config{})
	const workers, ids = 8, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[string]int{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				for _, j := range f.Jobs(payload(mentionTweet(fmt.Sprint(i+1), "@bot moerand"))) {
					mu.Lock()
					count[j.ID]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	assert.Len(t, count, ids)
	for id, n := range count {
		assert.Equal(t, 1, n, "job %s produced %d times", id, n)
	}
}
