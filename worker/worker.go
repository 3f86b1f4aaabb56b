package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/internal/xapi"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/reply"
)

// Defaults of Config.
const (
	DefaultReadBackMargin  = 2 * time.Minute
	DefaultRateLimitWait   = 15 * time.Minute
	DefaultMaxUsageCapWait = 24 * time.Hour
)

// ErrConfig is wrapped by every error of New.
var ErrConfig = errors.New("worker: invalid config")

// Generator renders one image. *imagegen.Generator satisfies it; concurrent
// calls are batched by the generator, not by the worker.
type Generator interface {
	Generate(ctx context.Context, req imagegen.Request) (*imagegen.Image, error)
}

// Replier answers on X. *reply.Client satisfies it.
type Replier interface {
	ReplyWithImage(ctx context.Context, tweetID, text string, img []byte) (*reply.Tweet, error)
	DMWithImage(ctx context.Context, userID, text string, img []byte) (*reply.DM, error)
	FindReply(ctx context.Context, botUserID, inReplyToTweetID string, since time.Time) (tweetID string, found bool, err error)
	FindDM(ctx context.Context, participantID string, since time.Time, match func(text string) bool) (eventID string, found bool, err error)
	Text(f reply.Fields) (string, error)
}

// Config configures a Worker. Generator, Replier and BotUserID are
// required; every other zero value means the default written next to it.
type Config struct {
	// Generator renders the images (an *imagegen.Generator). Required.
	Generator Generator
	// Replier posts the replies and DMs (a *reply.Client). Required.
	Replier Replier
	// BotUserID is the bot's user id (BOT_USER_ID), whose timeline the
	// read-back searches. Required, decimal.
	BotUserID string
	// Table parses queue messages (filter.Table.ParseJob); nil means
	// filter.DefaultTable(). It must agree with the webhook's table for
	// messages that carry only text.
	Table *filter.Table
	// Commands maps a job's command to a seed rule and psi; nil means
	// imagegen.DefaultCommands(). The job id is the seed key, so rand and
	// mess regenerate the same image when a job is redelivered.
	Commands *imagegen.Commands
	// Format is the image format sent to X: imagegen.FormatPNG (also the
	// empty value) or imagegen.FormatJPEG.
	Format imagegen.Format
	// ReadBackMargin is subtracted from a job's received_at (else the
	// message's insertion time) to bound the read-back search, allowing
	// for clock skew between the webhook, the queue and X. 0 means
	// DefaultReadBackMargin.
	ReadBackMargin time.Duration
	// RateLimitWait is how long a rate-limited job waits when X gave no
	// reset time. 0 means DefaultRateLimitWait.
	RateLimitWait time.Duration
	// MaxUsageCapWait: a usage-capped job whose cap resets within this
	// long waits for the reset like a rate-limited one; otherwise (or with
	// no reset time) the job ends. 0 means DefaultMaxUsageCapWait; a
	// negative value ends every usage-capped job.
	MaxUsageCapWait time.Duration
	// Logger gets one record per job (Info for replies, Warn or Error for
	// failures). nil discards.
	Logger *slog.Logger
	// Metrics are optional hooks called for every job; nil means none.
	Metrics *Metrics
	// Now is the clock for rate-limit waits and read-back bounds; nil means
	// time.Now.
	Now func() time.Time
	// Ledger records claimed and answered jobs by job id, so that two
	// messages with the same job id get one answer whatever their dequeue
	// counts; nil means a NewMemLedger of this process. workerserver uses a
	// ledgerfile.Ledger, which also survives restarts.
	Ledger Ledger
	// ClaimedRetry is how long a copy of a job that another handler is
	// answering right now waits before it is looked at again. 0 means
	// DefaultClaimedRetry.
	ClaimedRetry time.Duration
	// Observer is told how each job ended (see Observer); nil means none.
	Observer Observer
}

// DefaultClaimedRetry is the default of Config.ClaimedRetry.
const DefaultClaimedRetry = 10 * time.Second

// Worker runs jobs: it implements queue.Handler for a queue.Consumer. It is
// safe for concurrent use; run it with a Consumer concurrency of at least
// the generator's batch size so that jobs are generated together.
type Worker struct {
	cfg  Config
	gen  Generator
	x    Replier
	tab  *filter.Table
	cmds *imagegen.Commands
	log  *slog.Logger
	met  *Metrics
	now  func() time.Time
}

var _ queue.Handler = (*Worker)(nil)

// New validates cfg, fills its defaults and returns a Worker. Errors wrap
// ErrConfig and name every problem.
func New(cfg Config) (*Worker, error) {
	var probs []string
	if cfg.Generator == nil {
		probs = append(probs, "Generator is required")
	}
	if cfg.Replier == nil {
		probs = append(probs, "Replier is required")
	}
	if !xapi.ValidID(cfg.BotUserID) {
		probs = append(probs, fmt.Sprintf("BotUserID %q is not a decimal user id", cfg.BotUserID))
	}
	switch cfg.Format {
	case "", imagegen.FormatPNG, imagegen.FormatJPEG:
	default:
		probs = append(probs, fmt.Sprintf("Format %q is not png or jpeg", cfg.Format))
	}
	if cfg.ReadBackMargin < 0 || cfg.RateLimitWait < 0 {
		probs = append(probs, "ReadBackMargin and RateLimitWait must not be negative")
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrConfig, joinProblems(probs))
	}
	if cfg.Table == nil {
		cfg.Table = filter.DefaultTable()
	}
	if cfg.Commands == nil {
		cfg.Commands = imagegen.DefaultCommands()
	}
	if cfg.ReadBackMargin == 0 {
		cfg.ReadBackMargin = DefaultReadBackMargin
	}
	if cfg.RateLimitWait == 0 {
		cfg.RateLimitWait = DefaultRateLimitWait
	}
	if cfg.MaxUsageCapWait == 0 {
		cfg.MaxUsageCapWait = DefaultMaxUsageCapWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ledger == nil {
		cfg.Ledger = NewMemLedger(0)
	}
	if cfg.ClaimedRetry <= 0 {
		cfg.ClaimedRetry = DefaultClaimedRetry
	}
	return &Worker{cfg: cfg, gen: cfg.Generator, x: cfg.Replier, tab: cfg.Table, cmds: cfg.Commands,
		log: cfg.Logger, met: cfg.Metrics, now: cfg.Now}, nil
}

func joinProblems(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// marks are the worker's own fields in a job message, next to the job's.
type marks struct {
	// Done is the id of the reply post or DM event: the job is answered and
	// only its deletion is pending.
	Done string `json:"done,omitempty"`
	// Redelivered says an earlier attempt may have answered: read back
	// before answering. Set on deferral, whose copy starts at dequeue
	// count 0.
	Redelivered bool `json:"redelivered,omitempty"`
}

func readMarks(body []byte) marks {
	var mk marks
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '{' {
		_ = json.Unmarshal(b, &mk) // a malformed body has no marks; ParseJob reports it
	}
	return mk
}

// markedBody is the job's message with mk's fields added.
func markedBody(job filter.Job, mk marks) ([]byte, error) {
	b, err := job.Body()
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(mk)
	if err != nil || len(extra) <= 2 || len(b) < 2 || b[len(b)-1] != '}' {
		return b, err
	}
	out := make([]byte, 0, len(b)+len(extra))
	out = append(out, b[:len(b)-1]...)
	out = append(out, ',')
	return append(out, extra[1:]...), nil
}

// Handle runs the job in m; see the package documentation for what each
// result means to the Consumer. With Config.Observer set, the observer is
// told how the job ended before Handle returns.
func (w *Worker) Handle(ctx context.Context, m *queue.Message) error {
	r := &JobReport{MsgID: m.ID, Attempt: m.DequeueCount}
	if w.cfg.Observer == nil {
		return w.handle(ctx, m, r)
	}
	r.Started = w.now()
	err := w.handle(ctx, m, r)
	r.Total = w.now().Sub(r.Started)
	if r.Err == nil {
		r.Err = err
	}
	w.observe(ctx, r)
	return err
}

// handle does Handle's work, noting in r what the observer is told.
func (w *Worker) handle(ctx context.Context, m *queue.Message, r *JobReport) error {
	job, err := w.tab.ParseJob(m.Body)
	if err != nil {
		return w.invalid(r, m, "", err)
	}
	r.Job = job
	log := w.log.With("job", job.ID, "msg_id", m.ID, "command", job.Command)
	mk := readMarks(m.Body)
	if mk.Done != "" {
		w.ledgerDone(ctx, log, job.ID, mk.Done)
		w.outcome(r, OutcomeAlreadyReplied)
		log.Info("job already answered; deleting", "outcome", OutcomeAlreadyReplied, "reply_id", mk.Done)
		return nil
	}
	req, err := w.cmds.Request(job.Command, job.Args, job.ID)
	if err != nil {
		return w.invalid(r, m, job.ID, err)
	}
	req.Format = w.cfg.Format
	r.Seed, r.HasSeed = req.Seed, true
	text, err := w.text(job, req.Seed, log)
	if err != nil {
		return w.invalid(r, m, job.ID, err)
	}
	d := queue.DeliveryFrom(ctx)
	attempt := m.DequeueCount
	if d != nil {
		attempt = d.Attempt()
	}
	r.Attempt = attempt
	readBack := attempt > 1 || mk.Redelivered

	claim, err := w.cfg.Ledger.Claim(ctx, job.ID)
	switch {
	case errors.Is(err, ErrClaimed):
		w.outcome(r, OutcomeInFlight)
		log.Info("another copy of this job is being answered; looking again later", "outcome", OutcomeInFlight,
			"retry_in", w.cfg.ClaimedRetry)
		return queue.RetryAfter(err, w.cfg.ClaimedRetry)
	case err != nil:
		// Without the ledger, X is the only record: read back first.
		log.Warn("job ledger unavailable; reading back before answering", "err", err)
		readBack = true
	case claim.Done != "":
		w.markDone(ctx, log, job, claim.Done)
		w.outcome(r, OutcomeAlreadyReplied)
		log.Info("job answered before (ledger); deleting", "outcome", OutcomeAlreadyReplied, "reply_id", claim.Done)
		return nil
	}
	held := err == nil
	readBack = readBack || claim.Unfinished
	uncertain := false
	answered := false
	defer func() {
		if held && !answered {
			if rerr := w.cfg.Ledger.Release(context.WithoutCancel(ctx), job.ID, uncertain); rerr != nil {
				log.Warn("could not release the job's ledger claim", "err", rerr)
			}
		}
	}()

	if readBack {
		id, found, err := w.find(ctx, job, m, text)
		if err != nil {
			return w.xFailed(ctx, r, log, job, "read-back", err)
		}
		if found {
			answered = true
			w.ledgerDone(ctx, log, job.ID, id)
			w.markDone(ctx, log, job, id)
			w.outcome(r, OutcomeAlreadyReplied)
			log.Info("redelivered job was answered before; deleting", "outcome", OutcomeAlreadyReplied,
				"reply_id", id, "attempt", attempt)
			return nil
		}
	}

	start := w.now()
	img, err := w.gen.Generate(ctx, req)
	r.Generate = w.now().Sub(start)
	r.Image = img
	w.met.generated(r.Generate)
	if err != nil {
		w.outcome(r, OutcomeFailed)
		log.Warn("image generation failed", "outcome", OutcomeFailed, "err", err)
		if errors.Is(err, imagegen.ErrBadRequest) {
			return queue.Permanent(fmt.Errorf("worker: generating image for %s: %w", job.ID, err))
		}
		return fmt.Errorf("worker: generating image for %s: %w", job.ID, err)
	}

	start = w.now()
	id, err := w.send(ctx, job, text, img.Data)
	r.Reply = w.now().Sub(start)
	w.met.replied(r.Reply)
	if err != nil {
		uncertain = mayHavePosted(err)
		return w.xFailed(ctx, r, log, job, "reply", err)
	}
	answered = true
	w.ledgerDone(ctx, log, job.ID, id)
	w.markDone(ctx, log, job, id)
	r.ReplyID = id
	w.outcome(r, OutcomeReplied)
	log.Info("replied", "outcome", OutcomeReplied, "reply_id", id, "seed", req.Seed, "attempt", attempt)
	return nil
}

// mayHavePosted says whether a failed send could still have reached X: only
// X's definite refusals (rate limit, usage cap, not allowed, not found) and
// local refusals before sending rule it out.
func mayHavePosted(err error) bool {
	switch {
	case errors.Is(err, reply.ErrRateLimited), errors.Is(err, reply.ErrUsageCapped),
		errors.Is(err, reply.ErrNotAllowed), errors.Is(err, reply.ErrNotFound),
		errors.Is(err, reply.ErrInvalidInput):
		return false
	}
	return true
}

// ledgerDone records the answer in the ledger. A failure is logged, not
// fatal: the done marker in the message and the read-back cover it.
func (w *Worker) ledgerDone(ctx context.Context, log *slog.Logger, jobID, replyID string) {
	if err := w.cfg.Ledger.Done(context.WithoutCancel(ctx), jobID, replyID); err != nil {
		log.Warn("could not record the answer in the job ledger", "reply_id", replyID, "err", err)
	}
}

// text renders the reply text. A screen name the template refuses (not an
// X handle) is left out rather than failing the job.
func (w *Worker) text(job filter.Job, seed uint32, log *slog.Logger) (string, error) {
	f := reply.Fields{MsgType: string(job.MsgType), Seed: uint64(seed), Command: job.Command,
		Args: job.Args, ScreenName: job.ScreenName, JobID: job.ID}
	s, err := w.x.Text(f)
	if err != nil && f.ScreenName != "" && errors.Is(err, reply.ErrInvalidInput) {
		log.Debug("screen name refused by the template; replying without it", "err", err)
		f.ScreenName = ""
		s, err = w.x.Text(f)
	}
	if err != nil {
		return "", fmt.Errorf("worker: rendering reply text: %w", err)
	}
	return s, nil
}

// find asks X whether the job was answered already.
func (w *Worker) find(ctx context.Context, job filter.Job, m *queue.Message, text string) (string, bool, error) {
	since := job.ReceivedAt
	if since.IsZero() {
		since = m.InsertedAt
	}
	if !since.IsZero() {
		since = since.Add(-w.cfg.ReadBackMargin)
	}
	if job.MsgType == filter.KindDM {
		return w.x.FindDM(ctx, job.UserID, since, reply.SameText(text))
	}
	return w.x.FindReply(ctx, w.cfg.BotUserID, job.RespondID, since)
}

// send posts the reply or DM and returns its id.
func (w *Worker) send(ctx context.Context, job filter.Job, text string, img []byte) (string, error) {
	if job.MsgType == filter.KindDM {
		dm, err := w.x.DMWithImage(ctx, job.UserID, text, img)
		if err != nil {
			return "", err
		}
		return dm.EventID, nil
	}
	t, err := w.x.ReplyWithImage(ctx, job.RespondID, text, img)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// markDone writes the done marker into the message, keeping the lease, so
// that a crash before the Consumer's delete does not answer twice. Failing
// to write it is not a failure of the job: the read-back on redelivery
// covers it.
func (w *Worker) markDone(ctx context.Context, log *slog.Logger, job filter.Job, id string) {
	d := queue.DeliveryFrom(ctx)
	if d == nil {
		return
	}
	body, err := markedBody(job, marks{Done: id})
	if err == nil {
		err = d.Replace(context.WithoutCancel(ctx), body)
	}
	if err != nil {
		log.Warn("could not mark the job done; a redelivery will read back", "reply_id", id, "err", err)
	}
}

// invalid ends a job that can never run: the Consumer poisons it, keeping
// the message and the reason.
func (w *Worker) invalid(r *JobReport, m *queue.Message, jobID string, err error) error {
	r.Err = err
	w.outcome(r, OutcomeInvalid)
	w.log.Warn("invalid job; poisoning", "outcome", OutcomeInvalid, "msg_id", m.ID, "job", jobID, "err", err)
	return queue.Permanent(err)
}

// xFailed decides what an error from X means for the job.
func (w *Worker) xFailed(ctx context.Context, r *JobReport, log *slog.Logger, job filter.Job, op string, err error) error {
	r.Err = fmt.Errorf("worker: %s: %w", op, err)
	var unc *reply.UncertainError
	switch {
	case errors.Is(err, reply.ErrUsageCapped):
		reset, ok := reply.RateLimitReset(err)
		if ok && w.cfg.MaxUsageCapWait > 0 && reset.Sub(w.now()) <= w.cfg.MaxUsageCapWait {
			return w.deferJob(ctx, r, log, job, op, err, reset)
		}
		w.outcome(r, OutcomePermanentXError)
		log.Error("X usage cap reached; job dropped", "outcome", OutcomePermanentXError, "op", op,
			"reset", reset, "err", err)
		return nil
	case errors.Is(err, reply.ErrRateLimited):
		reset, _ := reply.RateLimitReset(err)
		return w.deferJob(ctx, r, log, job, op, err, reset)
	case errors.Is(err, reply.ErrDuplicateContent), errors.Is(err, reply.ErrNotAllowed), errors.Is(err, reply.ErrNotFound):
		w.outcome(r, OutcomePermanentXError)
		log.Warn("X refused the reply for good; job ends", "outcome", OutcomePermanentXError, "op", op, "err", err)
		return nil
	case errors.As(err, &unc), reply.IsRetryable(err), errors.Is(err, reply.ErrUnauthorized),
		ctx.Err() != nil:
		// Uncertain: the read-back on redelivery settles it. Unauthorized:
		// the credentials may be fixed before the job is poisoned.
		w.outcome(r, OutcomeFailed)
		log.Warn("reply failed; will retry", "outcome", OutcomeFailed, "op", op, "err", err)
		return fmt.Errorf("worker: %s for %s: %w", op, job.ID, err)
	default:
		// A local refusal (text or image too large, bad request): sending
		// again cannot help; poison keeps the job for inspection.
		w.outcome(r, OutcomeFailed)
		log.Error("reply refused; poisoning", "outcome", OutcomeFailed, "op", op, "err", err)
		return queue.Permanent(fmt.Errorf("worker: %s for %s: %w", op, job.ID, err))
	}
}

// deferJob puts a rate-limited job back until X's reset. The job is first
// marked for read-back, since the deferred copy starts at dequeue count 0.
func (w *Worker) deferJob(ctx context.Context, r *JobReport, log *slog.Logger, job filter.Job, op string, err error, reset time.Time) error {
	delay := w.cfg.RateLimitWait
	if !reset.IsZero() {
		delay = reset.Sub(w.now()) + time.Second // x-rate-limit-reset has whole seconds
	}
	delay = max(delay, time.Second)
	if d := queue.DeliveryFrom(ctx); d != nil {
		body, merr := markedBody(job, marks{Redelivered: true})
		if merr == nil {
			merr = d.Replace(ctx, body)
		}
		if merr != nil {
			w.outcome(r, OutcomeFailed)
			log.Warn("could not mark a rate-limited job for read-back; retrying normally", "op", op, "err", merr)
			return fmt.Errorf("worker: %s for %s: %w (marking: %v)", op, job.ID, err, merr)
		}
	}
	w.outcome(r, OutcomeRateLimited)
	log.Warn("rate limited by X; job put back until the reset", "outcome", OutcomeRateLimited, "op", op,
		"retry_in", delay, "reset", reset)
	return queue.RetryAfter(err, delay)
}

// GeneratorFunc adapts a function to Generator (a stand-in model in an
// example or a test).
type GeneratorFunc func(ctx context.Context, req imagegen.Request) (*imagegen.Image, error)

// Generate calls f(ctx, req).
func (f GeneratorFunc) Generate(ctx context.Context, req imagegen.Request) (*imagegen.Image, error) {
	return f(ctx, req)
}
