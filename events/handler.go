package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/moetron/moetron/crc"
)

// DefaultMaxBodyBytes is the body limit of a Handler whose config leaves
// MaxBodyBytes at zero.
const DefaultMaxBodyBytes = 1 << 20

// Defaults for the bound on bodies read before their signature is checked.
const (
	// DefaultMaxUnverifiedBytes is the most body-buffer bytes that all
	// requests not yet verified may hold together when
	// HandlerConfig.MaxUnverifiedBytes is zero.
	DefaultMaxUnverifiedBytes = 64 << 20
	// DefaultUnverifiedWait is how long a request waits for its share of
	// that budget when HandlerConfig.UnverifiedWait is zero.
	DefaultUnverifiedWait = time.Second
)

// initialBodyBuffer caps the buffer a POST gets before any of its bytes
// arrive, whatever its Content-Length says; it grows, by doubling, only as
// bytes actually come in.
const initialBodyBuffer = 64 << 10

// busyRetryAfter is the Retry-After (seconds) of a 503 for a request that
// could not get its share of the unverified-bytes budget.
const busyRetryAfter = "1"

// Reasons reported in Outcome.Reason, one per way a request can end.
const (
	ReasonOK               = "ok"                 // 200: callback returned nil
	ReasonTooLarge         = "too_large"          // 413
	ReasonMissingSignature = "missing_signature"  // 401
	ReasonBadSignature     = "bad_signature"      // 403: malformed or wrong
	ReasonMalformed        = "malformed"          // 400: not a JSON object, bad JSON
	ReasonCallbackFailed   = "callback_failed"    // 503: callback error or panic
	ReasonReadFailed       = "read_failed"        // 400: the body could not be read
	ReasonCRC              = "crc"                // GET answered by the CRC handler (any status)
	ReasonMethodNotAllowed = "method_not_allowed" // 405
	ReasonBusy             = "busy"               // 503: no room for another unverified body in time
)

// Callback receives each verified, decoded delivery. raw is the exact
// body X signed. Returning nil answers 200; an error answers 503 so that X
// delivers again. It runs on the request goroutine with the request's
// context, and must not keep raw or p after returning unless it copies.
type Callback func(ctx context.Context, p *Payload, raw []byte) error

// Outcome describes how one request ended, for metrics.
type Outcome struct {
	Method string
	Status int
	Reason string   // one of the Reason constants
	Kinds  []string // Payload.Kinds() when the body decoded
	Err    error    // the cause for failures; never carries a secret or a MAC
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Secrets are the consumer secrets accepted for POST signatures (several
	// during a rotation); the first answers CRC challenges. Required.
	Secrets []string
	// MaxBodyBytes caps a POST body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxUnverifiedBytes bounds the body-buffer bytes held, all requests
	// together, by POSTs whose signature has not been verified yet, so that
	// unauthenticated clients cannot inflate memory. A buffer starts at no
	// more than 64 KiB whatever the Content-Length says and grows as bytes
	// arrive; each growth takes its bytes from this budget first, and the
	// share is given back once the signature is checked. Zero means
	// DefaultMaxUnverifiedBytes; it must be larger than MaxBodyBytes.
	MaxUnverifiedBytes int64
	// UnverifiedWait is how long a POST waits for its share of
	// MaxUnverifiedBytes before it is answered 503 with Retry-After (reason
	// ReasonBusy); it never waits longer. Zero means DefaultUnverifiedWait.
	UnverifiedWait time.Duration
	// Callback receives every verified delivery. Required.
	Callback Callback
	// Logger receives debug lines for rejected requests and an error line
	// for callback failures; nil discards.
	Logger *slog.Logger
	// OnSignatureFailure, if set, is called when a POST has a missing,
	// malformed or wrong signature (err matches the crc errors).
	OnSignatureFailure func(r *http.Request, err error)
	// OnOutcome, if set, is called once at the end of every request.
	OnOutcome func(ctx context.Context, o Outcome)
}

// Handler serves the webhook path: GET is X's CRC challenge (delegated to
// crc.Handler), POST is a delivery. For a POST it caps the body (413),
// verifies the signature over the raw bytes before parsing (401 when the
// header is missing or empty, 403 when it is wrong), decodes it (400) and
// calls the callback (200 on success, 503 on failure). Other methods get
// 405. Bodies not yet verified share a byte budget (MaxUnverifiedBytes); a
// POST that cannot get its share within UnverifiedWait gets 503 with
// Retry-After. The server that mounts it must still set its own read and
// write timeouts (slow clients hold their share until those end them).
type Handler struct {
	cfg        HandlerConfig
	crc        *crc.Handler
	verify     *crc.Verifier
	log        *slog.Logger
	unverified *budget
}

// NewHandler validates cfg and returns a Handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Callback == nil {
		return nil, errors.New("events: HandlerConfig.Callback is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("events: HandlerConfig.MaxBodyBytes is negative (%d)", cfg.MaxBodyBytes)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxUnverifiedBytes < 0 || cfg.UnverifiedWait < 0 {
		return nil, fmt.Errorf("events: HandlerConfig.MaxUnverifiedBytes (%d) or UnverifiedWait (%v) is negative",
			cfg.MaxUnverifiedBytes, cfg.UnverifiedWait)
	}
	if cfg.MaxUnverifiedBytes == 0 {
		cfg.MaxUnverifiedBytes = max(DefaultMaxUnverifiedBytes, cfg.MaxBodyBytes+1)
	}
	if cfg.MaxUnverifiedBytes <= cfg.MaxBodyBytes {
		return nil, fmt.Errorf("events: HandlerConfig.MaxUnverifiedBytes (%d) must be larger than MaxBodyBytes (%d)",
			cfg.MaxUnverifiedBytes, cfg.MaxBodyBytes)
	}
	if cfg.UnverifiedWait == 0 {
		cfg.UnverifiedWait = DefaultUnverifiedWait
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ch, err := crc.NewHandler(crc.HandlerConfig{Secrets: cfg.Secrets, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	cfg.Secrets = append([]string(nil), cfg.Secrets...)
	return &Handler{cfg: cfg, crc: ch, verify: crc.NewVerifier(cfg.Secrets...), log: log,
		unverified: newBudget(cfg.MaxUnverifiedBytes, cfg.UnverifiedWait)}, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.crc.ServeHTTP(sw, r)
		o := Outcome{Status: sw.status, Reason: ReasonCRC}
		if sw.status != http.StatusOK {
			o.Err = crc.ErrInvalidToken
		}
		h.outcome(r, o)
	case http.MethodPost:
		h.post(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		h.fail(w, r, Outcome{Status: http.StatusMethodNotAllowed, Reason: ReasonMethodNotAllowed,
			Err: fmt.Errorf("events: method %q not allowed", r.Method)})
	}
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	max := h.cfg.MaxBodyBytes
	if r.ContentLength > max {
		h.fail(w, r, Outcome{Status: http.StatusRequestEntityTooLarge, Reason: ReasonTooLarge,
			Err: fmt.Errorf("%w: Content-Length %d over %d", crc.ErrBodyTooLarge, r.ContentLength, max)})
		return
	}
	raw, held, err := readBody(r.Context(), http.MaxBytesReader(w, r.Body, max), r.ContentLength, max, h.unverified)
	if err != nil {
		h.unverified.release(held)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			h.fail(w, r, Outcome{Status: http.StatusRequestEntityTooLarge, Reason: ReasonTooLarge,
				Err: fmt.Errorf("%w: over %d bytes", crc.ErrBodyTooLarge, max)})
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", busyRetryAfter)
			h.fail(w, r, Outcome{Status: http.StatusServiceUnavailable, Reason: ReasonBusy, Err: err})
		default:
			h.fail(w, r, Outcome{Status: http.StatusBadRequest, Reason: ReasonReadFailed, Err: err})
		}
		return
	}
	err = h.verify.Verify(raw, r.Header.Get(crc.SignatureHeader))
	// Verified or not, the bytes no longer count as unauthenticated: a
	// rejected body is dropped now, a verified one is X's own.
	h.unverified.release(held)
	if err != nil {
		if h.cfg.OnSignatureFailure != nil {
			h.cfg.OnSignatureFailure(r, err)
		}
		o := Outcome{Status: http.StatusForbidden, Reason: ReasonBadSignature, Err: err}
		if errors.Is(err, crc.ErrMissingSignature) {
			o.Status, o.Reason = http.StatusUnauthorized, ReasonMissingSignature
		}
		h.fail(w, r, o)
		return
	}
	p, err := Decode(raw)
	if err != nil {
		h.fail(w, r, Outcome{Status: http.StatusBadRequest, Reason: ReasonMalformed, Err: err})
		return
	}
	kinds := p.Kinds()
	if err := h.call(r.Context(), p, raw); err != nil {
		h.log.ErrorContext(r.Context(), "events: callback failed", "error", err, "kinds", kinds)
		h.fail(w, r, Outcome{Status: http.StatusServiceUnavailable, Reason: ReasonCallbackFailed, Kinds: kinds, Err: err})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok\n")
	h.outcome(r, Outcome{Status: http.StatusOK, Reason: ReasonOK, Kinds: kinds})
}

// readBody reads r to its end, as io.ReadAll does, taking every byte of
// buffer it allocates from b first. The first buffer is the declared size
// plus the byte that lets the last Read see EOF, but never more than
// initialBodyBuffer: a Content-Length is only a claim until the bytes come.
// The buffer then doubles as bytes arrive, up to max+1 (the reader is
// expected to stop at max). held is what the returned buffer holds of b,
// also on error; the caller releases it. When b has no room in time (see
// budget.acquire) the error wraps errBusy.
func readBody(ctx context.Context, r io.Reader, size, max int64, b *budget) (buf []byte, held int64, err error) {
	limit := max + 1
	n := min(limit, initialBodyBuffer)
	if size >= 0 {
		n = min(n, size+1)
	}
	if err := b.acquire(ctx, n); err != nil {
		return nil, 0, err
	}
	buf, held = make([]byte, 0, n), n
	for {
		if len(buf) == cap(buf) {
			grow := min(2*int64(cap(buf)), limit)
			if grow <= int64(cap(buf)) {
				grow = 2 * int64(cap(buf)) // only a reader that ignores max gets here
			}
			if err := b.acquire(ctx, grow); err != nil {
				return buf, held, err
			}
			next := make([]byte, len(buf), grow)
			copy(next, buf)
			b.release(held)
			buf, held = next, grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return buf, held, err
		}
	}
}

// errBusy means a request could not get its share of the unverified-bytes
// budget in time.
var errBusy = errors.New("events: too many bytes held by unverified requests")

// budget is a weighted semaphore over body-buffer bytes that also keeps the
// bytes held now and the most ever held, for tests and diagnostics.
// golang.org/x/sync/semaphore does the waiting: FIFO, and a waiter whose
// context ends is removed without leaking its grant.
type budget struct {
	sem        *semaphore.Weighted
	wait       time.Duration
	held, peak atomic.Int64
}

func newBudget(n int64, wait time.Duration) *budget {
	return &budget{sem: semaphore.NewWeighted(n), wait: wait}
}

// acquire takes n bytes, waiting at most b.wait (each call anew, so a slow
// but steady body is not refused for being slow) or until ctx ends; the
// error wraps errBusy.
func (b *budget) acquire(ctx context.Context, n int64) error {
	if !b.sem.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, b.wait)
		err := b.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			return fmt.Errorf("%w: no room for %d bytes within %v: %v", errBusy, n, b.wait, err)
		}
	}
	h := b.held.Add(n)
	for {
		p := b.peak.Load()
		if h <= p || b.peak.CompareAndSwap(p, h) {
			return nil
		}
	}
}

// release gives back n bytes (n may be 0).
func (b *budget) release(n int64) {
	if n > 0 {
		b.held.Add(-n)
		b.sem.Release(n)
	}
}

// call runs the callback, turning a panic into an error.
func (h *Handler) call(ctx context.Context, p *Payload, raw []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("events: callback panicked: %v", v)
		}
	}()
	return h.cfg.Callback(ctx, p, raw)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, o Outcome) {
	if o.Reason != ReasonCallbackFailed {
		h.log.DebugContext(r.Context(), "events: rejected request", "method", r.Method, "status", o.Status, "reason", o.Reason, "error", o.Err)
	}
	http.Error(w, http.StatusText(o.Status), o.Status)
	h.outcome(r, o)
}

func (h *Handler) outcome(r *http.Request, o Outcome) {
	o.Method = r.Method
	if h.cfg.OnOutcome != nil {
		h.cfg.OnOutcome(r.Context(), o)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// String makes an Outcome readable in test failures and logs.
func (o Outcome) String() string {
	return o.Method + " " + strconv.Itoa(o.Status) + " " + o.Reason
}
