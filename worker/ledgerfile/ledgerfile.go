// Package ledgerfile is a worker.Ledger in a SQLite file: the record of
// which jobs a worker claimed and answered survives restarts, and the
// worker processes of one machine that open the same file share it.
//
// One row per job id: claimed (by an owner, the Ledger value that holds
// it, with a heartbeat), unfinished (a claim that ended without a known
// outcome), or done (with the reply id). A claim whose owner stops beating
// for StaleAfter, or whose process is gone (the file is local, so every
// owner is a process of this machine: a SIGKILLed worker's claims are
// taken over at once), counts as unfinished, so the next copy reads back
// from X before it answers. Rows of finished jobs are pruned
// after Retention.
//
// Every write is a transaction on a WAL database with synchronous=FULL: a
// claim is on disk before the image is generated, an answer right after
// the reply is sent. Both cost a few milliseconds next to an image's
// hundreds. The directory is created 0700 and the file kept 0600: rows hold
// job ids.
package ledgerfile

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver queue/sqlite uses too

	"github.com/moetron/moetron/worker"
)

// Defaults of Options.
const (
	DefaultHeartbeat  = 5 * time.Second
	DefaultStaleAfter = 4 * DefaultHeartbeat
)

// Row states.
const (
	stateClaimed    = 1
	stateUnfinished = 2
	stateDone       = 3
)

const schema = `CREATE TABLE IF NOT EXISTS jobs (
	job_id   TEXT PRIMARY KEY,
	state    INTEGER NOT NULL,
	reply_id TEXT NOT NULL DEFAULT '',
	owner    TEXT NOT NULL DEFAULT '',
	at_ms    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, state);
CREATE INDEX IF NOT EXISTS jobs_at ON jobs(at_ms);`

// Options tune a Ledger; nil means every default.
type Options struct {
	// Heartbeat is how often the claims of running jobs are renewed. 0
	// means DefaultHeartbeat.
	Heartbeat time.Duration
	// StaleAfter is how long a claim may go without a heartbeat before
	// another owner treats its job as unfinished. 0 means 4 heartbeats.
	StaleAfter time.Duration
	// Retention is how long finished rows are kept. 0 means
	// worker.DefaultLedgerRetention.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Ledger is a worker.Ledger backed by a SQLite file. Its methods are safe
// for concurrent use; Close stops the heartbeat.
type Ledger struct {
	db    *sql.DB
	path  string
	owner string
	opts  Options

	mu   sync.Mutex
	held map[string]bool // claims this owner holds: job id -> was unfinished

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ worker.Ledger = (*Ledger)(nil)

// Open opens (creating if needed) the ledger file at path and starts its
// heartbeat.
func Open(path string, opts *Options) (*Ledger, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("ledgerfile: path %q: need the path of a file on disk without ? or #", path)
	}
	if o.Heartbeat < 0 || o.StaleAfter < 0 || o.Retention < 0 {
		return nil, errors.New("ledgerfile: negative Heartbeat, StaleAfter or Retention")
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = 4 * o.Heartbeat
	}
	if o.StaleAfter <= o.Heartbeat {
		return nil, fmt.Errorf("ledgerfile: StaleAfter %v must be longer than Heartbeat %v", o.StaleAfter, o.Heartbeat)
	}
	if o.Retention == 0 {
		o.Retention = worker.DefaultLedgerRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledgerfile: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledgerfile: %w", err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("ledgerfile: %w", err)
	}
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("ledgerfile: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledgerfile: %s: creating the schema: %w", path, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("ledgerfile: %w", err)
		}
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	owner := strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(id[:])
	l := &Ledger{db: db, path: path, owner: owner, opts: o,
		held: make(map[string]bool), stop: make(chan struct{})}
	l.prune(context.Background())
	l.wg.Add(1)
	go l.beat()
	return l, nil
}

// Path returns the file's path.
func (l *Ledger) Path() string { return l.path }

// Close stops the heartbeat and closes the file. Claims still held become
// stale and read back on their next copy.
func (l *Ledger) Close() error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	l.wg.Wait()
	return l.db.Close()
}

func (l *Ledger) nowMs() int64 { return l.opts.Now().UnixMilli() }

// Claim implements worker.Ledger.
func (l *Ledger) Claim(ctx context.Context, jobID string) (worker.Claim, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[jobID]; ok {
		return worker.Claim{}, worker.ErrClaimed
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return worker.Claim{}, fmt.Errorf("ledgerfile: claim %s: %w", jobID, err)
	}
	defer tx.Rollback()
	var state int
	var replyID, owner string
	var at int64
	now := l.nowMs()
	err = tx.QueryRowContext(ctx, `SELECT state, reply_id, owner, at_ms FROM jobs WHERE job_id = ?`, jobID).
		Scan(&state, &replyID, &owner, &at)
	var c worker.Claim
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO jobs(job_id, state, owner, at_ms) VALUES(?, ?, ?, ?)`,
			jobID, stateClaimed, l.owner, now)
	case err != nil:
	case state == stateDone:
		return worker.Claim{Done: replyID}, nil
	case state == stateClaimed && now-at < l.opts.StaleAfter.Milliseconds() && ownerAlive(owner):
		return worker.Claim{}, worker.ErrClaimed
	default:
		// Unfinished, or a claim whose owner stopped beating: take it over
		// and read back first.
		c.Unfinished = true
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = ?, owner = ?, at_ms = ? WHERE job_id = ?`,
			stateClaimed, l.owner, now, jobID)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return worker.Claim{}, fmt.Errorf("ledgerfile: claim %s: %w", jobID, err)
	}
	l.held[jobID] = c.Unfinished
	return c, nil
}

// Done implements worker.Ledger.
func (l *Ledger) Done(ctx context.Context, jobID, replyID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, jobID)
	_, err := l.db.ExecContext(ctx, `INSERT INTO jobs(job_id, state, reply_id, owner, at_ms) VALUES(?, ?, ?, '', ?)
		ON CONFLICT(job_id) DO UPDATE SET state = excluded.state, reply_id = excluded.reply_id, owner = '', at_ms = excluded.at_ms`,
		jobID, stateDone, replyID, l.nowMs())
	if err != nil {
		return fmt.Errorf("ledgerfile: done %s: %w", jobID, err)
	}
	return nil
}

// Release implements worker.Ledger.
func (l *Ledger) Release(ctx context.Context, jobID string, uncertain bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	wasUnfinished, ok := l.held[jobID]
	if !ok {
		return nil
	}
	delete(l.held, jobID)
	var err error
	if uncertain || wasUnfinished {
		_, err = l.db.ExecContext(ctx, `UPDATE jobs SET state = ?, owner = '', at_ms = ? WHERE job_id = ? AND state = ? AND owner = ?`,
			stateUnfinished, l.nowMs(), jobID, stateClaimed, l.owner)
	} else {
		_, err = l.db.ExecContext(ctx, `DELETE FROM jobs WHERE job_id = ? AND state = ? AND owner = ?`,
			jobID, stateClaimed, l.owner)
	}
	if err != nil {
		return fmt.Errorf("ledgerfile: release %s: %w", jobID, err)
	}
	return nil
}

// beat renews this owner's claims every Heartbeat and prunes old rows
// about hourly.
func (l *Ledger) beat() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.Heartbeat)
	defer t.Stop()
	lastPrune := l.opts.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.Heartbeat)
		l.mu.Lock()
		n := len(l.held)
		l.mu.Unlock()
		if n > 0 {
			_, _ = l.db.ExecContext(ctx, `UPDATE jobs SET at_ms = ? WHERE owner = ? AND state = ?`,
				l.nowMs(), l.owner, stateClaimed)
		}
		if l.opts.Now().Sub(lastPrune) > time.Hour {
			lastPrune = l.opts.Now()
			l.prune(ctx)
		}
		cancel()
	}
}

// prune deletes finished rows older than Retention.
func (l *Ledger) prune(ctx context.Context) {
	cut := l.opts.Now().Add(-l.opts.Retention).UnixMilli()
	_, _ = l.db.ExecContext(ctx, `DELETE FROM jobs WHERE state != ? AND at_ms < ?`, stateClaimed, cut)
}

// ownerAlive says whether the process of an owner ("<pid>-<random>") still
// runs. An owner it cannot parse counts as alive: the heartbeat decides.
func ownerAlive(owner string) bool {
	pid, err := strconv.Atoi(owner[:max(strings.IndexByte(owner, '-'), 0)])
	if err != nil || pid <= 0 {
		return true
	}
	return processAlive(pid)
}
