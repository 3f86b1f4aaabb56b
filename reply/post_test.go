package reply

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingTransport counts the HTTP requests a client makes.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestReplyWithImageTwoRequests(t *testing.T) {
	x := newMiniX(t)
	ct := &countingTransport{base: http.DefaultTransport}
	env := newEnv(t, x, func(c *Config) { c.HTTPClient = &http.Client{Transport: ct} })
	img := pngBytes(t, 16)
	tw, err := env.c.ReplyWithImage(context.Background(), "1332557345071644672", "@alice Here's your generated image! (seed 1, #abcdef)", img)
	require.NoError(t, err)
	assert.Equal(t, int32(2), ct.n.Load(), "exactly two HTTP requests")
	assert.Equal(t, []string{"POST /2/media/upload", "POST /2/tweets"}, x.Paths())
	posts := x.Posts()
	require.Len(t, posts, 1)
	assert.Equal(t, tw.ID, posts[0].ID)
	assert.False(t, tw.Recovered)
	assert.Equal(t, "1332557345071644672", posts[0].InReplyTo)
	require.Len(t, posts[0].MediaIDs, 1)
	assert.Equal(t, img, x.uploads[posts[0].MediaIDs[0]].Data)
}

func TestReplyRefusesBadInputBeforeSending(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	ctx := context.Background()
	long := strings.Repeat("字", 141)
	_, err := env.c.ReplyWithImage(ctx, "5", long, pngBytes(t, 8))
	require.ErrorIs(t, err, ErrTextTooLong)
	_, err = env.c.Reply(ctx, "5", strings.Repeat("x", 281))
	require.ErrorIs(t, err, ErrTextTooLong)
	for name, call := range map[string]func() error{
		"tweet id":      func() error { _, err := env.c.Reply(ctx, "12ab", "hi"); return err },
		"empty id":      func() error { _, err := env.c.Reply(ctx, "", "hi"); return err },
		"no content":    func() error { _, err := env.c.Reply(ctx, "5", "  "); return err },
		"media id":      func() error { _, err := env.c.Reply(ctx, "5", "hi", "x1"); return err },
		"five media":    func() error { _, err := env.c.Reply(ctx, "5", "hi", "1", "2", "3", "4", "5"); return err },
		"dm user":       func() error { _, err := env.c.SendDM(ctx, "bob", "hi", ""); return err },
		"dm media":      func() error { _, err := env.c.SendDM(ctx, "5", "hi", "m"); return err },
		"dm no content": func() error { _, err := env.c.SendDM(ctx, "5", "", ""); return err },
		"dm image user": func() error { _, err := env.c.DMWithImage(ctx, "", "hi", pngBytes(t, 8)); return err },
	} {
		require.ErrorIs(t, call(), ErrInvalidInput, name)
	}
	_, err = env.c.DMWithImage(ctx, "5", strings.Repeat("a", MaxDMChars+1), pngBytes(t, 8))
	require.ErrorIs(t, err, ErrTextTooLong)
	assert.Empty(t, x.Paths(), "nothing reached X")
}

func TestReplyRateLimitWaitsForReset(t *testing.T) {
	x := newMiniX(t)
	var env *testEnv
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			reset := env.clock.Now().Add(40 * time.Second).Unix()
			w.Header().Set("x-rate-limit-limit", "100")
			w.Header().Set("x-rate-limit-remaining", "0")
			w.Header().Set("x-rate-limit-reset", strconv.FormatInt(reset, 10))
			writeJSON(w, 429, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`)
			return true
		}
		return false
	}
	env = newEnv(t, x)
	x.clock = env.clock
	tw, err := env.c.Reply(context.Background(), "5", "hello")
	require.NoError(t, err)
	assert.NotEmpty(t, tw.ID)
	assert.Equal(t, []time.Duration{41 * time.Second}, env.clock.Waits(), "reset - now + 1 s slack")
	assert.Len(t, x.Posts(), 1)
}

func TestReplyRateLimitBeyondDeadlineReturnsReset(t *testing.T) {
	x := newMiniX(t)
	var env *testEnv
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		now := env.clock.Now()
		w.Header().Set("x-rate-limit-remaining", "12")
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10))
		w.Header().Set("x-user-limit-24hour-remaining", "0")
		w.Header().Set("x-user-limit-24hour-reset", strconv.FormatInt(now.Add(6*time.Hour).Unix(), 10))
		writeJSON(w, 429, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`)
		return true
	}
	env = newEnv(t, x)
	_, err := env.c.Reply(context.Background(), "5", "hello")
	require.ErrorIs(t, err, ErrRateLimited)
	at, ok := RateLimitReset(err)
	require.True(t, ok)
	assert.Equal(t, env.clock.Now().Add(6*time.Hour).Unix(), at.Unix(), "24-hour reset wins")
	assert.Len(t, x.Paths(), 1, "no retry: the wait does not fit the deadline")
	assert.Empty(t, env.clock.Waits())
}

func TestReplyPermanentErrorsNotRetried(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"usage cap", 429, `{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped","period":"Monthly"}`, ErrUsageCapped},
		{"not summoned", 403, `{"title":"Forbidden","detail":"Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.","type":"about:blank","status":403}`, ErrNotAllowed},
		{"expired media", 400, `{"errors":[{"parameters":{"media.media_ids":["1"]},"message":"Your media IDs are invalid."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`, ErrBadRequest},
		{"auth", 401, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`, ErrUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newMiniX(t)
			x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
				writeJSON(w, tc.status, tc.body)
				return true
			}
			env := newEnv(t, x)
			_, err := env.c.Reply(context.Background(), "5", "hello", "77")
			require.ErrorIs(t, err, tc.want)
			assert.False(t, IsRetryable(err))
			assert.Len(t, x.Paths(), 1)
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func TestReplyDuplicateIsPermanent(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	_, err := env.c.Reply(context.Background(), "5", "same text")
	require.NoError(t, err)
	_, err = env.c.Reply(context.Background(), "6", "same text")
	require.ErrorIs(t, err, ErrDuplicateContent)
	assert.True(t, IsDuplicate(err))
	assert.Len(t, x.Paths(), 2)
}

func TestReplyExpiredMediaFromMiniX(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	_, err := env.c.Reply(context.Background(), "5", "hello", "424242")
	require.ErrorIs(t, err, ErrBadRequest)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.Status)
	require.Len(t, ae.Errors, 1)
	assert.Equal(t, []string{"424242"}, ae.Errors[0].Parameters["media.media_ids"])
}

// The post is stored, then the connection drops: the client reads back,
// finds it, and does not post again.
func TestReplyResetAfterStoreRecoveredByReadBack(t *testing.T) {
	x := newMiniX(t)
	stored := false
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/2/tweets" && !stored {
			stored = true
			x.serve(httptestRecorder(), r) // store it
			hangUp(t, w)
			return true
		}
		return false
	}
	env := newEnv(t, x)
	x.clock = env.clock
	tw, err := env.c.Reply(context.Background(), "5", "hello there")
	require.NoError(t, err)
	assert.True(t, tw.Recovered)
	posts := x.Posts()
	require.Len(t, posts, 1, "exactly one post")
	assert.Equal(t, posts[0].ID, tw.ID)
	assert.Equal(t, []string{"POST /2/tweets", "GET /2/users/" + testBotID + "/tweets"}, x.Paths(),
		"one post request and one read-back")
	assert.Contains(t, env.logs.String(), "uncertain")
}

// 503 on the post that was not stored: read-back finds nothing, the
// client posts again after backoff and succeeds.
func TestReply503ThenSuccessAfterReadBack(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			writeJSON(w, 503, `{"title":"Service Unavailable","status":503}`)
			return true
		}
		return false
	}
	env := newEnv(t, x)
	tw, err := env.c.Reply(context.Background(), "5", "hello")
	require.NoError(t, err)
	assert.False(t, tw.Recovered)
	assert.Equal(t, []string{"POST /2/tweets", "GET /2/users/" + testBotID + "/tweets", "POST /2/tweets"}, x.Paths())
	assert.Equal(t, []time.Duration{DefaultBaseBackoff}, env.clock.Waits())
	assert.Len(t, x.Posts(), 1)
}

// The post was stored but the read-back does not see it yet (index lag):
// the second post hits X's duplicate refusal, and the client reads back
// again rather than reporting a duplicate.
func TestReplyDuplicateAfterUncertainReadsBackAgain(t *testing.T) {
	x := newMiniX(t)
	reads := 0
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch {
		case n == 1:
			x.serve(httptestRecorder(), r)
			writeJSON(w, 500, `{"title":"Internal Server Error","status":500}`)
			return true
		case r.Method == "GET":
			reads++
			if reads == 1 {
				writeJSON(w, 200, `{"meta":{"result_count":0}}`)
				return true
			}
		}
		return false
	}
	env := newEnv(t, x)
	tw, err := env.c.Reply(context.Background(), "5", "hello")
	require.NoError(t, err)
	assert.True(t, tw.Recovered)
	assert.Len(t, x.Posts(), 1)
	assert.Equal(t, 2, reads)
}

func TestReplyUncertainWithoutBotUserID(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		x.serve(httptestRecorder(), r)
		hangUp(t, w)
		return true
	}
	env := newEnv(t, x, func(c *Config) { c.BotUserID = "" })
	_, err := env.c.Reply(context.Background(), "5", "hello")
	require.ErrorIs(t, err, ErrUncertain)
	var ue *UncertainError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "5", ue.InReplyToTweetID)
	assert.Equal(t, env.clock.Now().Add(-readBackSkew), ue.Since)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Sent)
	assert.False(t, IsRetryable(err), "must check before retrying")
	assert.Len(t, x.Posts(), 1)
	assert.Len(t, x.Paths(), 1, "one POST, no second attempt")
}

func TestReplyReadBackFailureIsUncertain(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == "GET" {
			writeJSON(w, 401, `{"title":"Unauthorized","status":401}`)
		} else {
			writeJSON(w, 502, `{"title":"Bad Gateway","status":502}`)
		}
		return true
	}
	env := newEnv(t, x)
	_, err := env.c.Reply(context.Background(), "5", "hello")
	require.ErrorIs(t, err, ErrUncertain)
	assert.ErrorIs(t, err, ErrServer)
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Len(t, x.Paths(), 2, "one post, one read-back, no blind second post")
}

func TestReplyNotSentFailureRetried(t *testing.T) {
	// A server that is down: dialing fails before anything is written.
	x := newMiniX(t)
	env := newEnv(t, x)
	env.srv.Close()
	_, err := env.c.Reply(context.Background(), "5", "hello")
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Sent)
	assert.NotErrorIs(t, err, ErrUncertain)
	assert.True(t, IsRetryable(err))
	assert.Len(t, env.clock.Waits(), DefaultMaxAttempts-1, "retried with backoff")
	assert.NotContains(t, err.Error(), "oauth_signature")
}

func TestDMWithImage(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	d, err := env.c.DMWithImage(context.Background(), "1247048165561270272", "Here's your generated image! (seed 7, #0a0b0c)", pngBytes(t, 8))
	require.NoError(t, err)
	dms := x.DMs()
	require.Len(t, dms, 1)
	assert.Equal(t, d.EventID, dms[0].ID)
	assert.Equal(t, testBotID+"-1247048165561270272", d.ConversationID)
	assert.Equal(t, CategoryDMImage, x.uploads[dms[0].MediaID].Category)
	assert.Equal(t, []string{"POST /2/media/upload", "POST /2/dm_conversations/with/1247048165561270272/messages"}, x.Paths())
}

func TestDMTweetImageNotAllowed(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	m, err := env.c.UploadImage(context.Background(), pngBytes(t, 8), nil)
	require.NoError(t, err)
	_, err = env.c.SendDM(context.Background(), "42", "hi", m.ID)
	require.ErrorIs(t, err, ErrNotAllowed)
	assert.Contains(t, err.Error(), "not permitted to attach")
}

func TestDMResetAfterStoreRecovered(t *testing.T) {
	x := newMiniX(t)
	stored := false
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasSuffix(r.URL.Path, "/messages") && !stored {
			stored = true
			x.serve(httptestRecorder(), r)
			hangUp(t, w)
			return true
		}
		return false
	}
	env := newEnv(t, x)
	x.clock = env.clock
	d, err := env.c.DMWithImage(context.Background(), "42", "your image", pngBytes(t, 8))
	require.NoError(t, err)
	assert.True(t, d.Recovered)
	dms := x.DMs()
	require.Len(t, dms, 1)
	assert.Equal(t, dms[0].ID, d.EventID)
}
