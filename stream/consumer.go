package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/internal/xapi"
)

// Consumer reads X's activity stream and hands every event to Handle.
// Create it with New, run it with Run; Status and Ready are safe to call
// from any goroutine.
type Consumer struct {
	cfg     Config
	url     string
	running atomic.Bool

	slots    chan struct{}  // one per Handle call in flight
	inflight sync.WaitGroup // Handle calls in flight

	mu         sync.Mutex
	connected  bool
	since      time.Time
	reconnects int
	lastEvent  time.Time
	lastAlive  time.Time // last byte from X on any connection
	taken      uint64
	skipped    map[string]uint64
	errs       uint64
	lastErr    string
	fatal      error
	noBackfill bool
}

// Status is a snapshot of a Consumer.
type Status struct {
	// Connected is true while a stream is open (200 received).
	Connected bool
	// Since is when Connected last changed (zero before the first connect).
	Since time.Time
	// Reconnects counts connection attempts after the first.
	Reconnects int
	// LastEvent is when the last event was taken; LastData when the last
	// byte (keep-alives included) arrived.
	LastEvent, LastData time.Time
	// Taken counts events Handle accepted.
	Taken uint64
	// Skipped counts skipped lines by reason (Skip* constants).
	Skipped map[string]uint64
	// Errors counts failed connects, dead connections, error lines and
	// failed Handle calls; LastError describes the latest (no secrets).
	Errors    uint64
	LastError string
	// Backfill is false once X refused backfill (or Config.NoBackfill).
	Backfill bool
}

// New validates cfg and returns a Consumer.
func New(cfg Config) (*Consumer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Consumer{
		cfg:        cfg,
		slots:      make(chan struct{}, cfg.Concurrency),
		url:        strings.TrimRight(cfg.BaseURL, "/") + Path,
		skipped:    map[string]uint64{},
		noBackfill: cfg.NoBackfill,
	}, nil
}

// Status returns a snapshot of the consumer's state.
func (c *Consumer) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	sk := make(map[string]uint64, len(c.skipped))
	for k, v := range c.skipped {
		sk[k] = v
	}
	return Status{Connected: c.connected, Since: c.since, Reconnects: c.reconnects,
		LastEvent: c.lastEvent, LastData: c.lastAlive, Taken: c.taken, Skipped: sk,
		Errors: c.errs, LastError: c.lastErr, Backfill: !c.noBackfill}
}

// Ready returns nil while a stream is open; else ErrNotConnected (with the
// last failure), or the error that stopped Run.
func (c *Consumer) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.fatal != nil:
		return c.fatal
	case c.connected:
		return nil
	case c.lastErr != "":
		return fmt.Errorf("%w (reconnecting; last error: %s)", ErrNotConnected, c.lastErr)
	}
	return ErrNotConnected
}

// Run connects and reads the stream until ctx ends, reconnecting after
// every failure with backoff. It returns nil when ctx ends (after the
// Handle call in flight, which gets a context that is not canceled, has
// returned) and an error only when retrying cannot help: an *HTTPError
// matching ErrUnauthorized for a 401 or 403.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)
	defer c.inflight.Wait() // every event read is stored (or given up at ctx's end) before Run returns
	fails, rateFails := 0, 0
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		if attempt > 0 {
			c.mu.Lock()
			c.reconnects++
			c.mu.Unlock()
			c.cfg.Metrics.reconnecting()
		}
		r := c.connect(ctx, c.backfill(attempt == 0))
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		var he *HTTPError
		switch {
		case errors.As(r.err, &he) && errors.Is(he, ErrUnauthorized):
			err := fmt.Errorf("stream: giving up: %w", he)
			c.fail(ErrKindAuth, err)
			c.mu.Lock()
			c.fatal = err
			c.mu.Unlock()
			c.cfg.Logger.Error("stream: X refused the bearer token; not retrying", "status", he.StatusCode, "title", he.Title)
			return err
		case he != nil && he.StatusCode == http.StatusBadRequest && he.backfill && r.backfill > 0:
			c.mu.Lock()
			first := !c.noBackfill
			c.noBackfill = true
			c.mu.Unlock()
			if first {
				c.cfg.Logger.Warn("stream: X refused backfill_minutes (self-serve apps may not use it); reconnecting without it", "detail", he.Detail)
			}
			continue
		case he != nil && he.StatusCode == http.StatusTooManyRequests:
			c.fail(ErrKindRateLimit, he)
			if he.RetryAfter > 0 {
				wait = he.RetryAfter
			} else {
				wait = c.jitter(c.cfg.RateLimitWait, MaxRateLimitWait, rateFails)
			}
			rateFails++
			fails++
		case r.lines > 0:
			// The connection worked for a while: reconnect at once, as X asks.
			fails, rateFails = 0, 0
			if r.err != nil && r.kind != "" {
				c.fail(r.kind, r.err)
			}
		default:
			if r.err != nil && r.kind != "" {
				c.fail(r.kind, r.err)
			}
			wait = c.jitter(c.cfg.MinBackoff, c.cfg.MaxBackoff, fails)
			fails++
		}
		if wait > 0 {
			c.cfg.Logger.Info("stream: waiting before reconnecting", "wait", wait, "err", r.err)
			if c.cfg.sleep(ctx, wait) != nil {
				return nil
			}
		}
	}
}

// jitter returns base·2^n capped at limit, scaled by a random factor in
// [0.5, 1) so that two clients that failed together do not retry together.
func (c *Consumer) jitter(base, limit time.Duration, n int) time.Duration {
	d := float64(base) * math.Pow(2, float64(min(n, 30)))
	if d > float64(limit) {
		d = float64(limit)
	}
	return time.Duration(d * (0.5 + c.cfg.rand()/2))
}

// backfill returns the backfill_minutes for the next connection: on the
// first, InitialBackfillMinutes; later, the minutes since X was last heard
// from (plus a margin), rounded up, capped at BackfillMinutes.
func (c *Consumer) backfill(first bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noBackfill {
		return 0
	}
	if first || c.lastAlive.IsZero() {
		return c.cfg.InitialBackfillMinutes
	}
	gap := c.cfg.now().Sub(c.lastAlive) + gapMargin
	m := int(math.Ceil(gap.Minutes()))
	if m > c.cfg.BackfillMinutes {
		c.cfg.Logger.Warn("stream: the gap is longer than backfill can cover; events may be missing", "gap", gap.Round(time.Second))
		m = c.cfg.BackfillMinutes
	}
	return max(m, 1)
}

func (c *Consumer) fail(kind string, err error) {
	c.mu.Lock()
	c.errs++
	c.lastErr = err.Error()
	c.mu.Unlock()
	c.cfg.Metrics.failed(kind, err)
}

func (c *Consumer) setConnected(on bool) {
	c.mu.Lock()
	if c.connected != on {
		c.connected, c.since = on, c.cfg.now()
	}
	c.mu.Unlock()
	c.cfg.Metrics.connected(on)
}

func (c *Consumer) skip(reason string) {
	c.mu.Lock()
	c.skipped[reason]++
	c.mu.Unlock()
	c.cfg.Metrics.skipped(reason)
}

// result is how one connection ended.
type result struct {
	err      error
	kind     string // ErrKind* of err
	lines    int    // lines read (keep-alives included)
	backfill int    // backfill_minutes asked for
}

// connect opens one stream and reads it until it fails or ctx ends.
func (c *Consumer) connect(ctx context.Context, backfill int) result {
	r := result{backfill: backfill}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// One timer covers the wait for headers and every silence after.
	watchdog := time.AfterFunc(c.cfg.StallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	u := c.url
	if backfill > 0 {
		u += "?" + url.Values{"backfill_minutes": {strconv.Itoa(backfill)}}.Encode()
	}
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, u, nil)
	if err != nil {
		r.err, r.kind = fmt.Errorf("stream: %w", err), ErrKindNetwork
		return r
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.BearerToken)
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		r.kind, r.err = connErr(cctx, err)
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
		he := newHTTPError(resp, body, c.cfg.now())
		r.err, r.kind = he, ErrKindHTTP
		return r
	}
	c.mu.Lock()
	c.lastAlive = c.cfg.now() // X is heard from: the gap starts here at the latest
	c.mu.Unlock()
	c.setConnected(true)
	defer c.setConnected(false)
	c.cfg.Logger.Info("stream: connected", "backfill_minutes", backfill)

	body := &aliveReader{r: resp.Body, on: func() {
		watchdog.Reset(c.cfg.StallTimeout)
		c.mu.Lock()
		c.lastAlive = c.cfg.now()
		c.mu.Unlock()
	}}
	lr := newLineReader(body, c.cfg.MaxLineBytes)
	for {
		line, over, err := lr.next()
		if err != nil {
			if len(line) > 0 || over {
				c.skip(SkipTruncated)
			}
			if errors.Is(err, io.EOF) {
				r.err, r.kind = errors.New("stream: X closed the stream"), ErrKindNetwork
			} else {
				r.kind, r.err = connErr(cctx, err)
			}
			return r
		}
		r.lines++
		if over {
			c.skip(SkipOversized)
			c.cfg.Logger.Warn("stream: skipped an oversized line", "limit", c.cfg.MaxLineBytes)
			continue
		}
		watchdog.Stop() // Handle may take a while; that is not X's silence
		serr := c.line(ctx, line)
		if ctx.Err() != nil {
			return r
		}
		watchdog.Reset(c.cfg.StallTimeout)
		if serr != nil {
			r.err, r.kind = serr, "" // counted by line
			return r
		}
	}
}

// connErr classifies a failed request or read.
func connErr(cctx context.Context, err error) (kind string, _ error) {
	if errors.Is(context.Cause(cctx), errStalled) {
		return ErrKindStall, errStalled
	}
	// The URL (with its backfill query) is dropped; the path says enough.
	return ErrKindNetwork, fmt.Errorf("stream: GET %s: %w", Path, xapi.StripURL(err))
}

// line handles one line. It returns a *StreamError when X announced a
// disconnect, so that the caller reconnects.
func (c *Consumer) line(ctx context.Context, line []byte) error {
	l := bytes.TrimSpace(line)
	if rest, ok := bytes.CutPrefix(l, []byte("data:")); ok {
		l = bytes.TrimSpace(rest)
	}
	if len(l) == 0 || bytes.Equal(l, []byte("{}")) {
		c.skip(SkipKeepAlive)
		return nil
	}
	if se := errorLine(l); se != nil {
		c.skip(SkipErrorLine)
		c.fail(ErrKindStreamError, se)
		c.cfg.Logger.Warn("stream: X sent an error line", "title", se.Title, "detail", se.Detail, "type", se.Type)
		if se.Disconnect() {
			return se
		}
		return nil
	}
	raw := bytes.Clone(l)
	p, err := events.Decode(raw)
	if err != nil {
		c.skip(SkipMalformed)
		c.cfg.Logger.Warn("stream: skipped a malformed line", "err", err, "bytes", len(raw))
		return nil
	}
	if p.Source != events.SourceXAA {
		c.skip(SkipUnknown)
		c.cfg.Logger.Warn("stream: skipped a line that is not an activity envelope", "kinds", p.Kinds())
		return nil
	}
	c.dispatch(ctx, p, raw)
	return nil
}

// dispatch hands an event to deliver: in this goroutine with Concurrency
// 1, else in a new one once a slot is free (reading waits meanwhile, so a
// slow Handle slows the stream down instead of piling events up).
func (c *Consumer) dispatch(ctx context.Context, p *events.Payload, raw []byte) {
	if c.cfg.Concurrency == 1 {
		c.deliver(ctx, p, raw)
		return
	}
	c.slots <- struct{}{}
	c.inflight.Add(1)
	go func() {
		defer func() {
			<-c.slots
			c.inflight.Done()
		}()
		c.deliver(ctx, p, raw)
	}()
}

// errorLine returns the StreamError of an {"errors":[...]} line without
// "data", else nil.
func errorLine(l []byte) *StreamError {
	if !bytes.Contains(l, []byte(`"errors"`)) {
		return nil
	}
	v, ok := xapi.ParseBody(l)
	if !ok || v.Data != nil || len(v.Errors) == 0 {
		return nil
	}
	e := v.Errors[0]
	se := &StreamError{Title: e.Title, Detail: e.Detail, Type: e.Type}
	if se.Detail == "" {
		se.Detail = e.Message
	}
	return se
}

// deliver calls Handle until it returns nil or ctx ends. Each call gets a
// context that ctx's end does not cancel, so a store in progress at
// shutdown completes; no new call starts after ctx ends.
func (c *Consumer) deliver(ctx context.Context, p *events.Payload, raw []byte) bool {
	hctx := context.WithoutCancel(ctx)
	for n := 0; ; n++ {
		err := c.call(hctx, p, raw)
		if err == nil {
			now := c.cfg.now()
			c.mu.Lock()
			c.taken++
			c.lastEvent = now
			c.mu.Unlock()
			c.cfg.Metrics.taken(now)
			return true
		}
		c.fail(ErrKindHandle, err)
		id := ""
		if p.XAA != nil {
			id = p.XAA.EventUUID
		}
		wait := c.jitter(c.cfg.MinBackoff, c.cfg.MaxBackoff, n)
		c.cfg.Logger.Warn("stream: handing off an event failed; retrying", "event_uuid", id, "attempt", n+1, "wait", wait, "err", err)
		if ctx.Err() != nil || c.cfg.sleep(ctx, wait) != nil {
			c.cfg.Logger.Warn("stream: stopping with an event not taken; X's backfill or a replay must bring it again", "event_uuid", id)
			return false
		}
	}
}

// call runs Handle, turning a panic into an error.
func (c *Consumer) call(ctx context.Context, p *events.Payload, raw []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("stream: Handle panicked: %v", v)
		}
	}()
	return c.cfg.Handle(ctx, p, raw)
}

// aliveReader calls on after every read that returned bytes.
type aliveReader struct {
	r  io.Reader
	on func()
}

func (a *aliveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.on()
	}
	return n, err
}

// lineReader splits a stream into lines of at most max bytes (line break
// not counted); a longer line is consumed and reported as oversized.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its line break, or oversized=true
// (and no line) for a line over the limit. At the end of input it returns
// the error with any partial line.
func (lr *lineReader) next() (line []byte, oversized bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !oversized {
			if len(lr.buf)+len(chunk) > lr.max+2 {
				oversized = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return lr.buf, oversized, err
		}
		if oversized {
			return nil, true, nil
		}
		l := bytes.TrimRight(lr.buf, "\r\n")
		if len(l) > lr.max {
			return nil, true, nil
		}
		return l, false, nil
	}
}
