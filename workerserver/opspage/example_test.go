package opspage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver/opspage"
)

// A page over a job queue and its poison queue, fed by a Recorder (which a
// worker gets as its worker.Config.Observer), with an operator token: a
// script reads it with the token as a Bearer token.
func ExampleNew() {
	q, _ := mem.New("jobs", nil)
	poison, _ := mem.New("jobs-poison", nil)
	defer q.Close()
	defer poison.Close()
	rec := opspage.NewRecorder(nil)
	// What the worker reports after answering a job.
	rec.JobDone(context.Background(), worker.JobReport{
		Job:     filter.Job{MsgType: filter.KindTweet, ID: "tweet:1001", UserID: "111", ScreenName: "alice", Command: "rand"},
		Outcome: worker.OutcomeReplied, Seed: 42, HasSeed: true, Started: time.Now(), Total: time.Second,
	})

	page, err := opspage.New(opspage.Config{Queue: q, Poison: poison, Recorder: rec, Token: "an-operator-token-of-32-characters"})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle(opspage.Path, page)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, token := range []string{"", "an-operator-token-of-32-characters"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ops/", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.Contains(string(body), "@alice"))
	}
	// Output:
	// 401 false
	// 200 true
}
