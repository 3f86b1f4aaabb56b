package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/internal/xapi"
)

// Path is the stream endpoint, relative to the API base URL.
const Path = "/2/activity/stream"

// Defaults of Config.
const (
	DefaultBaseURL       = xapi.DefaultBaseURL
	DefaultStallTimeout  = 30 * time.Second
	DefaultMaxLineBytes  = events.DefaultMaxBodyBytes
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 64 * time.Second
	DefaultRateLimitWait = 60 * time.Second
	DefaultConcurrency   = 16
	// MaxRateLimitWait caps the doubling wait after 429s that say nothing
	// about when to come back (X's rate-limit window is 15 minutes).
	MaxRateLimitWait = 16 * time.Minute
	// MaxBackfillMinutes is the most backfill_minutes X accepts.
	MaxBackfillMinutes = 5
	// DialTimeout bounds the TCP connect and the TLS handshake of
	// NewHTTPClient's transport.
	DialTimeout = 10 * time.Second
	// gapMargin is added to a measured gap before it is rounded up to
	// minutes: lines X wrote just before we last heard from it may still
	// have been in flight.
	gapMargin = 10 * time.Second
)

// Handler takes one decoded stream event. It returns nil only once the
// event is safe (intake.Handle: every job is on the queue or spooled);
// an error makes the Consumer call it again with the same event.
type Handler func(ctx context.Context, p *events.Payload, raw []byte) error

// Config configures a Consumer. Every zero value means its documented
// default; BearerToken and Handle are required.
type Config struct {
	// BaseURL is X's API base URL (X_API_BASE). Empty means DefaultBaseURL.
	BaseURL string
	// BearerToken is the app-only token (X_BEARER_TOKEN). Required; a
	// secret that never appears in logs or errors.
	BearerToken string
	// Handle receives every event; intake.Handle fits. Required. With
	// Concurrency above 1 it is called from several goroutines at once and
	// events may be handled out of stream order.
	Handle Handler
	// Concurrency is how many events are handed to Handle at once while
	// the stream is read on, so that a durable Handle (a fsynced enqueue)
	// can commit several together. Zero means DefaultConcurrency; 1 keeps
	// the stream's order.
	Concurrency int
	// HTTPClient makes the stream requests. Nil means NewHTTPClient(). A
	// client of your own should speak HTTP/1.1, not ask for compression and
	// have no overall Timeout (which would cut the stream).
	HTTPClient *http.Client

	// StallTimeout is how long the connection may stay silent (no byte,
	// keep-alives included, and no response headers yet) before it counts
	// as dead and is replaced. Zero means DefaultStallTimeout; X sends a
	// keep-alive about every 20 s.
	StallTimeout time.Duration
	// MaxLineBytes caps one line; a longer line is skipped (and counted)
	// and the stream goes on. Zero means DefaultMaxLineBytes (1 MiB, the
	// webhook's body limit).
	MaxLineBytes int

	// BackfillMinutes caps the backfill_minutes asked for on a reconnect,
	// 1 to MaxBackfillMinutes. Zero means MaxBackfillMinutes.
	BackfillMinutes int
	// NoBackfill never asks for backfill (a self-serve app that knows X
	// refuses it). False asks, and stops asking after the first 400 that
	// names backfill.
	NoBackfill bool
	// InitialBackfillMinutes is asked for on the first connection of Run
	// (0 to MaxBackfillMinutes), e.g. to cover a restart. Zero means none.
	InitialBackfillMinutes int

	// MinBackoff and MaxBackoff bound the jittered exponential wait between
	// failed connects and between failed Handle calls. Zero means
	// DefaultMinBackoff (1 s) and DefaultMaxBackoff (64 s).
	MinBackoff, MaxBackoff time.Duration
	// RateLimitWait is the first wait after a 429 that names no time to
	// come back (no Retry-After, no x-rate-limit-reset); it doubles up to
	// MaxRateLimitWait. Zero means DefaultRateLimitWait (60 s).
	RateLimitWait time.Duration

	// Metrics are optional hooks the Consumer calls; nil means none.
	Metrics *Metrics
	// Logger; nil means no logging.
	Logger *slog.Logger

	// Test hooks; nil means time.Now, a timer, math/rand/v2.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func() float64
}

// ErrConfig is wrapped by the errors of New for a bad Config.
var ErrConfig = errors.New("stream: invalid configuration")

// NewHTTPClient returns the client the Consumer uses by default: HTTP/1.1
// only, no compression, dial and TLS handshake bounded by DialTimeout, and
// no overall or response-header timeout (X may send the headers only with
// its first keep-alive, about 20 s in; the stall timeout covers that wait).
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: DialTimeout,
		// A non-nil empty map turns HTTP/2 off.
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr}
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.HTTPClient == nil {
		c.HTTPClient = NewHTTPClient()
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.BackfillMinutes == 0 {
		c.BackfillMinutes = MaxBackfillMinutes
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.RateLimitWait == 0 {
		c.RateLimitWait = DefaultRateLimitWait
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = xapi.Sleep
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	return c
}

func (c Config) validate() error {
	var bad []string
	if c.BearerToken == "" {
		bad = append(bad, "BearerToken is required")
	}
	if c.Handle == nil {
		bad = append(bad, "Handle is required")
	}
	if _, err := xapi.BaseURL(c.BaseURL); err != nil {
		bad = append(bad, "BaseURL (X_API_BASE) "+err.Error())
	}
	if c.StallTimeout < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 || c.RateLimitWait < 0 {
		bad = append(bad, "durations must not be negative")
	}
	if c.MaxBackoff < c.MinBackoff {
		bad = append(bad, "MaxBackoff is below MinBackoff")
	}
	if c.MaxLineBytes < 0 || c.Concurrency < 0 {
		bad = append(bad, "MaxLineBytes and Concurrency must not be negative")
	}
	if c.BackfillMinutes < 0 || c.BackfillMinutes > MaxBackfillMinutes {
		bad = append(bad, fmt.Sprintf("BackfillMinutes %d is not within 0..%d", c.BackfillMinutes, MaxBackfillMinutes))
	}
	if c.InitialBackfillMinutes < 0 || c.InitialBackfillMinutes > MaxBackfillMinutes {
		bad = append(bad, fmt.Sprintf("InitialBackfillMinutes %d is not within 0..%d", c.InitialBackfillMinutes, MaxBackfillMinutes))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(bad, "; "))
	}
	return nil
}
