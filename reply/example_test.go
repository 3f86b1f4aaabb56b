package reply_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/xfake"
)

// A worker answers a mention with its generated image. xfake stands in for
// X; in production BaseURL is left empty and the credentials come from
// X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET.
func Example() {
	fx, err := xfake.New(xfake.Config{})
	if err != nil {
		panic(err)
	}
	defer fx.Close()
	fc := fx.Config()

	c, err := reply.New(reply.Config{
		ConsumerKey: fc.ConsumerKey, ConsumerSecret: fc.ConsumerSecret,
		AccessToken: fc.AccessToken, AccessTokenSecret: fc.AccessTokenSecret,
		BotUserID: fc.BotUserID,
		BaseURL:   fx.URL(),
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	text, err := c.Text(reply.Fields{Seed: 12345, ScreenName: "alice", JobID: "tweet:1332557345071644672"})
	if err != nil {
		panic(err)
	}
	fmt.Println(text)

	img := examplePNG()
	tw, err := c.ReplyWithImage(ctx, "1332557345071644672", text, img)
	switch {
	case errors.Is(err, reply.ErrUncertain):
		fmt.Println("check with FindReply before answering again")
	case err != nil:
		if at, ok := reply.RateLimitReset(err); ok {
			fmt.Println("retry the job after", at.Format(time.RFC3339))
		}
		fmt.Println("failed:", err, "retryable:", reply.IsRetryable(err))
	default:
		fmt.Println("replied:", tw.ID != "", "replies stored:", len(fx.RepliesTo("1332557345071644672")))
	}
	// Output:
	// @alice Here's your generated image! (seed 12345, #18aee6)
	// replied: true replies stored: 1
}

// WeightedLength counts like X: CJK and emoji weigh 2 (a ZWJ family is
// one emoji), URLs 23.
func ExampleWeightedLength() {
	fmt.Println(reply.WeightedLength("hello"))
	fmt.Println(reply.WeightedLength("日本語"))
	fmt.Println(reply.WeightedLength("👨\u200d👩\u200d👧"))
	fmt.Println(reply.WeightedLength("https://example.com/a/long/path/to/something"))
	// Output:
	// 5
	// 6
	// 2
	// 23
}
