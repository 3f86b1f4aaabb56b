package events_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
)

func ExampleDecode() {
	p, err := events.Decode(eventstest.Fixture("truncated_extended_mention"))
	if err != nil {
		panic(err)
	}
	tw := p.TweetCreateEvents[0]
	fmt.Println(p.Kinds())
	fmt.Println(tw.ID, tw.Truncated, tw.Mentions(eventstest.BotUserID))
	fmt.Println(tw.VisibleText()[104:])
	// Output:
	// [tweet_create_events]
	// 1332557345071644678 true true
	// @moetronbot moename sakura under the moonlight, please draw her with long silver hair and a calm smile, thank you so much!
}

func ExampleDecode_xaa() {
	p, err := events.Decode(eventstest.Fixture("xaa_dm_received"))
	if err != nil {
		panic(err)
	}
	dm := p.DirectMessageEvents[0]
	fmt.Println(p.Source, p.XAA.EventType, p.ForUserID)
	fmt.Println(p.Users[dm.SenderID].ScreenName, dm.VisibleText())
	// Output:
	// xaa dm.received 1114259648326987776
	// alice moemess
}

// The X Activity API delivers one event per body. Post events keep their
// event type on the tweet; replayed deliveries say so; XChat messages are
// counted but carry no text.
func ExampleDecode_xaaEventTypes() {
	for _, name := range []string{"xaa_post_quote_create", "xaa_replay_mention", "xaa_chat_received", "xaa_unknown_event"} {
		p, err := events.Decode(eventstest.Fixture(name))
		if err != nil {
			panic(err)
		}
		fmt.Println(p.XAA.EventType, p.XAA.Replay, p.Kinds())
		for _, tw := range p.TweetCreateEvents {
			fmt.Printf("  %s quote=%v %q\n", tw.XAAEventType, tw.IsQuoteStatus, tw.VisibleText())
		}
		for _, c := range p.ChatEvents {
			fmt.Printf("  chat from %s encrypted=%v\n", c.SenderID, c.Encrypted)
		}
	}
	// Output:
	// post.quote.create false [tweet_create_events]
	//   post.quote.create quote=true "moename sakura & moon, please"
	// post.mention.create true [tweet_create_events]
	//   post.mention.create quote=false "@moetronbot moemess"
	// chat.received false [chat_events]
	//   chat from 1247048165561270272 encrypted=true
	// follow.follow false [other]
}

// A webhook serves X's CRC (GET) and deliveries (POST) on one path. Here a
// fixture is signed with crc.SignRequest, as X would; inside a test,
// eventstest.SignedRequest(t, secret, body) does the same in one call.
func ExampleNewHandler() {
	h, err := events.NewHandler(events.HandlerConfig{
		Secrets: []string{"consumer-secret"},
		Callback: func(ctx context.Context, p *events.Payload, raw []byte) error {
			for _, tw := range p.TweetCreateEvents {
				fmt.Printf("tweet %s from @%s: %q\n", tw.ID, tw.User.ScreenName, tw.VisibleText())
			}
			return nil // a non-nil error answers 503 and X delivers again
		},
	})
	if err != nil {
		panic(err)
	}
	for _, secret := range []string{"consumer-secret", "wrong-secret"} {
		r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(eventstest.Fixture("mention_moename")))
		if err := crc.SignRequest(r, secret); err != nil {
			panic(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	// Output:
	// tweet 1332557345071644674 from @alice: "@moetronbot moename hello & goodbye <3"
	// 200
	// 403
}
