package xfake_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dghubble/oauth1"
	"github.com/moetron/moetron/xfake"
)

// A user's test: start the fake, reply through net/http signed with
// dghubble/oauth1, and assert on what the fake recorded. In a real test,
// use xfake.Start(t, cfg), which closes the server when the test ends.
func Example() {
	srv, err := xfake.New(xfake.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	// The mention the bot answers, as if @alice had posted it.
	mention := srv.SeedPost(xfake.Post{AuthorID: "1247048165561270272", Text: "@moetronbot moerand"})

	cfg := srv.Config()
	client := oauth1.NewConfig(cfg.ConsumerKey, cfg.ConsumerSecret).
		Client(context.Background(), oauth1.NewToken(cfg.AccessToken, cfg.AccessTokenSecret))
	body := fmt.Sprintf(`{"text":"@alice here you go","reply":{"in_reply_to_tweet_id":%q}}`, mention.ID)
	resp, err := client.Post(srv.URL()+"/2/tweets", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("x-rate-limit-limit"))

	replies := srv.RepliesTo(mention.ID)
	fmt.Println(len(replies), replies[0].Text, replies[0].AuthorID == cfg.BotUserID)
	// Output:
	// 201 100
	// 1 @alice here you go true
}

// Faults make X misbehave on demand: here the next post is stored, but the
// connection drops before the answer, the case that makes blind retries post
// twice.
func ExampleServer_InjectFault() {
	srv, err := xfake.New(xfake.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if _, err := srv.InjectFault(xfake.Fault{Kind: xfake.FaultResetAfterStore, Endpoint: xfake.EndpointTweets, Times: 1}); err != nil {
		panic(err)
	}
	cfg := srv.Config()
	client := oauth1.NewConfig(cfg.ConsumerKey, cfg.ConsumerSecret).
		Client(context.Background(), oauth1.NewToken(cfg.AccessToken, cfg.AccessTokenSecret))
	_, err = client.Post(srv.URL()+"/2/tweets", "application/json", bytes.NewReader([]byte(`{"text":"hello"}`)))
	fmt.Println("error:", err != nil, "posts stored:", len(srv.Posts()))

	// Output:
	// error: true posts stored: 1
}
