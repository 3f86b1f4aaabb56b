package webhookserver_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With WEBHOOK_URL set, the server registers its webhook and ensures the
// bot's XAA subscriptions linked to it; a subscription lost at X comes
// back at the next check. No AAA subscription is made.
func TestRegistersXAASubscriptions(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	xc := x.Config()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := baseConfig(t)
	cfg.ConsumerSecret, cfg.BotUserID = xc.ConsumerSecret, xc.BotUserID
	cfg.URL = "http://" + ln.Addr().String() + "/webhook"
	cfg.APIBase = x.URL()
	cfg.ConsumerKey, cfg.AccessToken, cfg.AccessTokenSecret, cfg.BearerToken =
		xc.ConsumerKey, xc.AccessToken, xc.AccessTokenSecret, xc.BearerToken

	checks := make(chan webhooks.Status, 16)
	srv, _ := newServer(t, cfg, &webhookserver.Options{Listener: ln, MonitorInterval: 200 * time.Millisecond,
		OnWebhookCheck: func(st webhooks.Status, err error) {
			if err == nil && st.Valid && st.Subscribed {
				checks <- st
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	next := func() webhooks.Status {
		t.Helper()
		select {
		case st := <-checks:
			return st
		case <-time.After(15 * time.Second):
			t.Fatal("no healthy webhook check within 15 s")
		}
		return webhooks.Status{}
	}
	st := next()
	hooks := x.Webhooks()
	require.Len(t, hooks, 1)
	assert.Equal(t, st.WebhookID, hooks[0].ID)
	assert.Empty(t, hooks[0].Subscriptions, "no AAA subscription")
	subs := x.ActivitySubscriptions()
	require.Len(t, subs, len(webhooks.DefaultActivityEventTypes))
	for _, s := range subs {
		assert.Equal(t, hooks[0].ID, s.WebhookID, s.EventType)
		assert.Equal(t, xc.BotUserID, s.Filter.UserID)
	}

	require.True(t, x.RemoveActivitySubscription(subs[0].ID))
	for i := 0; ; i++ {
		require.Less(t, i, 20, "the lost subscription was not re-created")
		if st = next(); len(st.ActivityRepaired) > 0 {
			break
		}
	}
	assert.Equal(t, []string{subs[0].EventType}, st.ActivityRepaired, fmt.Sprint(st))
	assert.Len(t, x.ActivitySubscriptions(), len(webhooks.DefaultActivityEventTypes))
}
