package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
)

// exampleSetup starts a fake X and a webhook endpoint that answers its CRC
// with package crc. In a real deployment the endpoint is the bot's public
// webhook and BaseURL is left empty (https://api.x.com).
func exampleSetup() (x *xfake.Server, endpoint *httptest.Server, cfg webhooks.Config) {
	x, err := xfake.New(xfake.Config{})
	if err != nil {
		panic(err)
	}
	fc := x.Config()
	h, err := crc.NewHandler(crc.HandlerConfig{Secrets: []string{fc.ConsumerSecret}})
	if err != nil {
		panic(err)
	}
	endpoint = httptest.NewServer(h)
	cfg = webhooks.Config{
		BearerToken:       fc.BearerToken,
		ConsumerKey:       fc.ConsumerKey,
		ConsumerSecret:    fc.ConsumerSecret,
		AccessToken:       fc.AccessToken,
		AccessTokenSecret: fc.AccessTokenSecret,
		BaseURL:           x.URL(),
	}
	return x, endpoint, cfg
}

// Register the webhook and subscribe the bot, idempotently: a deploy
// script can run this on every start.
func ExampleClient_Ensure() {
	x, endpoint, cfg := exampleSetup()
	defer x.Close()
	defer endpoint.Close()
	ctx := context.Background()

	client, err := webhooks.New(cfg)
	if err != nil {
		panic(err)
	}
	url := endpoint.URL + "/webhook"
	first, err := client.Ensure(ctx, url)
	if err != nil {
		panic(err)
	}
	if err := client.EnsureSubscribed(ctx, first.ID); err != nil {
		panic(err)
	}
	// Again: nothing changes, and subscribing twice is not an error.
	again, err := client.Ensure(ctx, url)
	if err != nil {
		panic(err)
	}
	if err := client.EnsureSubscribed(ctx, again.ID); err != nil {
		panic(err)
	}
	subscribed, err := client.CheckSubscription(ctx, again.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println("same webhook:", first.ID == again.ID, "valid:", again.Valid, "subscribed:", subscribed)
	fmt.Println("webhooks at X:", len(x.Webhooks()))
	// Output:
	// same webhook: true valid: true subscribed: true
	// webhooks at X: 1
}

// Errors carry X's failure reason; test them with errors.Is.
func ExampleAPIError() {
	x, _, cfg := exampleSetup()
	defer x.Close()
	// An endpoint that does not answer the CRC correctly.
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"response_token":"sha256=nope"}`)
	}))
	defer wrong.Close()

	client, err := webhooks.New(cfg)
	if err != nil {
		panic(err)
	}
	_, err = client.Register(context.Background(), wrong.URL+"/webhook")
	var apiErr *webhooks.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Reason, errors.Is(err, webhooks.ErrCRCFailed))
	}
	// Output:
	// CrcValidationFailed true
}

// A Monitor re-validates a webhook X has marked invalid and has X replay the
// events since the last one received.
func ExampleMonitor() {
	x, endpoint, cfg := exampleSetup()
	defer x.Close()
	defer endpoint.Close()
	ctx := context.Background()
	client, err := webhooks.New(cfg)
	if err != nil {
		panic(err)
	}
	lastEvent := time.Now().Add(-2 * time.Hour) // e.g. intake.Intake.LastEvent
	m, err := webhooks.NewMonitor(webhooks.MonitorConfig{
		Client:    client,
		URL:       endpoint.URL + "/webhook",
		UserID:    x.Bot().UserID, // BOT_USER_ID
		LastEvent: func() time.Time { return lastEvent },
	})
	if err != nil {
		panic(err)
	}
	st, err := m.Check(ctx) // registers and subscribes
	if err != nil {
		panic(err)
	}
	fmt.Println("registered:", st.Registered, "subscribed:", st.Subscribed)

	if err := x.MarkInvalid(st.WebhookID); err != nil { // X's CRC failed
		panic(err)
	}
	st, err = m.Check(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("revalidated:", st.Revalidated, "replay requested:", st.ReplayRequested,
		"from last event:", st.ReplayFrom.Equal(lastEvent))
	// In a service: go m.Run(ctx), checking every 15 minutes.
	// Output:
	// registered: true subscribed: true
	// revalidated: true replay requested: true from last event: true
}

// Keep the bot's XAA subscriptions linked to its webhook. A second run
// finds them all and writes nothing.
func ExampleClient_EnsureActivity() {
	x, endpoint, cfg := exampleSetup()
	defer x.Close()
	defer endpoint.Close()
	ctx := context.Background()
	client, err := webhooks.New(cfg)
	if err != nil {
		panic(err)
	}
	hook, err := client.Ensure(ctx, endpoint.URL+"/webhook")
	if err != nil {
		panic(err)
	}
	opts := webhooks.ActivityOptions{UserID: x.Bot().UserID, WebhookID: hook.ID} // UserID: BOT_USER_ID
	for range 2 {
		rep, err := client.EnsureActivity(ctx, opts)
		if err != nil {
			panic(err)
		}
		for _, r := range rep.Results {
			fmt.Println(r.EventType, r.Action, r.Subscription.Tag)
		}
	}
	// Output:
	// post.mention.create created moetron:post.mention.create
	// post.reply.create created moetron:post.reply.create
	// post.quote.create created moetron:post.quote.create
	// dm.received created moetron:dm.received
	// post.mention.create existing moetron:post.mention.create
	// post.reply.create existing moetron:post.reply.create
	// post.quote.create existing moetron:post.quote.create
	// dm.received existing moetron:dm.received
}

// Move a bot from the Account Activity API to XAA on the same webhook,
// first as a dry run.
func ExampleClient_MigrateToActivity() {
	x, endpoint, cfg := exampleSetup()
	defer x.Close()
	defer endpoint.Close()
	ctx := context.Background()
	client, err := webhooks.New(cfg)
	if err != nil {
		panic(err)
	}
	hook, err := client.Ensure(ctx, endpoint.URL+"/webhook")
	if err != nil {
		panic(err)
	}
	if err := client.EnsureSubscribed(ctx, hook.ID); err != nil { // the bot as it ran on AAA
		panic(err)
	}
	opts := webhooks.MigrateOptions{WebhookID: hook.ID, UserID: x.Bot().UserID, DryRun: true}
	plan, err := client.MigrateToActivity(ctx, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println("AAA:", plan.AAASubscribed, "plan:", plan.Activity.Results[0].Action, "written:", len(x.ActivitySubscriptions()))

	opts.DryRun, opts.DropAAA = false, true
	rep, err := client.MigrateToActivity(ctx, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println("verified:", rep.Verified, "XAA:", len(x.ActivitySubscriptions()), "AAA dropped:", rep.AAADropped)
	// Output:
	// AAA: true plan: would create written: 0
	// verified: true XAA: 4 AAA dropped: true
}
