package worker

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClaimed is returned by Ledger.Claim when another handler holds a live
// claim on the job: a second copy of the same job is on the queue and is
// being answered right now. The worker puts its copy back (queue.RetryAfter)
// and looks again later.
var ErrClaimed = errors.New("worker: job is being answered by another handler")

// Claim is what a Ledger knows about a job when a handler claims it.
type Claim struct {
	// Done is the id of the reply post or DM event when the job was
	// answered already; the copy in hand is only deleted.
	Done string
	// Unfinished says an earlier claim on the job ended without a known
	// outcome (a crash, or an error that may have hidden a posted reply):
	// the worker asks X (read-back) before answering.
	Unfinished bool
}

// Ledger records, by job id, which jobs a worker has claimed and answered.
// It makes the worker's idempotency independent of the queue's dequeue
// count: two messages with the same job id (a webhook retry, a spool drained
// twice, an enqueue whose answer was lost) get one answer.
//
// Claim is called before the image is generated. It returns ErrClaimed
// while another live handler holds the job, the reply id once the job is
// answered, or Unfinished when an earlier claim ended without an outcome.
// Otherwise the caller holds the claim until it calls Done (answered) or
// Release. Release with uncertain=true leaves the job Unfinished, so that
// the next claim reads back first.
//
// NewMemLedger keeps the record in the process; package worker/ledgerfile
// keeps it in a SQLite file that survives restarts and is shared by the
// worker processes of one machine; package worker/ledgertable keeps it in
// an Azure Table shared by workers on several machines. Each passes the
// suite of package worker/ledgertest.
type Ledger interface {
	Claim(ctx context.Context, jobID string) (Claim, error)
	Done(ctx context.Context, jobID, replyID string) error
	Release(ctx context.Context, jobID string, uncertain bool) error
}

// DefaultLedgerRetention is how long a ledger remembers an answered job: far
// longer than any queue keeps a message (Azure: 7 days at most).
const DefaultLedgerRetention = 8 * 24 * time.Hour

// MemLedger is a Ledger in the process's memory: it covers duplicates that
// one worker process sees, not restarts or other processes. It is the
// worker's default when Config.Ledger is nil.
type MemLedger struct {
	retention time.Duration
	now       func() time.Time

	mu      sync.Mutex
	entries map[string]*memEntry
	swept   time.Time
}

type memEntry struct {
	claimed    bool
	unfinished bool
	done       string
	at         time.Time
}

// NewMemLedger returns an empty MemLedger that forgets answered jobs after
// retention (0 means DefaultLedgerRetention).
func NewMemLedger(retention time.Duration) *MemLedger {
	if retention <= 0 {
		retention = DefaultLedgerRetention
	}
	return &MemLedger{retention: retention, now: time.Now, entries: make(map[string]*memEntry)}
}

var _ Ledger = (*MemLedger)(nil)

// Claim implements Ledger.
func (l *MemLedger) Claim(_ context.Context, jobID string) (Claim, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	e := l.entries[jobID]
	switch {
	case e == nil:
		l.entries[jobID] = &memEntry{claimed: true, at: now}
		return Claim{}, nil
	case e.done != "":
		return Claim{Done: e.done}, nil
	case e.claimed:
		return Claim{}, ErrClaimed
	}
	e.claimed, e.at = true, now
	return Claim{Unfinished: e.unfinished}, nil
}

// Done implements Ledger.
func (l *MemLedger) Done(_ context.Context, jobID, replyID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[jobID] = &memEntry{done: replyID, at: l.now()}
	return nil
}

// Release implements Ledger.
func (l *MemLedger) Release(_ context.Context, jobID string, uncertain bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[jobID]
	if e == nil || e.done != "" {
		return nil
	}
	if !uncertain && !e.unfinished {
		delete(l.entries, jobID)
		return nil
	}
	e.claimed, e.unfinished, e.at = false, true, l.now()
	return nil
}

// Len reports how many jobs the ledger remembers (claimed, unfinished or
// answered).
func (l *MemLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// sweep drops entries older than the retention, at most once a minute.
// Claims held by running handlers are kept whatever their age.
func (l *MemLedger) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for id, e := range l.entries {
		if !e.claimed && now.Sub(e.at) > l.retention {
			delete(l.entries, id)
		}
	}
}
