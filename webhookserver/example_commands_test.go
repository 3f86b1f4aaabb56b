package webhookserver_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/xfake"
)

// A webhook with a command table of its own (what COMMANDS_FILE gives):
// "moedaily" in a mention becomes a job for the command daily; the
// built-in moerand is not a command any more.
func ExampleOptions_commands() {
	x, _ := xfake.New(xfake.Config{})
	defer x.Close()
	set, err := commands.New(commands.Command{Name: "daily", Keywords: []string{"moedaily", "moetoday"}, Psi: 0.7})
	if err != nil {
		panic(err)
	}
	q, _ := mem.New("jobs", nil)
	defer q.Close()
	spool, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(spool)
	xc := x.Config()
	srv, err := webhookserver.New(context.Background(), webhookserver.Config{
		ConsumerSecret: xc.ConsumerSecret, BotUserID: xc.BotUserID, SpoolDir: spool,
		Queue: queueopen.Env{Backend: queueopen.BackendMem},
	}, &webhookserver.Options{Queue: q, Commands: set})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	for i, text := range []string{"@moetronbot MoeToday please", "@moetronbot moerand"} {
		p := x.SeedPost(xfake.Post{ID: fmt.Sprint(1332557345071644672 + i), AuthorID: "1247048165561270272", Text: text})
		body, _ := x.MentionPayload(p, xfake.Sender{UserID: p.AuthorID, ScreenName: "alice"})
		req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
		req.Header.Set(crc.SignatureHeader, crc.Sign(xc.ConsumerSecret, body))
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	ms, _ := q.Receive(context.Background(), 10, 60e9)
	for _, m := range ms {
		j, _ := set.Table().ParseJob(m.Body)
		fmt.Println(j.ID, j.Command, j.Args)
	}
	// Output:
	// 200
	// 200
	// tweet:1332557345071644672 daily please
}
