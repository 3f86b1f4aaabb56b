package reply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// ErrBadResponse means X answered 2xx with a body this package cannot
// read (not JSON, or without the id it must carry).
var ErrBadResponse = errors.New("reply: unreadable answer from X")

// request is one HTTP step. body is called once per attempt so that a
// retry sends a fresh reader.
type request struct {
	method, path string
	query        url.Values
	body         func() (io.Reader, string, error) // reader, content type
	read         bool                              // a read: a 2xx holding only errors is an error
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// send makes one exchange. Failures are *TransportError or *APIError.
func (c *Client) send(ctx context.Context, r *request) (*answer, error) {
	u := c.cfg.BaseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var (
		body io.Reader
		ct   string
	)
	if r.body != nil {
		var err error
		if body, ct, err = r.body(); err != nil {
			return nil, fmt.Errorf("reply: build %s %s body: %w", r.method, r.path, err)
		}
	}
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrInvalidInput, r.method, r.path, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &TransportError{Method: r.method, Path: r.path, Sent: sent.Load(), Err: xapi.StripURL(err)}
	}
	defer resp.Body.Close()
	b, err := xapi.ReadBody(resp.Body)
	if err != nil {
		// The status line arrived, so X has seen the request.
		return nil, &TransportError{Method: r.method, Path: r.path, Sent: true, Err: err}
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, parseAPIError(r.method, r.path, resp.StatusCode, resp.Header, b, c.cfg.Now())
	}
	if r.read {
		if eb, ok := xapi.ParseBody(b); ok && eb.OnlyErrors() {
			return nil, parseAPIError(r.method, r.path, resp.StatusCode, resp.Header, b, c.cfg.Now())
		}
	}
	return a, nil
}

// op tracks one high-level call: its deadline and clock.
type op struct {
	c        *Client
	deadline time.Time // on the injected clock
	ctx      context.Context
}

func (c *Client) newOp(ctx context.Context) *op {
	return &op{c: c, ctx: ctx, deadline: c.cfg.Now().Add(c.cfg.Retry.Deadline)}
}

// fits reports whether waiting d stays inside both the op deadline (on the
// injected clock) and the context deadline (on the wall clock).
func (o *op) fits(d time.Duration) bool {
	if o.c.cfg.Now().Add(d).After(o.deadline) {
		return false
	}
	if dl, ok := o.ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	return true
}

// backoff returns the jittered wait before retry number attempt (1-based).
func (o *op) backoff(attempt int) time.Duration {
	p := o.c.cfg.Retry
	d := p.BaseBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return o.c.cfg.Jitter(min(d, p.MaxBackoff))
}

// waitFor is how long to wait before retrying after err.
func (o *op) waitFor(err error, attempt int) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.Kind == KindRateLimited && !ae.RetryAt.IsZero() {
		// One second of slack: X's reset is an epoch second.
		return max(ae.RetryAt.Sub(o.c.cfg.Now())+time.Second, o.c.cfg.Retry.BaseBackoff)
	}
	return o.backoff(attempt)
}

func (o *op) sleep(d time.Duration) error { return o.c.cfg.Sleep(o.ctx, d) }

func halfJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// do runs a request that is safe to repeat (uploads, reads), retrying
// retryable failures within the attempt and deadline bounds, and decodes
// a 2xx body into out (if non-nil).
func (o *op) do(r *request, out any) error {
	log := o.c.log
	for attempt := 1; ; attempt++ {
		a, err := o.c.send(o.ctx, r)
		if err == nil {
			return decode(r, a, out)
		}
		if o.ctx.Err() != nil || !IsRetryable(err) || attempt >= o.c.cfg.Retry.MaxAttempts {
			return err
		}
		wait := o.waitFor(err, attempt)
		if !o.fits(wait) {
			log.Debug("reply: not retrying, wait exceeds deadline", "method", r.method, "path", r.path, "wait", wait)
			return err
		}
		log.Debug("reply: retrying", "method", r.method, "path", r.path, "attempt", attempt, "wait", wait, "err", err)
		if serr := o.sleep(wait); serr != nil {
			return err
		}
	}
}

func decode(r *request, a *answer, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return fmt.Errorf("%w: %s %s: %d: %v", ErrBadResponse, r.method, r.path, a.status, err)
	}
	return nil
}

// create runs a request that creates something (a post, a DM) and so must
// not be repeated blindly. Rules:
//   - failed before the request was written, or 429 rate limit: X did not
//     create it; retry like do.
//   - other 4xx: permanent, returned as is.
//   - written but no answer, 5xx, or an unreadable 2xx: uncertain. Wait a
//     backoff, then readBack. Found: done (recovered). Not found: send
//     again. No readBack (nil) or a failed one: *UncertainError.
//   - 403 duplicate after an uncertain attempt: the earlier attempt went
//     through; readBack again, else *UncertainError.
//
// readBack reports whether the object exists and fills the result.
func (o *op) create(r *request, out any, unc UncertainError, readBack func() (bool, error)) error {
	log := o.c.log
	uncertain := false
	fail := func(err error) error {
		if uncertain {
			unc.Err = err
			return &unc
		}
		return err
	}
	for attempt := 1; ; attempt++ {
		a, err := o.c.send(o.ctx, r)
		if err == nil {
			if err = decode(r, a, out); err == nil {
				return nil
			}
		}
		var (
			te *TransportError
			ae *APIError
		)
		isAPI := errors.As(err, &ae)
		switch {
		case o.ctx.Err() != nil:
			if errors.As(err, &te) && te.Sent {
				uncertain = true
			}
			return fail(err)
		case (errors.As(err, &te) && !te.Sent) || (isAPI && ae.Kind == KindRateLimited):
			if attempt >= o.c.cfg.Retry.MaxAttempts {
				return fail(err)
			}
			wait := o.waitFor(err, attempt)
			if !o.fits(wait) {
				return fail(err)
			}
			log.Debug("reply: retrying create (not created)", "path", r.path, "attempt", attempt, "wait", wait)
			if o.sleep(wait) != nil {
				return fail(err)
			}
			continue
		case isAPI && ae.Kind == KindDuplicate && uncertain:
			// The earlier, uncertain attempt was stored.
			found, rerr := readBack()
			if rerr == nil && found {
				return nil
			}
			if rerr != nil {
				err = fmt.Errorf("%w; read-back: %w", err, rerr)
			}
			return fail(err)
		case isAPI && !ae.Retryable(), errors.Is(err, ErrInvalidInput):
			return fail(err)
		}
		// Uncertain: the request may have been acted on.
		uncertain = true
		log.Warn("reply: create outcome uncertain", "path", r.path, "attempt", attempt, "err", err)
		if readBack == nil {
			return fail(err)
		}
		wait := o.backoff(attempt)
		if !o.fits(wait) {
			return fail(err)
		}
		if o.sleep(wait) != nil {
			return fail(err)
		}
		found, rerr := readBack()
		if rerr != nil {
			return fail(fmt.Errorf("%w; read-back: %w", err, rerr))
		}
		if found {
			log.Info("reply: read-back found the created object", "path", r.path)
			return nil
		}
		if attempt >= o.c.cfg.Retry.MaxAttempts {
			return fail(err)
		}
	}
}
