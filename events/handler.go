package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/moetron/moetron/crc"
)

// DefaultMaxBodyBytes is the body limit of a Handler whose config leaves
// MaxBodyBytes at zero.
const DefaultMaxBodyBytes = 1 << 20

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
// 405. The server that mounts it must still set its own read and write
// timeouts.
type Handler struct {
	cfg    HandlerConfig
	crc    *crc.Handler
	verify *crc.Verifier
	log    *slog.Logger
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ch, err := crc.NewHandler(crc.HandlerConfig{Secrets: cfg.Secrets, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	cfg.Secrets = append([]string(nil), cfg.Secrets...)
	return &Handler{cfg: cfg, crc: ch, verify: crc.NewVerifier(cfg.Secrets...), log: log}, nil
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
	raw, err := readBody(http.MaxBytesReader(w, r.Body, max), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, r, Outcome{Status: http.StatusRequestEntityTooLarge, Reason: ReasonTooLarge,
				Err: fmt.Errorf("%w: over %d bytes", crc.ErrBodyTooLarge, max)})
		} else {
			h.fail(w, r, Outcome{Status: http.StatusBadRequest, Reason: ReasonReadFailed, Err: err})
		}
		return
	}
	if err := h.verify.Verify(raw, r.Header.Get(crc.SignatureHeader)); err != nil {
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

// readBody reads r to its end, as io.ReadAll does. When the request says
// its length (size >= 0, already checked against the cap), the buffer is
// made that size once, plus the byte that lets the last Read see EOF,
// rather than grown from 512 bytes by doubling and copying.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			// Longer than it said (only a Reader that ignores the
			// length can do that): read the rest as io.ReadAll would.
			rest, err := io.ReadAll(r)
			return append(b, rest...), err
		}
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
