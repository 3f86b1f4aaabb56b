package filter_test

import (
	"fmt"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
)

// A user's own command table, with an extra alias, checked against one
// payload. With events/eventstest the payload is a recorded delivery.
func ExampleTable_Evaluate() {
	const bot = "1114259648326987776"
	cmds := filter.DefaultCommands()
	cmds[0].Keywords = append(cmds[0].Keywords, "moegen") // rand gets an alias
	table, err := filter.NewTable(cmds...)
	if err != nil {
		panic(err)
	}
	p := &events.Payload{
		ForUserID: bot,
		TweetCreateEvents: []events.Tweet{{
			ID: "1332557345071644672", Text: "@bot MoeGen please",
			User:     events.User{ID: "1247048165561270272", ScreenName: "alice"},
			Entities: events.Entities{UserMentions: []events.Mention{{ID: bot}}},
		}, {
			ID: "1332557345071644673", Text: "@bot moegenerate",
			User:     events.User{ID: "1247048165561270272", ScreenName: "alice"},
			Entities: events.Entities{UserMentions: []events.Mention{{ID: bot}}},
		}},
	}
	for _, r := range table.Evaluate(bot, p, time.Time{}) {
		if r.Job != nil {
			fmt.Println(r.EventID, r.Reason, r.Job.Command, r.Job.Args)
		} else {
			fmt.Println(r.EventID, r.Reason)
		}
	}
	// Output:
	// 1332557345071644672 job rand please
	// 1332557345071644673 not_a_command
}

func ExampleTable_Match() {
	for _, text := range []string{"@bot moerand!", "@bot moerandom", "@bot MoeName hello world"} {
		m, ok := filter.DefaultTable().Match(text)
		fmt.Printf("%q -> %v %q %q\n", text, ok, m.Command, m.Args)
	}
	// Output:
	// "@bot moerand!" -> true "rand" "!"
	// "@bot moerandom" -> false "" ""
	// "@bot MoeName hello world" -> true "name" "hello world"
}

// A Filter suppresses X's duplicate deliveries and marshals jobs into
// queue messages.
func ExampleFilter_Jobs() {
	f, err := filter.New(filter.Config{
		BotUserID: "1114259648326987776",
		Now:       func() time.Time { return time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	p := &events.Payload{
		ForUserID: "1114259648326987776",
		TweetCreateEvents: []events.Tweet{{
			ID: "1332557345071644672", Text: "@bot moename hello",
			User:     events.User{ID: "1247048165561270272", ScreenName: "alice"},
			Entities: events.Entities{UserMentions: []events.Mention{{ID: "1114259648326987776"}}},
		}},
	}
	for _, j := range f.Jobs(p) {
		body, err := j.Body()
		if err != nil {
			panic(err)
		}
		fmt.Println(string(body))
	}
	fmt.Println(len(f.Jobs(p)), "jobs from the redelivery")
	// Output:
	// {"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moename hello","user_id":"1247048165561270272","id":"tweet:1332557345071644672","command":"name","args":"hello","for_user_id":"1114259648326987776","screen_name":"alice","received_at":"2026-11-26T17:00:00Z"}
	// 0 jobs from the redelivery
}

// A consumer reads a message of the original Python bot: the command is
// found in the text.
func ExampleParseJob() {
	j, err := filter.ParseJob([]byte(`{"msg_type":"dm","respond_id":"1333350987364319236","text":"moename cat","user_id":"1247048165561270272"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(j.ID, j.Command, j.Args)
	_, err = filter.ParseJob([]byte(`{"msg_type":"tweet","respond_id":1332557345071644672}`))
	fmt.Println(err)
	// Output:
	// dm:1333350987364319236 name cat
	// filter: invalid job message: not a JSON object or base64 of one: field respond_id is a JSON number, want a string
}

// Testing your own command table against the recorded deliveries of
// events/eventstest: one Evaluate call per fixture. Here rand gets the
// alias "moegen", and the check shows that aliases leave the rules alone
// (a retweet is still no command).
func Example_testYourTable() {
	cmds := filter.DefaultCommands()
	cmds[0].Keywords = append(cmds[0].Keywords, "moegen")
	table := filter.MustTable(cmds...)

	for _, name := range []string{"mention_moename", "retweet_of_command", "dm_moerand"} {
		p, err := events.Decode(eventstest.Fixture(name))
		if err != nil {
			panic(err)
		}
		for _, r := range table.Evaluate(eventstest.BotUserID, p, time.Time{}) {
			if r.Job != nil {
				fmt.Printf("%s: %s %s %q\n", name, r.Reason, r.Job.Command, r.Job.Args)
			} else {
				fmt.Printf("%s: %s\n", name, r.Reason)
			}
		}
	}
	m, _ := table.Match("@moetronbot MoeGen sakura")
	fmt.Println("alias:", m.Command, m.Args)
	// Output:
	// mention_moename: job name "hello & goodbye <3"
	// retweet_of_command: retweet
	// dm_moerand: job rand ""
	// alias: rand sakura
}

// X Activity API deliveries go through the same rules. A quote of the
// bot's post summons it without an @mention; the bot's own post comes
// back as post.create and is dropped; an XChat message cannot be read,
// so it gives ReasonEncrypted instead of a job.
func ExampleTable_Evaluate_xaa() {
	table := filter.DefaultTable()
	for _, name := range []string{"xaa_post_quote_create", "xaa_post_create", "xaa_chat_received"} {
		p, err := events.Decode(eventstest.Fixture(name))
		if err != nil {
			panic(err)
		}
		for _, r := range table.Evaluate(eventstest.BotUserID, p, time.Time{}) {
			fmt.Println(p.XAA.EventType, r.Kind, r.Reason)
		}
	}
	// Output:
	// post.quote.create tweet job
	// post.create tweet own_event
	// chat.received chat encrypted
}
