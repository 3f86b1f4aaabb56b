package xfake

// The X Activity API persistent stream, GET /2/activity/stream: app Bearer
// only, at most two connections, newline-delimited JSON over chunked
// HTTP/1.1 with blank keep-alive lines, a five-minute history for
// backfill_minutes and start_time, and faults a test can order.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of StreamOptions.
const (
	DefaultStreamKeepAlive      = 20 * time.Second
	DefaultStreamMaxConnections = 2
	DefaultStreamRetryAfter     = 60 * time.Second
	// StreamHistory is how long published lines stay available to
	// backfill_minutes and start_time (X allows at most 5 minutes).
	StreamHistory = 5 * time.Minute
	// streamBuffer is how many lines an open stream may fall behind before
	// the fake drops it, as X drops a consumer that does not keep up.
	streamBuffer = 4096
	// streamWriteTimeout bounds one write to a stream client.
	streamWriteTimeout = 10 * time.Second
)

// StreamOptions configure the stream endpoint. Every zero value means the
// documented default; SetStreamOptions changes them for later connections.
type StreamOptions struct {
	// KeepAlive is the time between blank keep-alive lines ("\r\n").
	// Zero means DefaultStreamKeepAlive (X sends one about every 20 s).
	KeepAlive time.Duration
	// MaxConnections caps open streams; one more is answered 429
	// TooManyConnections. Zero means DefaultStreamMaxConnections.
	MaxConnections int
	// RetryAfter is the Retry-After of a 429 (rounded up to seconds).
	// Zero means DefaultStreamRetryAfter.
	RetryAfter time.Duration
	// RefuseBackfill answers 400 "not authorized" to a connect with
	// backfill_minutes > 0 or start_time, as X does for self-serve apps.
	RefuseBackfill bool
	// HeadersWithFirstKeepAlive holds back the response headers until the
	// first keep-alive is due, as X was seen to do. False sends them at once.
	HeadersWithFirstKeepAlive bool
}

// StreamFaultKind says what a StreamFault does.
type StreamFaultKind int

// Stream faults. The first six act on every stream open when the fault is
// injected, in order with the lines published around it; the last three
// act on the next connection attempts, one each, in the order injected.
const (
	// StreamDrop resets the connection (no closing chunk) once AfterLines
	// more event lines have been written; AfterLines 0 means now.
	StreamDrop StreamFaultKind = iota + 1
	// StreamStall stops sending anything, keep-alives included, and keeps
	// the connection open until the client gives up. Lines published
	// meanwhile stay in the history for backfill.
	StreamStall
	// StreamKeepAlivesOnly keeps sending keep-alives but no events.
	StreamKeepAlivesOnly
	// StreamGarbage writes Count lines that are not envelopes (default 5):
	// text, cut JSON, an array, control bytes, an envelope of wrong types.
	StreamGarbage
	// StreamOversized writes one line of Size bytes (default 1 MiB) that is
	// otherwise a well-formed envelope.
	StreamOversized
	// StreamErrorThenClose writes an {"errors":[...]} line (Title, default
	// "operational-disconnect", and Detail) and ends the response.
	StreamErrorThenClose
	// StreamDuplicateOnConnect makes the next connection first resend the
	// last Count published lines (default 1), whatever it asked for.
	StreamDuplicateOnConnect
	// StreamRefuseTooMany answers the next connect 429 TooManyConnections.
	StreamRefuseTooMany
	// StreamRefuseUnauthorized answers the next connect 401.
	StreamRefuseUnauthorized
)

func (k StreamFaultKind) String() string {
	names := [...]string{"", "drop", "stall", "keep-alives-only", "garbage", "oversized",
		"error-then-close", "duplicate-on-connect", "refuse-too-many", "refuse-unauthorized"}
	if k > 0 && int(k) < len(names) {
		return names[k]
	}
	return "StreamFaultKind(" + strconv.Itoa(int(k)) + ")"
}

func (k StreamFaultKind) onConnect() bool { return k >= StreamDuplicateOnConnect }

// StreamFault is one fault of the stream endpoint.
type StreamFault struct {
	Kind StreamFaultKind
	// AfterLines delays a StreamDrop by that many event lines.
	AfterLines int
	// Count is the number of garbage lines or of lines resent.
	Count int
	// Size is the length of an oversized line.
	Size int
	// Title and Detail are the error line's.
	Title, Detail string
}

// StreamConnect is one connection attempt to the stream, as it arrived.
type StreamConnect struct {
	At     time.Time  // on the configured clock
	Query  url.Values // backfill_minutes, start_time, ...
	Status int        // the answer: 200, 400, 401, 403, 429, ...
	Sent   int        // backfilled or duplicated lines written before live ones
}

// StreamLine is a line published with DeliverStream.
type StreamLine struct {
	Line []byte
	At   time.Time
}

// streamState is the Server's stream state; the zero value is ready.
type streamState struct {
	mu       sync.Mutex
	opts     StreamOptions
	conns    map[*streamConn]struct{}
	history  []StreamLine
	pending  []StreamFault // connect-time faults, oldest first
	connects []StreamConnect
	hooked   bool // registered with the http.Server's shutdown
}

// streamItem is a line to write, or a fault to apply, in publishing order.
type streamItem struct {
	line  []byte
	fault *StreamFault
}

type streamConn struct {
	items    chan streamItem
	done     chan struct{}
	doneOnce sync.Once
}

func (c *streamConn) end() { c.doneOnce.Do(func() { close(c.done) }) }

func (o StreamOptions) withDefaults() StreamOptions {
	if o.KeepAlive <= 0 {
		o.KeepAlive = DefaultStreamKeepAlive
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultStreamMaxConnections
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultStreamRetryAfter
	}
	return o
}

// SetStreamOptions sets the stream's options for connections made after
// the call.
func (s *Server) SetStreamOptions(o StreamOptions) {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	s.stream.opts = o
}

// DeliverStream publishes one envelope to the stream: it writes it as one
// line to every open stream and keeps it in the history for backfill. JSON
// is compacted onto one line; other bytes lose their line breaks. It returns
// the number of open streams the line was queued to.
func (s *Server) DeliverStream(line []byte) int {
	var buf bytes.Buffer
	if json.Compact(&buf, line) == nil {
		line = buf.Bytes()
	} else {
		line = bytes.ReplaceAll(bytes.ReplaceAll(line, []byte("\r"), nil), []byte("\n"), nil)
	}
	return s.streamSend(line)
}

// streamSend records line (one line, no newline) in the history and queues
// it to every open stream. A stream whose buffer is full is dropped.
func (s *Server) streamSend(line []byte) int {
	line = append([]byte(nil), line...)
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	now := s.now()
	st.history = append(st.history, StreamLine{Line: line, At: now})
	cut := 0
	for cut < len(st.history) && now.Sub(st.history[cut].At) > StreamHistory {
		cut++
	}
	st.history = st.history[cut:]
	n := 0
	for c := range st.conns {
		select {
		case c.items <- streamItem{line: line}:
			n++
		default:
			c.end()
		}
	}
	return n
}

// InjectStreamFault orders f. A fault on open streams is queued behind the
// lines already published to each of them and the call returns how many
// streams it reached; a connect-time fault waits for the next connection
// attempt and the call returns 0.
func (s *Server) InjectStreamFault(f StreamFault) (int, error) {
	if f.Kind < StreamDrop || f.Kind > StreamRefuseUnauthorized {
		return 0, fmt.Errorf("xfake: unknown stream fault kind %d", int(f.Kind))
	}
	if f.AfterLines < 0 || f.Count < 0 || f.Size < 0 {
		return 0, fmt.Errorf("xfake: a stream fault needs AfterLines, Count and Size >= 0")
	}
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	if f.Kind.onConnect() {
		st.pending = append(st.pending, f)
		return 0, nil
	}
	n := 0
	for c := range st.conns {
		ff := f
		select {
		case c.items <- streamItem{fault: &ff}:
			n++
		default:
			c.end()
		}
	}
	return n, nil
}

// CloseStreams ends every open stream cleanly (the response ends) and
// returns how many there were. Server.Close does it too.
func (s *Server) CloseStreams() int {
	st := &s.stream
	st.mu.Lock()
	defer st.mu.Unlock()
	for c := range st.conns {
		c.end()
	}
	return len(st.conns)
}

// StreamConnections returns the number of open streams.
func (s *Server) StreamConnections() int {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return len(s.stream.conns)
}

// StreamConnects returns every connection attempt, oldest first.
func (s *Server) StreamConnects() []StreamConnect {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return append([]StreamConnect(nil), s.stream.connects...)
}

// StreamHistoryLines returns the published lines still in the history.
func (s *Server) StreamHistoryLines() []StreamLine {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return append([]StreamLine(nil), s.stream.history...)
}

// streamConnectionProblem is X's 429 body for a connection over the limit.
func writeTooManyConnections(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"title":            "ConnectionException",
		"detail":           "This stream is currently at the maximum allowed connection limit.",
		"connection_issue": "TooManyConnections",
		"type":             "https://api.twitter.com/2/problems/streaming-connection",
	})
}

func (s *Server) activityStream(c *call) {
	st := &s.stream
	rec := StreamConnect{At: s.now(), Query: c.r.URL.Query()}
	status := func(code int) {
		rec.Status = code
		st.mu.Lock()
		st.connects = append(st.connects, rec)
		st.mu.Unlock()
	}

	// Bearer only: a user-context (OAuth 1.0a) call is forbidden, no or a
	// wrong token unauthorized.
	if h := c.r.Header.Get("Authorization"); h == "" {
		status(http.StatusUnauthorized)
		writeProblem(c.w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	} else if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "OAuth") {
		status(http.StatusForbidden)
		writeProblem(c.w, http.StatusForbidden, "Unsupported Authentication",
			"Authenticating with OAuth 1.0a User Context is forbidden for this endpoint. Supported authentication types are [OAuth 2.0 Application-Only].")
		return
	} else if s.verifyBearer(c.r) != nil {
		status(http.StatusUnauthorized)
		writeProblem(c.w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}

	q := c.r.URL.Query()
	now := s.now()
	since := time.Time{} // zero: no backfill
	backfill := false
	if v := q.Get("backfill_minutes"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 0 || m > 5 {
			status(http.StatusBadRequest)
			writeInvalid(c.w, "The `backfill_minutes` query parameter value ["+v+"] is not between 0 and 5")
			return
		}
		if m > 0 {
			backfill, since = true, now.Add(-time.Duration(m)*time.Minute)
		}
	}
	if v := q.Get("start_time"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			status(http.StatusBadRequest)
			writeInvalid(c.w, "Invalid 'start_time':'"+v+"'. 'start_time' must be a date in ISO 8601 format YYYY-MM-DDTHH:mm:ssZ.")
			return
		}
		backfill = true
		if floor := now.Add(-StreamHistory); t.Before(floor) {
			t = floor
		}
		if since.IsZero() || t.Before(since) {
			since = t
		}
	}

	st.mu.Lock()
	opts := st.opts.withDefaults()
	if backfill && opts.RefuseBackfill {
		st.mu.Unlock()
		status(http.StatusBadRequest)
		writeJSON(c.w, http.StatusBadRequest, map[string]any{
			"errors": []map[string]any{{"message": "The `backfill_minutes` query parameter is not authorized for this application."}},
			"title":  "Invalid Request",
			"detail": "backfill_minutes: not authorized for this application",
			"type":   invalidRequestType,
		})
		return
	}
	var dup int
	if len(st.pending) > 0 {
		f := st.pending[0]
		st.pending = st.pending[1:]
		switch f.Kind {
		case StreamRefuseTooMany:
			st.mu.Unlock()
			status(http.StatusTooManyRequests)
			writeTooManyConnections(c.w, opts.RetryAfter)
			return
		case StreamRefuseUnauthorized:
			st.mu.Unlock()
			status(http.StatusUnauthorized)
			writeProblem(c.w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
			return
		case StreamDuplicateOnConnect:
			dup = max(f.Count, 1)
		}
	}
	if len(st.conns) >= opts.MaxConnections {
		st.mu.Unlock()
		status(http.StatusTooManyRequests)
		writeTooManyConnections(c.w, opts.RetryAfter)
		return
	}
	var first [][]byte
	if dup > 0 {
		for _, h := range st.history[max(0, len(st.history)-dup):] {
			first = append(first, h.Line)
		}
	}
	if backfill {
		for _, h := range st.history {
			if !h.At.Before(since) {
				first = append(first, h.Line)
			}
		}
	}
	conn := &streamConn{items: make(chan streamItem, streamBuffer), done: make(chan struct{})}
	if st.conns == nil {
		st.conns = map[*streamConn]struct{}{}
	}
	st.conns[conn] = struct{}{}
	if !st.hooked && s.hs != nil {
		st.hooked = true
		s.hs.RegisterOnShutdown(func() { s.CloseStreams() })
	}
	rec.Status, rec.Sent = http.StatusOK, len(first)
	st.connects = append(st.connects, rec)
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.conns, conn)
		st.mu.Unlock()
	}()

	s.serveStream(c, conn, opts, first)
}

// serveStream writes the stream until the client leaves, the server closes
// the stream, or a fault ends it.
func (s *Server) serveStream(c *call, conn *streamConn, opts StreamOptions, first [][]byte) {
	rc := http.NewResponseController(c.w)
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.Header().Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	write := func(b ...[]byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		for _, p := range b {
			if _, err := c.w.Write(p); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	if !opts.HeadersWithFirstKeepAlive && !write() {
		return
	}
	for _, l := range first {
		if !write(l, []byte("\n")) {
			return
		}
	}
	tick := time.NewTicker(opts.KeepAlive)
	defer tick.Stop()
	ctx := c.r.Context()
	var stalled, quiet bool
	dropAfter := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.done:
			return
		case <-tick.C:
			if !stalled && !write([]byte("\r\n")) {
				return
			}
		case it := <-conn.items:
			if f := it.fault; f != nil {
				if stalled && f.Kind != StreamDrop {
					continue
				}
				switch f.Kind {
				case StreamDrop:
					if f.AfterLines == 0 {
						dropConnection(c.w)
						return
					}
					dropAfter = f.AfterLines
				case StreamStall:
					stalled = true
				case StreamKeepAlivesOnly:
					quiet = true
				case StreamGarbage:
					if !write(garbageLines(max(f.Count, 1))...) {
						return
					}
				case StreamOversized:
					if !write(oversizedLine(f.Size), []byte("\n")) {
						return
					}
				case StreamErrorThenClose:
					title := f.Title
					if title == "" {
						title = "operational-disconnect"
					}
					b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{
						"title": title, "detail": f.Detail,
						"type": "https://api.twitter.com/2/problems/" + title,
					}}})
					write(b, []byte("\n"))
					return
				}
				continue
			}
			if stalled || quiet {
				continue
			}
			if !write(it.line, []byte("\n")) {
				return
			}
			if dropAfter > 0 {
				if dropAfter--; dropAfter == 0 {
					dropConnection(c.w)
					return
				}
			}
		}
	}
}

// garbageLines returns n lines (each with its newline) that are not
// envelopes.
func garbageLines(n int) [][]byte {
	kinds := []string{
		"this is not json",
		`{"data":{"event_type":"post.mention.create","payload":`,
		`[1,2,3]`,
		"\x00\x01\xff\xfe",
		`{"data":{"event_type":42,"payload":"x"}}`,
	}
	out := make([][]byte, 0, n)
	for i := range n {
		out = append(out, []byte(kinds[i%len(kinds)]+"\n"))
	}
	return out
}

// oversizedLine returns a well-formed envelope of size bytes (default 1 MiB).
func oversizedLine(size int) []byte {
	if size <= 0 {
		size = 1 << 20
	}
	head := `{"data":{"event_type":"post.create","event_uuid":"1","payload":{"id":"1","text":"`
	tail := `"}}}`
	pad := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}
