package worker

import (
	"context"
	"time"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
)

// Observer is told how each job ended (Config.Observer): the seam for
// operator views such as package workerserver/opspage, which keeps the
// last jobs with a thumbnail of each image. Metrics count; an Observer sees
// the single job.
//
// JobDone runs on the handler's goroutine after the outcome is decided and
// before Handle returns, so it delays the job's settling by its own
// duration: keep it short and never block. A panic in JobDone is recovered
// and logged; it does not change the job's result.
type Observer interface {
	JobDone(ctx context.Context, r JobReport)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, r JobReport)

// JobDone calls f(ctx, r).
func (f ObserverFunc) JobDone(ctx context.Context, r JobReport) { f(ctx, r) }

// JobReport is what an Observer is told about one Handle call. Fields that
// the job did not reach are zero.
type JobReport struct {
	// MsgID is the queue message's id.
	MsgID string
	// Job is the parsed job; zero when the message is not a job. It holds
	// the user's text: an observer that shows or keeps reports decides
	// what of it an operator may see.
	Job filter.Job
	// Outcome is one of Outcomes.
	Outcome string
	// Err is why the job did not succeed: Handle's error, or the refusal
	// of X that ended the job with nil (OutcomePermanentXError). Nil for
	// OutcomeReplied and OutcomeAlreadyReplied.
	Err error
	// Seed is the image's seed; HasSeed says whether the job got that far.
	Seed    uint32
	HasSeed bool
	// Attempt is the delivery's attempt number (1 on the first delivery).
	Attempt int
	// Started is when Handle began; Total is how long it ran, Generate
	// the image generation (batching wait included) and Reply the send to
	// X (upload included).
	Started  time.Time
	Total    time.Duration
	Generate time.Duration
	Reply    time.Duration
	// Image is the generated image, nil when none was generated. It is
	// shared with the worker: read it, do not modify it.
	Image *imagegen.Image
	// ReplyID is the id of the reply post or DM sent (OutcomeReplied).
	ReplyID string
}

// outcome records the job's outcome in the metrics and in r.
func (w *Worker) outcome(r *JobReport, o string) {
	r.Outcome = o
	w.met.outcome(o)
}

// observe tells the observer about r; a panic in it is logged, not passed on.
func (w *Worker) observe(ctx context.Context, r *JobReport) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("job observer panicked; the job's result stands", "job", r.Job.ID, "msg_id", r.MsgID, "panic", p)
		}
	}()
	w.cfg.Observer.JobDone(ctx, *r)
}
