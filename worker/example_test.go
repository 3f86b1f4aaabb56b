package worker_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"time"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/xfake"
)

// A worker answers a queued mention on a fake X. The real binary passes an
// *imagegen.Generator (imagegen.New with bundled.Model()); this example
// draws a one-colour square instead so that it runs without ONNX Runtime.
func Example() {
	x, _ := xfake.New(xfake.Config{})
	defer x.Close()
	xc := x.Config()
	client, _ := reply.New(reply.Config{
		ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret,
		BotUserID: xc.BotUserID, BaseURL: x.URL(),
	})
	square := worker.GeneratorFunc(func(ctx context.Context, req imagegen.Request) (*imagegen.Image, error) {
		img := image.NewRGBA(image.Rect(0, 0, 64, 64))
		for i := range img.Pix {
			img.Pix[i] = uint8(req.Seed >> (8 * (i % 3)))
		}
		img.Set(0, 0, color.White)
		data, err := imagegen.Encode(img, imagegen.FormatPNG, imagegen.PNGFast, 0)
		return &imagegen.Image{Data: data, Seed: req.Seed, Format: imagegen.FormatPNG, Width: 64, Height: 64}, err
	})
	w, err := worker.New(worker.Config{Generator: square, Replier: client, BotUserID: xc.BotUserID})
	if err != nil {
		fmt.Println(err)
		return
	}

	q, _ := mem.New("moetron", nil)
	poison, _ := mem.New("moetron-poison", nil)
	job := filter.Job{MsgType: filter.KindTweet, RespondID: "1332557345071644672", Text: "@moetronbot moename hello",
		UserID: "1247048165561270272", ID: "tweet:1332557345071644672", Command: "name", Args: "hello",
		ScreenName: "alice", ReceivedAt: time.Now()}
	body, _ := job.Body()
	q.Enqueue(context.Background(), body, nil)

	c, _ := queue.NewConsumer(q, w, queue.ConsumerConfig{Poison: poison, Concurrency: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	for len(x.RepliesTo(job.RespondID)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	fmt.Println(x.RepliesTo(job.RespondID)[0].Text)
	// Output: @alice Here's your generated image! (seed 338222994, #18aee6)
}
