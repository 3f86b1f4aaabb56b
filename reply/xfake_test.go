package reply_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a fake clock shared by the client and the fake X. It starts at
// the real time because OAuth timestamps (set by the signer) must fall in
// the fake's window.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func startFake(t *testing.T, mods ...func(*reply.Config)) (*xfake.Server, *reply.Client, *clock) {
	t.Helper()
	clk := &clock{now: time.Now().Truncate(time.Second)}
	fx := xfake.Start(t, xfake.Config{Now: clk.Now})
	fc := fx.Config()
	cfg := reply.Config{
		ConsumerKey: fc.ConsumerKey, ConsumerSecret: fc.ConsumerSecret,
		AccessToken: fc.AccessToken, AccessTokenSecret: fc.AccessTokenSecret,
		BotUserID: fc.BotUserID, BaseURL: fx.URL(),
		Now: clk.Now, Sleep: clk.Sleep,
		Jitter:  func(d time.Duration) time.Duration { return d },
		Timeout: 5 * time.Second,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := reply.New(cfg)
	require.NoError(t, err)
	return fx, c, clk
}

func testPNG(t *testing.T, side int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, side, side))
	x := uint32(88172645)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x)
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

const mention = "1332557345071644672"

func TestXFakeReplyWithImage(t *testing.T) {
	fx, c, _ := startFake(t)
	text, err := c.Text(reply.Fields{Seed: 12345, ScreenName: "alice", JobID: "tweet:" + mention})
	require.NoError(t, err)
	tw, err := c.ReplyWithImage(context.Background(), mention, text, testPNG(t, 32))
	require.NoError(t, err)
	replies := fx.RepliesTo(mention)
	require.Len(t, replies, 1)
	assert.Equal(t, tw.ID, replies[0].ID)
	assert.Equal(t, text, replies[0].Text)
	assert.Equal(t, fx.Bot().UserID, replies[0].AuthorID)
	require.Len(t, replies[0].MediaIDs, 1)
	for _, r := range fx.Requests() {
		assert.Equal(t, "oauth1", r.Auth, "%s %s: %s", r.Method, r.Path, r.AuthError)
	}
	assert.Len(t, fx.Requests(), 2)
}

func TestXFakeChunkedUploadThenReply(t *testing.T) {
	fx, c, _ := startFake(t, func(cfg *reply.Config) { cfg.ChunkThreshold = 1024; cfg.ChunkSize = 1024 })
	img := testPNG(t, 64)
	require.Greater(t, len(img), 1024)
	m, err := c.UploadImage(context.Background(), img, nil)
	require.NoError(t, err)
	_, err = c.Reply(context.Background(), mention, "chunked", m.ID)
	require.NoError(t, err)
	var endpoints []string
	for _, r := range fx.Requests() {
		endpoints = append(endpoints, r.Endpoint)
	}
	assert.Contains(t, endpoints, xfake.EndpointMediaInitialize)
	assert.Contains(t, endpoints, xfake.EndpointMediaAppend)
	assert.Contains(t, endpoints, xfake.EndpointMediaFinalize)
	assert.Len(t, fx.RepliesTo(mention), 1)
}

func TestXFakeDMWithImage(t *testing.T) {
	fx, c, _ := startFake(t)
	d, err := c.DMWithImage(context.Background(), "1247048165561270272", "Here's your generated image! (seed 9, #123abc)", testPNG(t, 16))
	require.NoError(t, err)
	dms := fx.DMsTo("1247048165561270272")
	require.Len(t, dms, 1)
	assert.Equal(t, d.EventID, dms[0].EventID)
	assert.Equal(t, fx.Bot().UserID, dms[0].SenderID)
	assert.Len(t, dms[0].MediaIDs, 1)
}

func TestXFakeResetAfterStoreNoSecondPost(t *testing.T) {
	fx, c, _ := startFake(t)
	_, err := fx.InjectFault(xfake.Fault{Kind: xfake.FaultResetAfterStore, Endpoint: xfake.EndpointTweets, Times: 1})
	require.NoError(t, err)
	tw, err := c.ReplyWithImage(context.Background(), mention, "once only", testPNG(t, 16))
	require.NoError(t, err)
	assert.True(t, tw.Recovered)
	replies := fx.RepliesTo(mention)
	require.Len(t, replies, 1, "exactly one reply")
	assert.Equal(t, replies[0].ID, tw.ID)
}

func TestXFakeDMResetAfterStoreNoSecondDM(t *testing.T) {
	fx, c, _ := startFake(t)
	_, err := fx.InjectFault(xfake.Fault{Kind: xfake.FaultResetAfterStore, Endpoint: xfake.EndpointDMSend, Times: 1})
	require.NoError(t, err)
	d, err := c.DMWithImage(context.Background(), "42", "dm once", testPNG(t, 16))
	require.NoError(t, err)
	assert.True(t, d.Recovered)
	dms := fx.DMsTo("42")
	require.Len(t, dms, 1, "exactly one DM")
	assert.Equal(t, dms[0].EventID, d.EventID)
}

func TestXFakeRateLimitWaitsThenPosts(t *testing.T) {
	fx, c, clk := startFake(t)
	_, err := fx.InjectFault(xfake.Fault{Kind: xfake.FaultRateLimit, Endpoint: xfake.EndpointTweets, Times: 1,
		Reset: clk.Now().Add(30 * time.Second)})
	require.NoError(t, err)
	_, err = c.Reply(context.Background(), mention, "after the wait")
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{31 * time.Second}, clk.Waits())
	assert.Len(t, fx.RepliesTo(mention), 1)
}

func TestXFakeRateLimitTooLongReturnsReset(t *testing.T) {
	fx, c, clk := startFake(t)
	reset := clk.Now().Add(time.Hour)
	_, err := fx.InjectFault(xfake.Fault{Kind: xfake.FaultRateLimit, Endpoint: xfake.EndpointTweets, Reset: reset})
	require.NoError(t, err)
	_, err = c.Reply(context.Background(), mention, "later")
	require.ErrorIs(t, err, reply.ErrRateLimited)
	at, ok := reply.RateLimitReset(err)
	require.True(t, ok)
	assert.Equal(t, reset.Unix(), at.Unix())
	assert.Empty(t, fx.RepliesTo(mention))
}

func TestXFakePermanentFaults(t *testing.T) {
	for _, tc := range []struct {
		kind xfake.FaultKind
		want error
	}{
		{xfake.FaultUsageCap, reply.ErrUsageCapped},
		{xfake.FaultDuplicate, reply.ErrDuplicateContent},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			fx, c, clk := startFake(t)
			_, err := fx.InjectFault(xfake.Fault{Kind: tc.kind, Endpoint: xfake.EndpointTweets})
			require.NoError(t, err)
			_, err = c.Reply(context.Background(), mention, "nope")
			require.ErrorIs(t, err, tc.want)
			assert.False(t, reply.IsRetryable(err))
			assert.Empty(t, clk.Waits())
			n := 0
			for _, r := range fx.Requests() {
				if r.Endpoint == xfake.EndpointTweets {
					n++
				}
			}
			assert.Equal(t, 1, n, "not retried")
		})
	}
}

func TestXFakeUnavailableThenSuccess(t *testing.T) {
	fx, c, clk := startFake(t)
	_, err := fx.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointMediaUpload, Times: 2})
	require.NoError(t, err)
	_, err = fx.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointTweets, Times: 1})
	require.NoError(t, err)
	tw, err := c.ReplyWithImage(context.Background(), mention, "third time lucky", testPNG(t, 16))
	require.NoError(t, err)
	assert.False(t, tw.Recovered)
	assert.Len(t, fx.RepliesTo(mention), 1)
	// Upload: 1 s, 2 s backoff; post: one backoff before the read-back.
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, time.Second}, clk.Waits())
}

func TestXFakeOversizeTextRefusedLocally(t *testing.T) {
	fx, c, _ := startFake(t)
	long := ""
	for range 141 {
		long += "語"
	}
	_, err := c.ReplyWithImage(context.Background(), mention, long, testPNG(t, 8))
	require.ErrorIs(t, err, reply.ErrTextTooLong)
	assert.Empty(t, fx.Requests())
}

func TestXFakeFindReplyAndDM(t *testing.T) {
	_, c, clk := startFake(t)
	ctx := context.Background()
	since := clk.Now().Add(-time.Minute)
	_, found, err := c.FindReply(ctx, "", mention, since)
	require.NoError(t, err)
	assert.False(t, found)
	tw, err := c.Reply(ctx, mention, "findable")
	require.NoError(t, err)
	id, found, err := c.FindReply(ctx, "", mention, since)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, tw.ID, id)

	d, err := c.SendDM(ctx, "77", "dm findable", "")
	require.NoError(t, err)
	id, found, err = c.FindDM(ctx, "77", since, reply.SameText("dm findable"))
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, d.EventID, id)
	_, found, err = c.FindDM(ctx, "77", since, reply.SameText("other text"))
	require.NoError(t, err)
	assert.False(t, found)
}

func examplePNG() []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}
