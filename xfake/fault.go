package xfake

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// FaultKind says what an injected fault does to a matching request.
type FaultKind int

const (
	// FaultRateLimit answers 429 Too Many Requests with
	// x-rate-limit-remaining 0 and x-rate-limit-reset = Fault.Reset.
	FaultRateLimit FaultKind = iota + 1
	// FaultUsageCap answers 429 with X's usage-capped body.
	FaultUsageCap
	// FaultUnavailable answers 503 Service Unavailable.
	FaultUnavailable
	// FaultDelay waits Fault.Delay (or until the client gives up), then
	// answers normally.
	FaultDelay
	// FaultDuplicate answers X's 403 duplicate-content body.
	FaultDuplicate
	// FaultResetAfterStore handles the request fully (a post or DM is
	// stored), then closes the connection without a response, as a network
	// failure after X acted would. Clients must not post twice.
	FaultResetAfterStore
)

func (k FaultKind) String() string {
	switch k {
	case FaultRateLimit:
		return "rate-limit"
	case FaultUsageCap:
		return "usage-cap"
	case FaultUnavailable:
		return "unavailable"
	case FaultDelay:
		return "delay"
	case FaultDuplicate:
		return "duplicate"
	case FaultResetAfterStore:
		return "reset-after-store"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes one injected failure.
type Fault struct {
	Kind FaultKind
	// Endpoint is the route it applies to, one of the Endpoint* constants;
	// "" means every endpoint.
	Endpoint string
	// Times is how many matching requests it hits; 0 means every one
	// until ClearFaults or RemoveFault.
	Times int
	// Delay is the wait of a FaultDelay.
	Delay time.Duration
	// Reset is the x-rate-limit-reset of a FaultRateLimit; zero means 15
	// minutes after the request.
	Reset time.Time
}

type faultEntry struct {
	id   int
	f    Fault
	left int // remaining hits; -1 for unlimited
}

// InjectFault adds f and returns its id for RemoveFault. Faults apply in
// the order injected: delays add up, and the first other fault decides
// the answer. Outages (Outage) come before authentication; faults after it.
func (s *Server) InjectFault(f Fault) (int, error) {
	if f.Kind < FaultRateLimit || f.Kind > FaultResetAfterStore {
		return 0, fmt.Errorf("xfake: unknown fault kind %d", int(f.Kind))
	}
	if f.Endpoint != "" && !isEndpoint(f.Endpoint) {
		return 0, fmt.Errorf("xfake: unknown endpoint %q (use an Endpoint* constant)", f.Endpoint)
	}
	if f.Times < 0 || (f.Kind == FaultDelay && f.Delay <= 0) {
		return 0, fmt.Errorf("xfake: a fault needs Times >= 0 and a delay fault a positive Delay")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFault++
	e := &faultEntry{id: s.nextFault, f: f, left: f.Times}
	if f.Times == 0 {
		e.left = -1
	}
	s.faults = append(s.faults, e)
	return e.id, nil
}

// RemoveFault removes the fault with the given id.
func (s *Server) RemoveFault(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.faults {
		if e.id == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return
		}
	}
}

// ClearFaults removes every fault (not an outage).
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Outage makes every request answer 503 for d, measured on the
// configured clock: "X is down". EndOutage ends it early.
func (s *Server) Outage(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downUntil = s.now().Add(d)
}

// EndOutage ends an outage.
func (s *Server) EndOutage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downUntil = time.Time{}
}

func (s *Server) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now().Before(s.downUntil)
}

// takeFaults consumes the faults matching endpoint: the summed delay and
// the first terminal fault (nil if none).
func (s *Server) takeFaults(endpoint string) (time.Duration, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	var term *Fault
	kept := s.faults[:0]
	for _, e := range s.faults {
		hit := (e.f.Endpoint == "" || e.f.Endpoint == endpoint) && (e.f.Kind == FaultDelay || term == nil)
		if hit {
			if e.f.Kind == FaultDelay {
				delay += e.f.Delay
			} else {
				f := e.f
				term = &f
			}
			if e.left > 0 {
				e.left--
			}
		}
		if e.left != 0 {
			kept = append(kept, e)
		}
	}
	s.faults = kept
	return delay, term
}

// applyFaults runs the faults for c. It returns true when it has answered
// (or dropped) the request.
func (s *Server) applyFaults(c *call, h func(*call)) bool {
	delay, f := s.takeFaults(c.endpoint)
	if delay > 0 {
		if err := s.sleep(c.r.Context(), delay); err != nil {
			return true // the client went away
		}
	}
	if f == nil {
		return false
	}
	switch f.Kind {
	case FaultRateLimit:
		reset := f.Reset
		if reset.IsZero() {
			reset = s.now().Add(15 * time.Minute)
		}
		c.w.Header().Set("x-rate-limit-remaining", "0")
		c.w.Header().Set("x-rate-limit-reset", strconv.FormatInt(reset.Unix(), 10))
		writeProblem(c.w, http.StatusTooManyRequests, "Too Many Requests", "Too Many Requests")
	case FaultUsageCap:
		writeUsageCapped(c.w)
	case FaultUnavailable:
		writeProblem(c.w, http.StatusServiceUnavailable, "Service Unavailable", "Service Unavailable")
	case FaultDuplicate:
		writeDuplicate(c.w)
	case FaultResetAfterStore:
		inner := *c
		inner.w = httptest.NewRecorder()
		h(&inner)
		dropConnection(c.w)
	}
	return true
}

// dropConnection closes the client's connection without an HTTP response,
// with a TCP reset where it can.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a recorder: abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
