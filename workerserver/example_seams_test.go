package workerserver_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"time"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

// exampleRig runs a worker server with opts against a fake X and an
// in-process queue holding one job, until the job is answered.
func exampleRun(x *xfake.Server, job filter.Job, opts *workerserver.Options) {
	q, _ := mem.New("jobs", nil)
	poison, _ := mem.New("jobs-poison", nil)
	defer q.Close()
	defer poison.Close()
	body, _ := job.Body()
	if _, err := q.Enqueue(context.Background(), body, nil); err != nil {
		panic(err)
	}
	xc := x.Config()
	cfg := workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret, APIBase: x.URL(),
		Ledger: workerserver.LedgerMem,
	}
	opts.Queue, opts.Poison = q, poison
	opts.MinPollInterval, opts.MaxPollInterval = time.Millisecond, 5*time.Millisecond
	srv, err := workerserver.New(context.Background(), cfg, opts)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n, _ := q.Len(context.Background()); n == 0 && srv.InFlight() == 0 {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
}

func mention(x *xfake.Server, text, command, args string) filter.Job {
	p := x.SeedPost(xfake.Post{ID: "1332557345071644672", AuthorID: "1247048165561270272", Text: text})
	return filter.Job{MsgType: filter.KindTweet, RespondID: p.ID, Text: text, UserID: p.AuthorID,
		ID: filter.JobID(filter.KindTweet, p.ID), Command: command, Args: args,
		ForUserID: x.Config().BotUserID, ScreenName: "alice", ReceivedAt: time.Now().UTC()}
}

// A worker that answers with text only, with its own stand-in generator: no
// ONNX Runtime is needed. The server still keeps the ledger, the done
// markers, the read-back, rate-limit waits, metrics and drain.
func ExampleOptions_handler() {
	x, _ := xfake.New(xfake.Config{})
	defer x.Close()
	job := mention(x, "@moetronbot moename sakura", "name", "sakura")

	var seen imagegen.Request
	gen := worker.GeneratorFunc(func(_ context.Context, req imagegen.Request) (*imagegen.Image, error) {
		seen = req
		return &imagegen.Image{Data: []byte("not shown"), Seed: req.Seed}, nil
	})
	exampleRun(x, job, &workerserver.Options{
		CredentialCheckTimeout: -1,
		Generator:              gen,
		Handler:                workerserver.TextOnly,
	})

	r := x.RepliesTo(job.RespondID)
	fmt.Println(len(r), len(r[0].MediaIDs), seen.Seed, seen.Psi)
	fmt.Println(r[0].Text)
	// Output:
	// 1 0 697057079 0.55
	// @alice Here's your generated image! (seed 697057079, #18aee6)
}

// A command table from code (the same as a COMMANDS_FILE would give), and
// a handler of one's own: here it answers on X with a text of its own and
// the image, through Answer.X.
func ExampleOptions_commands() {
	x, _ := xfake.New(xfake.Config{})
	defer x.Close()
	set, err := commands.New(commands.Command{
		Name: "daily", Keywords: []string{"moedaily"}, Seed: commands.SeedRule{Kind: commands.SeedFixed, Fixed: 7},
		Psi: 0.7, Reply: "Today's picture, seed {{.Seed}} (#{{.RequestID}})",
	})
	if err != nil {
		panic(err)
	}
	job := mention(x, "@moetronbot moedaily", "daily", "")
	handler := workerserver.JobHandlerFunc(func(ctx context.Context, a workerserver.Answer) (string, error) {
		t, err := a.X.ReplyWithImage(ctx, a.Job.RespondID, a.Text+" for @"+a.Job.ScreenName, a.Image)
		if err != nil {
			return "", err
		}
		return t.ID, nil
	})
	gen := worker.GeneratorFunc(func(_ context.Context, req imagegen.Request) (*imagegen.Image, error) {
		return &imagegen.Image{Data: tinyPNG(req.Seed), Seed: req.Seed, Psi: req.Psi}, nil
	})
	exampleRun(x, job, &workerserver.Options{
		CredentialCheckTimeout: -1, Commands: set, Generator: gen, Handler: handler,
	})

	r := x.RepliesTo(job.RespondID)
	fmt.Println(len(r), len(r[0].MediaIDs))
	fmt.Println(r[0].Text)
	// Output:
	// 1 1
	// Today's picture, seed 7 (#18aee6) for @alice
}

// tinyPNG is an 8x8 PNG whose first pixel depends on seed.
func tinyPNG(seed uint32) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(0, 0, color.RGBA{R: uint8(seed), A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}
