package workerserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
)

// ErrUnknownCommand is the poison reason of a job whose command is not in
// the worker's command table (COMMANDS_FILE differs from the webhook's).
var ErrUnknownCommand = errors.New("workerserver: job for a command this worker does not know")

// Answer is what a JobHandler sends for one job.
type Answer struct {
	// Job is the parsed job (reply to Job.RespondID for a post; DM
	// Job.UserID for a DM).
	Job filter.Job
	// Text is the reply text rendered from the command's template.
	Text string
	// Image is the generated image, encoded (PNG unless IMAGE_FORMAT says
	// jpeg).
	Image []byte
	// X is the bot's client for X, for handlers that answer on X in their
	// own way (a text-only reply, a quote).
	X *reply.Client
}

// JobHandler sends a job's answer and returns its id (the post or DM
// event id, or any id of the handler's own that is not empty). The server
// keeps what surrounds it: the ledger and done markers (one answer per
// job), the read-back on redelivery, rate-limit waits, metrics, health and
// drain.
//
// An error wrapping one of reply's errors is treated as X's (a rate limit
// waits for the reset, a refusal ends the job). An error made with
// queue.Permanent ends the job in the poison queue. Any other error is
// retried: the answer may have gone out, so the next attempt reads back
// first (X's timeline, or the handler's Find when it is a JobFinder).
type JobHandler interface {
	Answer(ctx context.Context, a Answer) (id string, err error)
}

// JobHandlerFunc adapts a function to JobHandler.
type JobHandlerFunc func(ctx context.Context, a Answer) (string, error)

// Answer calls f(ctx, a).
func (f JobHandlerFunc) Answer(ctx context.Context, a Answer) (string, error) { return f(ctx, a) }

// JobFinder is implemented by a JobHandler that answers somewhere other than
// X: Find reports whether job was answered already (since is a safe lower
// bound of the answer's time). Without it, the read-back searches X.
type JobFinder interface {
	Find(ctx context.Context, job filter.Job, since time.Time) (id string, found bool, err error)
}

// TextOnly is a JobHandler that answers on X with the text alone: a reply
// post to a mention, a DM to a DM. The image is generated and dropped.
var TextOnly JobHandler = JobHandlerFunc(func(ctx context.Context, a Answer) (string, error) {
	if a.Job.MsgType == filter.KindDM {
		dm, err := a.X.SendDM(ctx, a.Job.UserID, a.Text, "")
		if err != nil {
			return "", err
		}
		return dm.EventID, nil
	}
	t, err := a.X.Reply(ctx, a.Job.RespondID, a.Text)
	if err != nil {
		return "", err
	}
	return t.ID, nil
})

type jobKey struct{}

// jobFrom returns the job the knownCommands handler parsed for this call.
func jobFrom(ctx context.Context) (filter.Job, bool) {
	j, ok := ctx.Value(jobKey{}).(filter.Job)
	return j, ok
}

// knownCommands stops a job whose command the table lacks before the
// worker sees it, with one log line and a metric, and gives the parsed job
// to the answerer and the generator router through the context.
type knownCommands struct {
	next    queue.Handler
	set     *commands.Set
	log     *slog.Logger
	unknown prometheus.Counter
}

func (h knownCommands) Handle(ctx context.Context, m *queue.Message) error {
	job, err := h.set.Table().ParseJob(m.Body)
	if err != nil {
		return h.next.Handle(ctx, m) // the worker reports it
	}
	if _, ok := h.set.Lookup(job.Command); !ok {
		h.unknown.Inc()
		h.log.Error("job for a command this worker does not know; poisoning it (give the worker the webhook's "+commands.EnvFile+", then requeue)",
			"job", job.ID, "msg_id", m.ID, "command", job.Command, "known", h.set.Names(), "commands_file", h.set.Source())
		return queue.Permanent(fmt.Errorf("%w: %q (known: %v)", ErrUnknownCommand, job.Command, h.set.Names()))
	}
	return h.next.Handle(context.WithValue(ctx, jobKey{}, job), m)
}

// answerer is the worker's Replier: per-command reply texts, and the
// sending done by Options.Handler when one is given.
type answerer struct {
	x       *reply.Client
	texts   map[string]*reply.Client // command → client rendering its template
	handler JobHandler               // nil: reply on X with the image
}

var _ worker.Replier = (*answerer)(nil)

func (a *answerer) Text(f reply.Fields) (string, error) {
	if c, ok := a.texts[f.Command]; ok {
		return c.Text(f)
	}
	return a.x.Text(f)
}

func (a *answerer) answer(ctx context.Context, text string, img []byte) (string, error) {
	job, ok := jobFrom(ctx)
	if !ok {
		return "", queue.Permanent(errors.New("workerserver: no job in the handler's context"))
	}
	id, err := a.handler.Answer(ctx, Answer{Job: job, Text: text, Image: img, X: a.x})
	var apiErr *reply.APIError
	var unc *reply.UncertainError
	switch {
	case err == nil && id == "":
		return "", queue.Permanent(errors.New("workerserver: the job handler returned no answer id"))
	case err == nil, queue.IsPermanent(err), errors.As(err, &apiErr), errors.As(err, &unc),
		errors.Is(err, reply.ErrInvalidInput):
		return id, err
	}
	// Unknown failure: the answer may be out; retry after a read-back.
	uerr := &reply.UncertainError{Op: "post", InReplyToTweetID: job.RespondID, Text: text, Err: err}
	if job.MsgType == filter.KindDM {
		uerr.Op, uerr.ParticipantID = "dm", job.UserID
	}
	return "", uerr
}

func (a *answerer) ReplyWithImage(ctx context.Context, tweetID, text string, img []byte) (*reply.Tweet, error) {
	if a.handler == nil {
		return a.x.ReplyWithImage(ctx, tweetID, text, img)
	}
	id, err := a.answer(ctx, text, img)
	if err != nil {
		return nil, err
	}
	return &reply.Tweet{ID: id, Text: text}, nil
}

func (a *answerer) DMWithImage(ctx context.Context, userID, text string, img []byte) (*reply.DM, error) {
	if a.handler == nil {
		return a.x.DMWithImage(ctx, userID, text, img)
	}
	id, err := a.answer(ctx, text, img)
	if err != nil {
		return nil, err
	}
	return &reply.DM{EventID: id}, nil
}

func (a *answerer) FindReply(ctx context.Context, botUserID, inReplyTo string, since time.Time) (string, bool, error) {
	if f, ok := a.handler.(JobFinder); ok {
		if job, ok := jobFrom(ctx); ok {
			return f.Find(ctx, job, since)
		}
	}
	return a.x.FindReply(ctx, botUserID, inReplyTo, since)
}

func (a *answerer) FindDM(ctx context.Context, participantID string, since time.Time, match func(string) bool) (string, bool, error) {
	if f, ok := a.handler.(JobFinder); ok {
		if job, ok := jobFrom(ctx); ok {
			return f.Find(ctx, job, since)
		}
	}
	return a.x.FindDM(ctx, participantID, since, match)
}

// modelRouter sends each job to its command's model.
type modelRouter struct {
	def   *imagegen.Generator
	byCmd map[string]*imagegen.Generator
}

func (r *modelRouter) Generate(ctx context.Context, req imagegen.Request) (*imagegen.Image, error) {
	if job, ok := jobFrom(ctx); ok {
		if g, ok := r.byCmd[job.Command]; ok {
			return g.Generate(ctx, req)
		}
	}
	return r.def.Generate(ctx, req)
}

func (r *modelRouter) MaxBatch() int  { return r.def.MaxBatch() }
func (r *modelRouter) Device() string { return r.def.Device() }

// loadGenerator sets s.gen: the given one, or the ONNX model of the
// configuration and one more per command model.
func (s *Server) loadGenerator(given worker.Generator, set *commands.Set) error {
	if g, ok := given.(*imagegen.Generator); ok && g == nil {
		given = nil
	}
	if given != nil {
		for _, c := range set.Commands() {
			if c.Model != "" && !bundled.IsRef(c.Model) {
				s.log.Warn("Options.Generator is given: the command's model is not loaded", "command", c.Name, "model", c.Model)
			}
		}
		s.gen = given
		return nil
	}
	cfg := s.cfg
	if _, err := os.Stat(cfg.ORTLib); err != nil {
		return fmt.Errorf("workerserver: ONNX Runtime library %s: %w (%s, or set %s)", cfg.ORTLib, err, imagegen.FetchHint, EnvORTLib)
	}
	// path is a file or a bundled reference (bundled:portrait), which
	// imagegen resolves.
	load := func(path string) (*imagegen.Generator, error) {
		gcfg := imagegen.Config{ModelPath: path, LibraryPath: cfg.ORTLib, CUDAPlugin: cfg.CUDAPlugin,
			Device: cfg.Device, Logger: s.log.With("component", "imagegen")}
		g, err := imagegen.New(gcfg)
		if err != nil {
			return nil, fmt.Errorf("workerserver: loading the model %s: %w", path, err)
		}
		s.cleanups = append(s.cleanups, g.Close)
		return g, nil
	}
	// The worker's own model serves commands without one; each command's
	// model is chosen by commands.Command.ModelFor (a command's file
	// always, its bundled model unless MODEL_PATH is set).
	defPath := commands.Command{}.ModelFor(cfg.ModelPath)
	def, err := load(defPath)
	if err != nil {
		return err
	}
	s.ownGen = true
	s.onnx, s.gen = def, def
	router := &modelRouter{def: def, byCmd: map[string]*imagegen.Generator{}}
	byPath := map[string]*imagegen.Generator{defPath: def}
	for _, c := range set.Commands() {
		path := c.ModelFor(cfg.ModelPath)
		g, ok := byPath[path]
		if !ok {
			if g, err = load(path); err != nil {
				return fmt.Errorf("%w (model of command %q in %s)", err, c.Name, cmp.Or(set.Source(), "the default commands"))
			}
			byPath[path] = g
		}
		if g != def {
			router.byCmd[c.Name] = g
			s.log.Info("command model", "command", c.Name, "model", path)
		}
	}
	if len(router.byCmd) > 0 {
		s.gen = router
	}
	return nil
}

// answerer builds the worker's Replier: a reply client per command with a
// reply template of its own, and the Options.Handler.
func (s *Server) answerer(client *reply.Client, set *commands.Set, h JobHandler) (*answerer, error) {
	a := &answerer{x: client, texts: map[string]*reply.Client{}, handler: h}
	for _, c := range set.Commands() {
		if c.Reply == "" {
			continue
		}
		cfg := s.rcfg
		cfg.Template = c.Reply
		rc, err := reply.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("workerserver: reply text of command %q: %w", c.Name, err)
		}
		a.texts[c.Name] = rc
	}
	return a, nil
}

// knownCommands wraps the worker with the check of the job's command.
func (s *Server) knownCommands(next queue.Handler, set *commands.Set) queue.Handler {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "moetron_worker_unknown_command_total",
		Help: "Jobs poisoned because their command is not in the worker's command table (COMMANDS_FILE).",
	})
	s.reg.MustRegister(c)
	return knownCommands{next: next, set: set, log: s.log.With("component", "worker"), unknown: c}
}
