package stream_test

import (
	"context"
	"fmt"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/stream"
	"github.com/moetron/moetron/xfake"
)

// A Consumer reads the stream of a fake X and hands each event to Handle
// (in a bot: intake.Handle, which makes it a durable job).
func Example() {
	x, err := xfake.New(xfake.Config{})
	if err != nil {
		panic(err)
	}
	defer x.Close()

	got := make(chan string, 1)
	c, err := stream.New(stream.Config{
		BaseURL:     x.URL(), // X_API_BASE; empty means https://api.x.com
		BearerToken: x.Config().BearerToken,
		Handle: func(_ context.Context, p *events.Payload, _ []byte) error {
			got <- p.XAA.EventType + " " + p.TweetCreateEvents[0].VisibleText()
			return nil // the event is taken
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for c.Ready() != nil {
		time.Sleep(time.Millisecond)
	}

	x.DeliverStream([]byte(`{"data":{"event_uuid":"1","filter":{"user_id":"1114259648326987776"},
		"event_type":"post.mention.create","payload":{"id":"1","text":"@moetronbot moerand","author_id":"42"}}}`))
	fmt.Println(<-got)

	cancel()
	fmt.Println("Run:", <-done, "taken:", c.Status().Taken)
	// Output:
	// post.mention.create @moetronbot moerand
	// Run: <nil> taken: 1
}
