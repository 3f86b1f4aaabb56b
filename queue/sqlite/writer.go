package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/moetron/moetron/queue"
)

// writer owns the one connection that writes, and commits the writes handed
// to it in groups: whatever arrives while a commit is in progress shares the
// next transaction and its single fsync.
type writer struct {
	conn     *sql.Conn
	stmts    statements
	inserts  [7]*sql.Stmt // of 1, 2, 4, ... 64 rows (maxInsertRows); see insert.go
	finds    [7]*sql.Stmt // dedup look-ups of 1, 2, 4, ... 64 keys
	puts     [7]*sql.Stmt // dedup inserts of 1, 2, 4, ... 64 keys
	maxBatch int
	log      *slog.Logger

	// waiting counts the calls inside do; commits counts committed
	// transactions. Both are for tests.
	waiting, commits atomic.Int64

	ops     chan *op // unbuffered: an op is either taken or refused
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
}

// op is one write. run executes it inside the batch's transaction. An error
// wrapping queue.ErrLeaseLost or queue.ErrQueueNotFound is that op's answer
// and leaves the batch alone; any other error rolls the whole batch back.
type op struct {
	ctx    context.Context
	run    func(st *statements) error
	ins    []*insert  // instead of run: the rows of an Enqueue or EnqueueBatch (insert.go)
	result chan error // buffered, 1
}

// statements are the prepared statements of the write connection.
type statements struct {
	ctx                                         context.Context
	receive, del, update, purge, createQ, findQ *sql.Stmt
	dedupPurge                                  *sql.Stmt
}

func newWriter(ctx context.Context, conn *sql.Conn, maxBatch int, log *slog.Logger) (*writer, error) {
	w := &writer{conn: conn, maxBatch: maxBatch, log: log,
		ops: make(chan *op), closing: make(chan struct{}), done: make(chan struct{})}
	w.stmts.ctx = context.Background()
	prep := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.stmts.receive, `UPDATE messages
			SET visible_at = ?1, receipt = lower(hex(randomblob(12))), dequeue_count = dequeue_count + 1
			WHERE id IN (SELECT id FROM messages
				WHERE queue_id = ?2 AND visible_at <= ?3 AND expires_at > ?3
				ORDER BY visible_at LIMIT ?4)
			RETURNING id, body, dequeue_count, inserted_at, expires_at, receipt, visible_at`},
		{&w.stmts.del, `DELETE FROM messages WHERE id = ? AND queue_id = ? AND receipt = ? RETURNING expires_at`},
		{&w.stmts.update, `UPDATE messages
			SET visible_at = ?1, receipt = lower(hex(randomblob(12))), body = coalesce(?2, body)
			WHERE id = ?3 AND queue_id = ?4 AND receipt = ?5 AND expires_at > ?6
			RETURNING receipt`},
		{&w.stmts.purge, `DELETE FROM messages WHERE queue_id = ? AND expires_at <= ?`},
		{&w.stmts.createQ, `INSERT INTO queues (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`},
		{&w.stmts.findQ, `SELECT id FROM queues WHERE name = ?`},
		{&w.stmts.dedupPurge, `DELETE FROM dedup WHERE queue_id = ? AND expires_at <= ?`},
	}
	for _, p := range prep {
		st, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			w.closeStmts()
			return nil, fmt.Errorf("preparing statements: %w", err)
		}
		*p.dst = st
	}
	go w.loop()
	return w, nil
}

// do hands run to the writer and waits for its result. A ctx that ends
// before the op starts cancels it; once started, do waits for the commit, so
// a nil error always means the write is durable and an error means it did
// not happen.
func (w *writer) do(ctx context.Context, run func(st *statements) error) error {
	return w.submit(ctx, &op{ctx: ctx, run: run, result: make(chan error, 1)})
}

func (w *writer) submit(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	select {
	case w.ops <- o:
	case <-w.closing:
		return queue.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("sqlite: %w", ctx.Err())
	}
	return <-o.result
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*op, 0, w.maxBatch)
	for {
		select {
		case o := <-w.ops:
			batch = append(batch[:0], o)
		gather:
			for len(batch) < w.maxBatch {
				select {
				case o := <-w.ops:
					batch = append(batch, o)
				default:
					break gather
				}
			}
			w.commit(batch)
			clear(batch)
		case <-w.closing:
			return
		}
	}
}

// commit runs batch in one transaction and tells every op its result.
func (w *writer) commit(batch []*op) {
	results := make([]error, len(batch))
	live := 0
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = fmt.Errorf("sqlite: %w", err)
			continue
		}
		live++
	}
	fail := func(cause error, culprit int) {
		w.conn.ExecContext(w.stmts.ctx, "ROLLBACK")
		cause = classify(cause)
		w.log.Error("sqlite: write batch rolled back", "writes", live, "err", cause)
		for i := range batch {
			switch {
			case i == culprit:
				results[i] = fmt.Errorf("sqlite: write failed, batch rolled back: %w", cause)
			case results[i] == nil:
				results[i] = fmt.Errorf("sqlite: a write in the same group commit failed, this one was rolled back: %w", cause)
			}
		}
	}
	if live > 0 {
		if _, err := w.conn.ExecContext(w.stmts.ctx, "BEGIN IMMEDIATE"); err != nil {
			w.conn.ExecContext(w.stmts.ctx, "ROLLBACK")
			err = classify(err)
			for i := range batch {
				if results[i] == nil {
					results[i] = fmt.Errorf("sqlite: begin: %w", err)
				}
			}
			w.reply(batch, results)
			return
		}
		ok := true
		// Consecutive inserts run together (insert.go), in their place
		// among the other writes.
		var rows []rowRef
		flush := func() bool {
			if len(rows) == 0 {
				return true
			}
			culprit, err := w.runInserts(batch, rows, results)
			rows = rows[:0]
			if err != nil {
				fail(err, culprit)
				return false
			}
			return true
		}
		for i, o := range batch {
			if results[i] != nil {
				continue
			}
			if o.ins != nil {
				for _, ins := range o.ins {
					rows = append(rows, rowRef{op: i, ins: ins})
				}
				continue
			}
			if ok = flush(); !ok {
				break
			}
			if err := o.run(&w.stmts); err != nil {
				if isAnswer(err) {
					results[i] = err
					continue
				}
				fail(err, i)
				ok = false
				break
			}
		}
		if ok {
			ok = flush()
		}
		if ok {
			if _, err := w.conn.ExecContext(w.stmts.ctx, "COMMIT"); err != nil {
				fail(fmt.Errorf("commit: %w", err), -1)
			} else {
				w.commits.Add(1)
			}
		}
	}
	w.reply(batch, results)
}

func (w *writer) reply(batch []*op, results []error) {
	for i, o := range batch {
		o.result <- results[i]
	}
}

// isAnswer reports whether err is an op's own answer rather than a failure
// of the transaction.
func isAnswer(err error) bool {
	return errors.Is(err, queue.ErrLeaseLost) || errors.Is(err, queue.ErrQueueNotFound)
}

func (w *writer) close() error {
	w.once.Do(func() { close(w.closing) })
	<-w.done
	w.closeStmts()
	return w.conn.Close()
}

func (w *writer) closeStmts() {
	for _, sts := range [][7]*sql.Stmt{w.inserts, w.finds, w.puts} {
		for _, st := range sts {
			if st != nil {
				st.Close()
			}
		}
	}
	for _, st := range []*sql.Stmt{w.stmts.receive, w.stmts.del, w.stmts.update, w.stmts.purge, w.stmts.createQ, w.stmts.findQ,
		w.stmts.dedupPurge} {
		if st != nil {
			st.Close()
		}
	}
}
