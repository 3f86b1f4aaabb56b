package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/moetron/moetron/queue"
)

// Change notification
//
// A worker process that is idle learns of a job enqueued by the webhook
// process through Changes, not through its poll: on Linux the Store
// watches the file's directory with inotify and reports every write to
// the -wal file, which SQLite makes for every commit in WAL mode (by any
// process: inotify sees write(2) at the VFS, whoever calls it). A commit
// that changes nothing (an empty Receive, a purge that finds nothing)
// writes no WAL frame, so an idle consumer does not wake itself. Where
// inotify is missing or fails, the Store polls PRAGMA data_version, which
// changes when another connection commits, every Options.ChangePoll.
//
// inotify is the default because it costs nothing while nothing happens
// (the watcher goroutine sleeps in the netpoller), where a 10 ms poll
// costs a query through database/sql and the pure-Go SQLite 100 times a
// second. bench/pickup measures both. The event comes while the writer
// is still committing (frames are written before the fsync); the woken
// Receive then waits on SQLite's write lock (the busy handler sleeps 1,
// 2, 5 ms ...) and reads the committed row.

var _ queue.Notifier = (*Queue)(nil)

// WatchMode is how Changes learns of other processes' writes.
type WatchMode int

const (
	// WatchAuto watches the file with inotify on Linux and polls PRAGMA
	// data_version elsewhere, or when inotify cannot be set up.
	WatchAuto WatchMode = iota
	// WatchPoll always polls PRAGMA data_version every ChangePoll.
	WatchPoll
)

// DefaultChangePoll is the data_version poll interval of WatchPoll and of
// the fallback.
const DefaultChangePoll = 10 * time.Millisecond

// Changes implements queue.Notifier: the channel receives a value after a
// commit to the file by any connection of any process (so also for writes
// to the store's other queues). See Store.Changes.
func (q *Queue) Changes(ctx context.Context) <-chan struct{} { return q.s.Changes(ctx) }

// Changes returns a channel that receives a value (coalesced, never
// blocking the sender) soon after any process commits a write to the file,
// this one included. It is closed when ctx ends or the store is closed.
// The watch is set up before Changes returns. One watcher serves all
// subscribers; it stops when the last one leaves.
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	h := &s.hub
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.closed || ctx.Err() != nil {
		h.mu.Unlock()
		close(ch)
		return ch
	}
	if h.subs == nil {
		h.subs = make(map[chan struct{}]struct{})
		h.done = make(chan struct{})
	}
	if h.stop == nil {
		h.start(s)
	}
	h.subs[ch] = struct{}{}
	done := h.done
	h.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		h.remove(ch)
	}()
	return ch
}

// hub fans one watcher's notifications out to the subscribers of Changes.
type hub struct {
	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	stop   func()        // stops the running watcher; nil when none runs
	mode   string        // "inotify" or "poll" while a watcher runs
	done   chan struct{} // closed by close
	closed bool
}

// start starts a watcher; h.mu is held.
func (h *hub) start(s *Store) {
	if s.watch == WatchAuto {
		stop, err := watchInotify(s.path, h.broadcast)
		if err == nil {
			h.stop, h.mode = stop, "inotify"
			return
		}
		s.log.Warn("sqlite: cannot watch the queue file; polling data_version instead",
			"path", s.path, "every", s.changePoll, "err", err)
	}
	stop, err := pollDataVersion(s.db, s.changePoll, h.broadcast, s.log)
	if err != nil {
		s.log.Error("sqlite: cannot watch the queue file; consumers only poll", "path", s.path, "err", err)
		return
	}
	h.stop, h.mode = stop, "poll"
}

func (h *hub) broadcast() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// remove closes ch and stops the watcher when no subscriber is left.
func (h *hub) remove(ch chan struct{}) {
	h.mu.Lock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
	var stop func()
	if len(h.subs) == 0 {
		stop, h.stop, h.mode = h.stop, nil, ""
	}
	h.mu.Unlock()
	if stop != nil {
		stop() // outside the lock: the watcher may be waiting in broadcast
	}
}

// close ends every subscription and stops the watcher; for Store.Close.
func (h *hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for ch := range h.subs {
		close(ch)
	}
	clear(h.subs)
	if h.done != nil {
		close(h.done)
	}
	stop := h.stop
	h.stop, h.mode = nil, ""
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// watchMode is the running watcher's kind ("" when none runs); for tests.
func (s *Store) watchMode() string {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.hub.mode
}

// pollDataVersion calls notify whenever PRAGMA data_version, read every
// interval on a connection of its own, changes. It reads the first value
// before it returns.
func pollDataVersion(db *sql.DB, every time.Duration, notify func(), log interface {
	Warn(msg string, args ...any)
}) (stop func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := db.Conn(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sqlite: connection for data_version: %w", err)
	}
	var last int64
	if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&last); err != nil {
		conn.Close()
		cancel()
		return nil, fmt.Errorf("sqlite: data_version: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close()
		t := time.NewTicker(every)
		defer t.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var v int64
			err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				if !failing {
					log.Warn("sqlite: data_version poll failed", "err", err)
				}
				failing = true // the consumer's own polls go on
			case v != last:
				last, failing = v, false
				notify()
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}
