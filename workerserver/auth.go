package workerserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/reply"
)

// Credential checks: the start-up check of New and the re-checks while
// consumption is paused by a 401.
const (
	// DefaultCredentialCheckTimeout bounds New's GET /2/users/me, the
	// reply client's retries of network failures, 5xx and rate limits
	// included. When it passes without an answer, New starts anyway.
	DefaultCredentialCheckTimeout = 30 * time.Second
	// DefaultAuthRecheck is the first wait before GET /2/users/me is asked
	// again after a 401; it doubles up to MaxAuthRecheck.
	DefaultAuthRecheck = 5 * time.Second
	// MaxAuthRecheck bounds the wait between re-checks.
	MaxAuthRecheck = 5 * time.Minute
)

// Check results, the label values of moetron_worker_auth_checks_total.
const (
	CheckOK           = "ok"           // the tokens are the bot's
	CheckUnauthorized = "unauthorized" // X refused them (401 or 403)
	CheckWrongAccount = "wrong_account"
	CheckUnreachable  = "unreachable" // no answer: network, 5xx, timeout
)

// authMetrics are the credential state's collectors.
type authMetrics struct {
	paused  prometheus.Gauge
	checks  *prometheus.CounterVec
	refused prometheus.Counter
}

func newAuthMetrics(reg prometheus.Registerer) *authMetrics {
	m := &authMetrics{
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "moetron_worker_auth_paused",
			Help: "1 while job consumption is paused because X refused the OAuth credentials (401)."}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moetron_worker_auth_checks_total",
			Help: "GET /2/users/me credential checks (start-up and re-checks), by result."}, []string{"result"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "moetron_worker_auth_refused_total",
			Help: "Jobs whose calls to X got a 401; they go back to the queue and consumption pauses."}),
	}
	for _, r := range []string{CheckOK, CheckUnauthorized, CheckWrongAccount, CheckUnreachable} {
		m.checks.WithLabelValues(r)
	}
	reg.MustRegister(m.paused, m.checks, m.refused)
	return m
}

// checkCredentials asks X whose tokens these are. It returns the result
// label and, unless the result is CheckOK, an error that names the settings
// to fix (never their values).
func checkCredentials(ctx context.Context, client *reply.Client, botUserID string) (string, error) {
	u, err := client.Me(ctx)
	var ae *reply.APIError
	switch {
	case err == nil && u.ID == botUserID:
		return CheckOK, nil
	case err == nil:
		return CheckWrongAccount, fmt.Errorf("%w: X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET are those of @%s (user id %s), not of %s %s",
			ErrWrongAccount, u.Username, u.ID, EnvBotUserID, botUserID)
	case errors.Is(err, reply.ErrUnauthorized),
		errors.As(err, &ae) && ae.Status == http.StatusForbidden && !errors.Is(err, reply.ErrRateLimited):
		return CheckUnauthorized, fmt.Errorf("%w (GET /2/users/me answered %d): check %s, %s, %s and %s, and that the app's tokens were not revoked or regenerated: %w",
			ErrCredentials, statusOf(err), EnvConsumerKey, EnvConsumerSecret, EnvAccessToken, EnvAccessTokenSecret, err)
	}
	return CheckUnreachable, fmt.Errorf("workerserver: could not check the OAuth credentials with GET /2/users/me: %w", err)
}

func statusOf(err error) int {
	var ae *reply.APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// authGate pauses job consumption while X refuses the credentials: the
// consumer's Receive waits at the gate, jobs stay on the queue, and a
// goroutine asks GET /2/users/me with backoff until the tokens pass again.
type authGate struct {
	client  *reply.Client
	botID   string
	log     *slog.Logger
	met     *authMetrics
	first   time.Duration // first re-check wait
	runCtx  context.Context
	mu      sync.Mutex
	open    chan struct{} // closed while consumption may go on
	paused  bool
	checker bool // a re-check goroutine runs
	wg      sync.WaitGroup
}

func newAuthGate(client *reply.Client, botID string, log *slog.Logger, met *authMetrics, first time.Duration) *authGate {
	g := &authGate{client: client, botID: botID, log: log, met: met, first: first, open: make(chan struct{})}
	close(g.open)
	return g
}

// Paused reports whether consumption is paused by a 401.
func (g *authGate) Paused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused
}

// wait returns when consumption may go on, or with ctx's error.
func (g *authGate) wait(ctx context.Context) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start lets pause start re-check goroutines, which end with ctx.
func (g *authGate) start(ctx context.Context) {
	g.mu.Lock()
	g.runCtx = ctx
	g.mu.Unlock()
}

// stop waits for the re-check goroutine (after the run context ended).
func (g *authGate) stop() { g.wg.Wait() }

// pause closes the gate (if open) and starts the re-checks.
func (g *authGate) pause(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.paused {
		g.paused = true
		g.open = make(chan struct{})
		g.met.paused.Set(1)
		g.log.Error("X refused the OAuth credentials (401): job consumption paused, jobs stay on the queue; "+
			"re-checking GET /2/users/me with backoff", "err", cause)
	}
	if g.checker || g.runCtx == nil {
		return
	}
	g.checker = true
	g.wg.Add(1)
	go g.recheck(g.runCtx)
}

func (g *authGate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		g.paused = false
		close(g.open)
		g.met.paused.Set(0)
		g.log.Info("X accepts the OAuth credentials again: job consumption resumed")
	}
}

// recheck asks GET /2/users/me until the tokens pass (then reopens the
// gate) or ctx ends.
func (g *authGate) recheck(ctx context.Context) {
	defer g.wg.Done()
	defer func() {
		g.mu.Lock()
		g.checker = false
		g.mu.Unlock()
	}()
	wait := g.first
	for {
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, DefaultCredentialCheckTimeout)
		result, err := checkCredentials(cctx, g.client, g.botID)
		cancel()
		if ctx.Err() != nil {
			return
		}
		g.met.checks.WithLabelValues(result).Inc()
		if result == CheckOK {
			g.resume()
			return
		}
		wait = min(2*wait, MaxAuthRecheck)
		g.log.Warn("credential re-check failed; consumption stays paused", "result", result, "err", err, "next_in", wait)
	}
}

// gatedQueue is the job queue as the consumer sees it: Receive waits while
// the gate is closed, so that no job is taken while X refuses the tokens.
type gatedQueue struct {
	queue.Queue
	gate *authGate
}

func (q gatedQueue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*queue.Message, error) {
	if err := q.gate.wait(ctx); err != nil {
		return nil, err
	}
	return q.Queue.Receive(ctx, max, visibility)
}

// authHandler turns a job's 401 into a pause: the job goes back to the
// queue as a deferral for the first re-check wait (not a failure, so a
// 401 never sends it to the poison queue) and the gate closes.
type authHandler struct {
	next queue.Handler
	gate *authGate
}

func (h authHandler) Handle(ctx context.Context, m *queue.Message) error {
	err := h.next.Handle(ctx, m)
	if err == nil || !errors.Is(err, reply.ErrUnauthorized) || queue.IsPermanent(err) {
		return err
	}
	h.gate.met.refused.Inc()
	h.gate.pause(err)
	return queue.RetryAfter(err, h.gate.first)
}
