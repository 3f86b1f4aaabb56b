package eventstest_test

import (
	"fmt"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
)

// A fixture is a delivery as X sends it, addressed to BotUserID: decode it
// as the webhook does and hand the payload to the code under test.
func ExampleFixture() {
	p, err := events.Decode(eventstest.Fixture("mention_moerand"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.ForUserID == eventstest.BotUserID, len(p.TweetCreateEvents))
	fmt.Println(p.TweetCreateEvents[0].Text)
	// Output:
	// true 1
	// @moetronbot moerand
}
