package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/queue"
)

var _ queue.Queue = (*Queue)(nil)

// Queue is one named queue in a Store. It is safe for concurrent use.
type Queue struct {
	s    *Store
	name string

	id        atomic.Int64 // the queues.id once known; 0 before
	lastPurge time.Time    // used by the writer goroutine only
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// Create creates the queue in the file if no process has yet.
func (q *Queue) Create(ctx context.Context) error {
	return q.s.w.do(ctx, func(st *statements) error {
		if _, err := st.createQ.ExecContext(st.ctx, q.name, q.s.now().UnixNano()); err != nil {
			return err
		}
		_, err := q.queueID(st)
		return err
	})
}

// queueID returns the queue's row id, looking it up inside the writer's
// transaction the first time.
func (q *Queue) queueID(st *statements) (int64, error) {
	if id := q.id.Load(); id != 0 {
		return id, nil
	}
	var id int64
	err := st.findQ.QueryRowContext(st.ctx, q.name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: queue %q: %w", q.name, queue.ErrQueueNotFound)
	}
	if err != nil {
		return 0, err
	}
	q.id.Store(id)
	return id, nil
}

// Enqueue adds a message; when it returns nil the message is committed and
// fsynced.
func (q *Queue) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	delay, ttl, err := queue.EnqueueArgs(body, opts)
	if err != nil {
		return nil, err
	}
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	row := &insert{q: q, body: body, delay: delay, ttl: ttl}
	if opts != nil {
		row.key = opts.DedupKey
	}
	if err := q.s.w.doInsert(ctx, row); err != nil {
		return nil, err
	}
	return row.msg, nil
}

// EnqueueBatch adds one message per body, with the options of the same
// index (opts may be nil, or as long as bodies), in one transaction: when
// it returns nil all of them are committed and fsynced, otherwise none is.
// The messages are returned in the order of bodies; a DedupKey met within
// the window, or earlier in the same batch, gives the first message's id
// with Duplicate set, as Enqueue does. It serves intake's journal
// (intake.BatchEnqueuer): a move of hundreds of jobs costs one commit.
func (q *Queue) EnqueueBatch(ctx context.Context, bodies [][]byte, opts []queue.EnqueueOptions) ([]*queue.Message, error) {
	if opts != nil && len(opts) != len(bodies) {
		return nil, fmt.Errorf("%w: %d bodies but %d options", queue.ErrInvalidArgument, len(bodies), len(opts))
	}
	if len(bodies) == 0 {
		return nil, nil
	}
	rows := make([]*insert, len(bodies))
	for i, body := range bodies {
		var o *queue.EnqueueOptions
		if opts != nil {
			o = &opts[i]
		}
		delay, ttl, err := queue.EnqueueArgs(body, o)
		if err != nil {
			return nil, fmt.Errorf("message %d of %d: %w", i, len(bodies), err)
		}
		if body == nil {
			body = []byte{}
		}
		rows[i] = &insert{q: q, body: body, delay: delay, ttl: ttl}
		if o != nil {
			rows[i].key = o.DedupKey
		}
	}
	if err := q.s.w.doInsert(ctx, rows...); err != nil {
		return nil, err
	}
	out := make([]*queue.Message, len(rows))
	for i, r := range rows {
		out[i] = r.msg
	}
	return out, nil
}

// Receive takes up to max visible messages in one transaction.
func (q *Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*queue.Message, error) {
	if err := queue.ReceiveArgs(max, visibility); err != nil {
		return nil, err
	}
	var out []*queue.Message
	err := q.s.w.do(ctx, func(st *statements) error {
		out = make([]*queue.Message, 0, max)
		qid, err := q.queueID(st)
		if err != nil {
			return err
		}
		now := q.s.now()
		if err := q.purge(st, qid, now); err != nil {
			return err
		}
		rows, err := st.receive.QueryContext(st.ctx, now.Add(visibility).UnixNano(), qid, now.UnixNano(), max)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, dq, ins, exp, vis int64
				body                  []byte
				receipt               string
			)
			if err := rows.Scan(&id, &body, &dq, &ins, &exp, &receipt, &vis); err != nil {
				return err
			}
			out = append(out, &queue.Message{
				ID:           strconv.FormatInt(id, 10),
				Body:         body,
				DequeueCount: int(dq),
				InsertedAt:   fromNanos(ins),
				ExpiresAt:    fromNanos(exp),
				Receipt:      receipt,
				NextVisible:  fromNanos(vis),
			})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// purge deletes the queue's expired messages and dedup keys, at most once a
// second.
func (q *Queue) purge(st *statements, qid int64, now time.Time) error {
	if d := now.Sub(q.lastPurge); d >= 0 && d < time.Second {
		return nil
	}
	if _, err := st.purge.ExecContext(st.ctx, qid, now.UnixNano()); err != nil {
		return err
	}
	if _, err := st.dedupPurge.ExecContext(st.ctx, qid, now.UnixNano()); err != nil {
		return err
	}
	q.lastPurge = now
	return nil
}

// Delete removes a message whose current receipt is receipt.
func (q *Queue) Delete(ctx context.Context, id, receipt string) error {
	if err := queue.DeleteArgs(id, receipt); err != nil {
		return err
	}
	rowid, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		return fmt.Errorf("sqlite: message %q: %w", id, queue.ErrLeaseLost)
	}
	return q.s.w.do(ctx, func(st *statements) error {
		qid, err := q.queueID(st)
		if err != nil {
			return err
		}
		var expires int64
		err = st.del.QueryRowContext(st.ctx, rowid, qid, receipt).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: message %s: %w", id, queue.ErrLeaseLost)
		}
		if err != nil {
			return err
		}
		if expires <= q.s.now().UnixNano() {
			return fmt.Errorf("sqlite: message %s expired: %w", id, queue.ErrLeaseLost)
		}
		return nil
	})
}

// Update changes a message's visibility and, when body is non-nil, its body.
func (q *Queue) Update(ctx context.Context, id, receipt string, visibility time.Duration, body []byte) (string, error) {
	if err := queue.UpdateArgs(id, receipt, visibility, body); err != nil {
		return "", err
	}
	var newBody any // nil keeps the body
	if body != nil {
		newBody = body
		if len(body) == 0 {
			newBody = []byte{}
		}
	}
	rowid, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("sqlite: %w", err)
		}
		return "", fmt.Errorf("sqlite: message %q: %w", id, queue.ErrLeaseLost)
	}
	var newReceipt string
	err = q.s.w.do(ctx, func(st *statements) error {
		qid, err := q.queueID(st)
		if err != nil {
			return err
		}
		now := q.s.now()
		err = st.update.QueryRowContext(st.ctx, now.Add(visibility).UnixNano(), newBody, rowid, qid, receipt, now.UnixNano()).Scan(&newReceipt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: message %s: %w", id, queue.ErrLeaseLost)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return newReceipt, nil
}

// Len returns the number of messages that have not expired, visible or not.
// It reads a snapshot and does not wait for the writer.
func (q *Queue) Len(ctx context.Context) (int, error) {
	select {
	case <-q.s.w.closing:
		return 0, queue.ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	var n int
	err := q.s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM messages
		WHERE queue_id = queues.id AND expires_at > ?) FROM queues WHERE name = ?`,
		q.s.now().UnixNano(), q.name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: queue %q: %w", q.name, queue.ErrQueueNotFound)
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("sqlite: %w", ctx.Err())
		}
		return 0, fmt.Errorf("sqlite: len of %s: %w", q.name, classify(err))
	}
	return n, nil
}

func fromNanos(ns int64) time.Time {
	if ns == neverExpires {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
