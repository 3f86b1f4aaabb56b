package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newActivityEnv is newEnv with the fake answering in shape.
func newActivityEnv(t *testing.T, shape xfake.ActivityShape) *env {
	t.Helper()
	clk := newClock()
	x := xfake.Start(t, xfake.Config{Now: clk.Now, TimestampWindow: 72 * time.Hour, Activity: xfake.ActivityConfig{Shape: shape}})
	e := &env{t: t, clock: clk, x: x, logs: &bytes.Buffer{}}
	e.recv = newReceiver(t, x.Config().ConsumerSecret, clk.Now)
	e.client = e.newClient(nil)
	return e
}

// writes counts the XAA write calls the fake answered.
func (e *env) writes() int {
	return e.requests(xfake.EndpointActivityCreate) + e.requests(xfake.EndpointActivityUpdate) +
		e.requests(xfake.EndpointActivityDelete) + e.requests(xfake.EndpointActivityBulkDelete)
}

func (e *env) webhook() string {
	e.t.Helper()
	w, err := e.client.Ensure(context.Background(), e.recv.URL())
	require.NoError(e.t, err)
	return w.ID
}

func TestActivityCRUDEveryShape(t *testing.T) {
	for _, shape := range []xfake.ActivityShape{xfake.ActivityShapeSpec, xfake.ActivityShapeFlat, xfake.ActivityShapeArray} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			e := newActivityEnv(t, shape)
			ctx := context.Background()
			bot := e.x.Bot().UserID
			hook := e.webhook()
			s, total, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{
				EventType: webhooks.EventPostMention, Filter: webhooks.ActivityFilter{UserID: bot}, Tag: "mentions", WebhookID: hook})
			require.NoError(t, err)
			assert.Equal(t, 1, total)
			assert.NotEmpty(t, s.ID)
			assert.Equal(t, webhooks.EventPostMention, s.EventType)
			assert.Equal(t, bot, s.Filter.UserID)
			assert.Equal(t, hook, s.WebhookID)
			assert.Equal(t, "mentions", s.Tag)
			assert.False(t, s.CreatedAt.IsZero())
			last := e.x.Requests()[len(e.x.Requests())-1]
			assert.Equal(t, "oauth1", last.Auth, "a private event is created as the bot")

			pub, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{
				EventType: webhooks.EventPostCreate, Filter: webhooks.ActivityFilter{UserID: bot}})
			require.NoError(t, err)
			last = e.x.Requests()[len(e.x.Requests())-1]
			assert.Equal(t, "bearer", last.Auth, "a public event is created with the Bearer")

			tag := "renamed"
			up, err := e.client.UpdateActivitySubscription(ctx, s.ID, webhooks.ActivityUpdate{Tag: &tag})
			require.NoError(t, err)
			assert.Equal(t, "renamed", up.Tag)
			assert.Equal(t, hook, up.WebhookID)

			page, err := e.client.ListActivitySubscriptions(ctx, nil)
			require.NoError(t, err)
			assert.Equal(t, 2, page.Total)
			require.Len(t, page.Subscriptions, 2)
			assert.Equal(t, "renamed", page.Subscriptions[0].Tag)

			left, err := e.client.DeleteActivitySubscription(ctx, pub.ID)
			require.NoError(t, err)
			assert.Equal(t, 1, left)
			_, err = e.client.DeleteActivitySubscription(ctx, pub.ID)
			assert.ErrorIs(t, err, webhooks.ErrSubscriptionNotFound)
			assert.NotErrorIs(t, err, webhooks.ErrWebhookNotFound)
			for _, r := range e.x.Requests() {
				if r.Endpoint != xfake.EndpointActivityCreate && strings.HasPrefix(r.Path, "/2/activity/") {
					assert.Equal(t, "bearer", r.Auth, "%s %s", r.Method, r.Path)
				}
			}
		})
	}
}

// The three shapes, plus meta placements, read from hand-written answers.
func TestActivityAnswerShapes(t *testing.T) {
	sub := `{"subscription_id":"77","event_type":"dm.received","filter":{"user_id":"12"},"created_at":"2026-12-01T10:00:00.000Z"}`
	for name, tc := range map[string]struct {
		body  string
		total int
	}{
		"spec":            {`{"data":{"subscription":` + sub + `},"meta":{"total_subscriptions":4}}`, 4},
		"spec, inner sum": {`{"data":{"subscription":` + sub + `,"total_subscriptions":5}}`, 5},
		"flat":            {`{"data":` + sub + `,"meta":{"total_subscriptions":6}}`, 6},
		"array":           {`{"data":[` + sub + `]}`, -1},
	} {
		srv := httptest.NewServer(jsonHandler(200, tc.body, nil))
		c := newStandaloneClient(t, srv.URL)
		s, total, err := c.CreateActivitySubscription(context.Background(), webhooks.NewActivitySubscription{
			EventType: webhooks.EventPostCreate, Filter: webhooks.ActivityFilter{UserID: "12"}})
		srv.Close()
		require.NoError(t, err, name)
		assert.Equal(t, "77", s.ID, name)
		assert.Equal(t, "dm.received", s.EventType, name)
		assert.Equal(t, "12", s.Filter.UserID, name)
		assert.Equal(t, 2026, s.CreatedAt.Year(), name)
		assert.Equal(t, tc.total, total, name)
	}
	for name, body := range map[string]string{
		"two":   `{"data":[` + sub + `,` + sub + `]}`,
		"empty": `{"data":[]}`,
		"none":  `{"meta":{}}`,
		"no id": `{"data":{"event_type":"dm.received"}}`,
		"junk":  `{"data":"x"}`,
	} {
		srv := httptest.NewServer(jsonHandler(200, body, nil))
		c := newStandaloneClient(t, srv.URL)
		_, _, err := c.CreateActivitySubscription(context.Background(), webhooks.NewActivitySubscription{
			EventType: webhooks.EventPostCreate, Filter: webhooks.ActivityFilter{UserID: "12"}})
		srv.Close()
		assert.ErrorIs(t, err, webhooks.ErrBadResponse, name)
	}
}

func newStandaloneClient(t *testing.T, base string) *webhooks.Client {
	t.Helper()
	c, err := webhooks.New(webhooks.Config{BearerToken: "b", ConsumerKey: "k", ConsumerSecret: "s", AccessToken: "1-t",
		AccessTokenSecret: "ts", BaseURL: base})
	require.NoError(t, err)
	return c
}

func TestActivityErrors(t *testing.T) {
	e := newActivityEnv(t, xfake.ActivityShapeSpec)
	ctx := context.Background()
	bot := e.x.Bot().UserID
	n := webhooks.NewActivitySubscription{EventType: webhooks.EventDMReceived, Filter: webhooks.ActivityFilter{UserID: bot}}
	_, _, err := e.client.CreateActivitySubscription(ctx, n)
	require.NoError(t, err)
	_, _, err = e.client.CreateActivitySubscription(ctx, n)
	require.ErrorIs(t, err, webhooks.ErrDuplicateSubscription)

	// The fake refuses a private event about someone else.
	_, _, err = e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{
		EventType: webhooks.EventPostMention, Filter: webhooks.ActivityFilter{UserID: "2244994945"}})
	var ae *webhooks.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusForbidden, ae.Status)
	assert.ErrorIs(t, err, webhooks.ErrForbidden)
	assert.Contains(t, err.Error(), "POST /2/activity/subscriptions")

	// Without user credentials a private create sends nothing.
	before := len(e.x.Requests())
	appOnly := e.newClient(func(c *webhooks.Config) {
		c.ConsumerKey, c.ConsumerSecret, c.AccessToken, c.AccessTokenSecret = "", "", "", ""
	})
	_, _, err = appOnly.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{
		EventType: webhooks.EventPostQuote, Filter: webhooks.ActivityFilter{UserID: bot}})
	assert.ErrorIs(t, err, webhooks.ErrNoUserAuth)
	assert.Len(t, e.x.Requests(), before)

	// Bad input never reaches X.
	tooLong := strings.Repeat("x", 201)
	for name, call := range map[string]func() error{
		"event type": func() error {
			_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "Post Mention", Filter: webhooks.ActivityFilter{UserID: bot}})
			return err
		},
		"user id": func() error {
			_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "dm.sent", Filter: webhooks.ActivityFilter{UserID: "../1"}})
			return err
		},
		"no filter": func() error {
			_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "dm.sent"})
			return err
		},
		"direction": func() error {
			_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "dm.sent", Filter: webhooks.ActivityFilter{UserID: bot, Direction: "both"}})
			return err
		},
		"tag": func() error {
			_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "dm.sent", Filter: webhooks.ActivityFilter{UserID: bot}, Tag: tooLong})
			return err
		},
		"webhook id": func() error {
			_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "dm.sent", Filter: webhooks.ActivityFilter{UserID: bot}, WebhookID: "1/2"})
			return err
		},
		"update id": func() error {
			tag := "x"
			_, err := e.client.UpdateActivitySubscription(ctx, "../webhooks", webhooks.ActivityUpdate{Tag: &tag})
			return err
		},
		"empty update": func() error {
			_, err := e.client.UpdateActivitySubscription(ctx, "1", webhooks.ActivityUpdate{})
			return err
		},
		"delete id": func() error { _, err := e.client.DeleteActivitySubscription(ctx, "1?ids=2"); return err },
		"bulk none": func() error { _, err := e.client.DeleteActivitySubscriptions(ctx, nil); return err },
		"bulk many": func() error {
			_, err := e.client.DeleteActivitySubscriptions(ctx, strings.Split(strings.Repeat("1,", 100)+"1", ","))
			return err
		},
		"bulk bad id": func() error { _, err := e.client.DeleteActivitySubscriptions(ctx, []string{"1", "a,b"}); return err },
		"max results": func() error {
			_, err := e.client.ListActivitySubscriptions(ctx, &webhooks.ActivityListOptions{MaxResults: 1001})
			return err
		},
	} {
		before := len(e.x.Requests())
		assert.ErrorIs(t, call(), webhooks.ErrInvalidInput, name)
		assert.Len(t, e.x.Requests(), before, name)
	}
	for _, s := range e.secrets() {
		assert.NotContains(t, e.logs.String(), s)
	}
}

func TestActivityPagingAndBulkDelete(t *testing.T) {
	e := newActivityEnv(t, xfake.ActivityShapeSpec)
	ctx := context.Background()
	bot := e.x.Bot().UserID
	types := []string{"post.mention.create", "post.reply.create", "post.quote.create", "dm.received", "dm.sent", "like.create"}
	var ids []string
	for _, et := range types {
		s, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: et, Filter: webhooks.ActivityFilter{UserID: bot}})
		require.NoError(t, err)
		ids = append(ids, s.ID)
	}
	p, err := e.client.ListActivitySubscriptions(ctx, &webhooks.ActivityListOptions{MaxResults: 4})
	require.NoError(t, err)
	assert.Len(t, p.Subscriptions, 4)
	assert.NotEmpty(t, p.NextToken)
	p2, err := e.client.ListActivitySubscriptions(ctx, &webhooks.ActivityListOptions{MaxResults: 4, PaginationToken: p.NextToken})
	require.NoError(t, err)
	assert.Len(t, p2.Subscriptions, 2)
	assert.Empty(t, p2.NextToken)
	assert.Equal(t, "max_results=4&pagination_token="+p.NextToken, e.x.Requests()[len(e.x.Requests())-1].Query.Encode())

	r, err := e.client.DeleteActivitySubscriptions(ctx, []string{ids[0], ids[1], ids[0], "999"})
	require.NoError(t, err)
	assert.Equal(t, []string{ids[0], ids[1]}, r.Deleted, "duplicates are sent once")
	require.Len(t, r.Failed, 1)
	assert.Equal(t, "999", r.Failed[0].SubscriptionID)
	assert.NotEmpty(t, r.Failed[0].Message)
	assert.Equal(t, 4, r.Total)
	assert.Len(t, e.x.ActivitySubscriptions(), 4)
}

// AllActivitySubscriptions follows next_token, and refuses a token that
// repeats instead of looping.
func TestAllActivitySubscriptionsPaging(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("pagination_token") {
		case "":
			fmt.Fprint(w, `{"data":[{"subscription_id":"1","event_type":"dm.received","filter":{"user_id":"5"}}],"meta":{"next_token":"AAAAAAAAAAAAAAAA"}}`)
		default:
			fmt.Fprint(w, `{"data":[{"subscription_id":"2","event_type":"dm.sent","filter":{"user_id":"5"}}],"meta":{"next_token":"AAAAAAAAAAAAAAAA"}}`)
		}
	}))
	defer srv.Close()
	_, err := newStandaloneClient(t, srv.URL).AllActivitySubscriptions(context.Background())
	require.ErrorIs(t, err, webhooks.ErrBadResponse)
	assert.Equal(t, 2, calls, "stops at the first repeated token")
}

func TestEnsureActivityIdempotent(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%t", stream), func(t *testing.T) {
			e := newActivityEnv(t, xfake.ActivityShapeArray)
			ctx := context.Background()
			bot := e.x.Bot().UserID
			hook := ""
			if !stream {
				hook = e.webhook()
			}
			rep, err := e.client.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: bot, WebhookID: hook})
			require.NoError(t, err)
			require.Len(t, rep.Results, len(webhooks.DefaultActivityEventTypes))
			assert.True(t, rep.Changed())
			assert.Equal(t, 4, rep.Total)
			for i, r := range rep.Results {
				assert.Equal(t, webhooks.DefaultActivityEventTypes[i], r.EventType)
				assert.Equal(t, webhooks.ActivityCreated, r.Action)
				assert.Equal(t, "moetron:"+r.EventType, r.Subscription.Tag)
				assert.Equal(t, hook, r.Subscription.WebhookID)
			}
			subs := e.x.ActivitySubscriptions()
			require.Len(t, subs, 4)
			for _, s := range subs {
				assert.Equal(t, hook, s.WebhookID)
				assert.Equal(t, bot, s.Filter.UserID)
				assert.Equal(t, bot, s.CreatedBy)
			}
			writes := e.writes()
			assert.Equal(t, 4, writes)

			rep, err = e.client.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: bot, WebhookID: hook})
			require.NoError(t, err)
			assert.False(t, rep.Changed())
			for _, r := range rep.Results {
				assert.Equal(t, webhooks.ActivityExisting, r.Action)
				assert.NotEmpty(t, r.Subscription.ID)
			}
			assert.Equal(t, writes, e.writes(), "a second run writes nothing")
			assert.Len(t, e.x.ActivitySubscriptions(), 4)
		})
	}
}

// Ensure leaves others' subscriptions alone, moves its own to a new
// webhook, and treats DuplicateSubscription as success.
func TestEnsureActivityExistingAndForeign(t *testing.T) {
	e := newActivityEnv(t, xfake.ActivityShapeSpec)
	ctx := context.Background()
	bot := e.x.Bot().UserID
	// Someone else's (no moetron tag): a mention subscription to the stream,
	// and a reply one with direction; plus ours from an older run on the
	// stream.
	_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: webhooks.EventPostMention,
		Filter: webhooks.ActivityFilter{UserID: bot}, Tag: "ops"})
	require.NoError(t, err)
	_, _, err = e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: webhooks.EventDMReceived,
		Filter: webhooks.ActivityFilter{UserID: bot}, Tag: "moetron:dm.received"})
	require.NoError(t, err)
	hook := e.webhook()
	writes := e.writes()

	rep, err := e.client.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: bot, WebhookID: hook,
		EventTypes: []string{webhooks.EventPostMention, webhooks.EventDMReceived}})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	assert.Equal(t, webhooks.ActivityCreated, rep.Results[0].Action, "the foreign stream subscription is not taken over")
	assert.Equal(t, webhooks.ActivityUpdated, rep.Results[1].Action, "ours is moved to the webhook")
	assert.Equal(t, hook, rep.Results[1].Subscription.WebhookID)
	assert.Equal(t, writes+2, e.writes())
	subs := e.x.ActivitySubscriptions()
	require.Len(t, subs, 3, "nothing deleted")
	assert.Equal(t, "ops", subs[0].Tag)
	assert.Empty(t, subs[0].WebhookID)

	// A stream Ensure now finds the foreign one and creates only the DM one.
	rep, err = e.client.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: bot,
		EventTypes: []string{webhooks.EventPostMention, webhooks.EventDMReceived}, DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, webhooks.ActivityExisting, rep.Results[0].Action)
	assert.Equal(t, webhooks.ActivityWouldCreate, rep.Results[1].Action)
	assert.Equal(t, writes+2, e.writes(), "a dry run writes nothing")

	// X says duplicate (a replica created it meanwhile): success.
	dupe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"title":"Conflict","detail":"DuplicateSubscription","status":409}`)
			return
		}
		fmt.Fprint(w, `{"data":[]}`)
	}))
	defer dupe.Close()
	rep, err = newStandaloneClient(t, dupe.URL).EnsureActivity(ctx, webhooks.ActivityOptions{UserID: "5", EventTypes: []string{"dm.received"}})
	require.NoError(t, err)
	assert.Equal(t, webhooks.ActivityExisting, rep.Results[0].Action)

	_, err = e.client.EnsureActivity(ctx, webhooks.ActivityOptions{})
	assert.ErrorIs(t, err, webhooks.ErrInvalidInput)
	_, err = e.client.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: bot, EventTypes: []string{}})
	assert.ErrorIs(t, err, webhooks.ErrInvalidInput)
}

func TestDeleteOwnActivity(t *testing.T) {
	e := newActivityEnv(t, xfake.ActivityShapeSpec)
	ctx := context.Background()
	bot := e.x.Bot().UserID
	_, _, err := e.client.CreateActivitySubscription(ctx, webhooks.NewActivitySubscription{EventType: "dm.sent",
		Filter: webhooks.ActivityFilter{UserID: bot}, Tag: "ops"})
	require.NoError(t, err)
	_, err = e.client.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: bot})
	require.NoError(t, err)
	r, err := e.client.DeleteOwnActivity(ctx, "")
	require.NoError(t, err)
	assert.Len(t, r.Deleted, 4)
	assert.Empty(t, r.Failed)
	assert.Equal(t, 1, r.Total)
	subs := e.x.ActivitySubscriptions()
	require.Len(t, subs, 1)
	assert.Equal(t, "ops", subs[0].Tag)
}

func TestMigrateToActivity(t *testing.T) {
	e := newActivityEnv(t, xfake.ActivityShapeFlat)
	ctx := context.Background()
	bot := e.x.Bot().UserID
	hook := e.webhook()
	require.NoError(t, e.client.EnsureSubscribed(ctx, hook))

	rep, err := e.client.MigrateToActivity(ctx, webhooks.MigrateOptions{WebhookID: hook, UserID: bot, DryRun: true, DropAAA: true})
	require.NoError(t, err)
	assert.True(t, rep.AAASubscribed)
	assert.False(t, rep.AAADropped)
	for _, r := range rep.Activity.Results {
		assert.Equal(t, webhooks.ActivityWouldCreate, r.Action)
	}
	assert.Zero(t, e.writes())
	assert.Empty(t, e.x.ActivitySubscriptions())
	assert.Equal(t, []string{bot}, e.x.Webhooks()[0].Subscriptions, "a dry run keeps AAA")

	rep, err = e.client.MigrateToActivity(ctx, webhooks.MigrateOptions{WebhookID: hook, UserID: bot})
	require.NoError(t, err)
	assert.True(t, rep.Verified)
	assert.Empty(t, rep.Missing)
	assert.False(t, rep.AAADropped)
	assert.Len(t, e.x.ActivitySubscriptions(), 4)
	assert.Equal(t, []string{bot}, e.x.Webhooks()[0].Subscriptions, "AAA is kept unless asked")

	rep, err = e.client.MigrateToActivity(ctx, webhooks.MigrateOptions{WebhookID: hook, UserID: bot, DropAAA: true})
	require.NoError(t, err)
	assert.True(t, rep.AAADropped)
	assert.False(t, rep.Activity.Changed())
	assert.Empty(t, e.x.Webhooks()[0].Subscriptions)
	assert.Len(t, e.x.ActivitySubscriptions(), 4)
}
