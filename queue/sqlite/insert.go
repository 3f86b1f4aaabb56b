package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moetron/moetron/queue"
)

// The writer stores the Enqueues of a group commit that follow one
// another in the batch with multi-row INSERT statements, rather than one
// statement each: the per-statement cost (database/sql, the driver, the
// VDBE's statement setup) was most of an Enqueue's share of the writer's
// time. Statements for 1, 2, 4, ... maxInsertRows rows are prepared on
// first use; a run of n inserts takes the binary decomposition of n.
// Receipts are made here (12 random bytes in lower-case hex, as the
// schema's other writes make them in SQL), so that each returned row can
// be matched to its Enqueue by receipt whatever order RETURNING uses.

// maxInsertRows is the most rows one INSERT statement carries; a power of
// two.
const maxInsertRows = 64

// rowRef is one row of an op of the batch: batch[op].ins has ins.
type rowRef struct {
	op  int
	ins *insert
}

// insert is one Enqueue's row. msg is set when the row is stored.
type insert struct {
	q          *Queue
	body       []byte
	delay, ttl time.Duration
	key        string // EnqueueOptions.DedupKey

	msg     *queue.Message
	receipt string
	id      int64
}

// doInsert hands rows to the writer as one op (all stored or none) and
// waits for its commit, as do does.
func (w *writer) doInsert(ctx context.Context, rows ...*insert) error {
	return w.submit(ctx, &op{ctx: ctx, ins: rows, result: make(chan error, 1)})
}

// insertStmt returns the statement that inserts n rows (a power of two).
func (w *writer) insertStmt(n int) (*sql.Stmt, error) {
	k := 0
	for 1<<k < n {
		k++
	}
	if st := w.inserts[k]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO messages (queue_id, body, inserted_at, expires_at, visible_at, receipt) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?)")
	}
	b.WriteString(" RETURNING id, receipt")
	st, err := w.conn.PrepareContext(w.stmts.ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("preparing insert: %w", err)
	}
	w.inserts[k] = st
	return st, nil
}

// runInserts stores the rows, whose ops' results are nil so far. The rows
// of an op whose queue does not exist are skipped and the op gets that
// answer in results; any other error is returned with the index in batch
// of an op it belongs to, and leaves the transaction to be rolled back.
func (w *writer) runInserts(batch []*op, all []rowRef, results []error) (culprit int, err error) {
	rows := all[:0:0]
	for _, r := range all {
		if results[r.op] != nil {
			continue // an earlier row of its op found no queue
		}
		if _, err := r.ins.q.queueID(&w.stmts); err != nil {
			if isAnswer(err) {
				results[r.op] = err
				continue
			}
			return r.op, err
		}
		rows = append(rows, r)
	}
	// Drop the rows of ops answered above (a batch's rows share a queue,
	// so this only matters for an op's rows after the first).
	kept := rows[:0]
	for _, r := range rows {
		if results[r.op] == nil {
			kept = append(kept, r)
		}
	}
	rows = kept
	rows, keyed, dups, culprit, err := w.dedupInserts(rows)
	if err != nil {
		return culprit, err
	}
	if len(rows) == 0 {
		return -1, nil
	}
	random := make([]byte, 12*len(rows))
	if _, err := rand.Read(random); err != nil {
		return rows[0].op, err
	}
	for j, r := range rows {
		r.ins.receipt = hex.EncodeToString(random[12*j : 12*j+12])
	}
	args := make([]any, 0, 6*min(len(rows), maxInsertRows))
	for len(rows) > 0 {
		n := maxInsertRows
		for n > len(rows) {
			n /= 2
		}
		chunk := rows[:n]
		rows = rows[n:]
		st, err := w.insertStmt(n)
		if err != nil {
			return chunk[0].op, err
		}
		args = args[:0]
		for _, r := range chunk {
			ins := r.ins
			qid, _ := ins.q.queueID(&w.stmts) // known by now
			now := ins.q.s.now()
			expires := neverExpires
			if ins.ttl > 0 {
				expires = now.Add(ins.ttl).UnixNano()
			}
			visible := now.Add(ins.delay).UnixNano()
			ins.msg = &queue.Message{
				InsertedAt:  fromNanos(now.UnixNano()),
				ExpiresAt:   fromNanos(expires),
				Receipt:     ins.receipt,
				NextVisible: fromNanos(visible),
			}
			args = append(args, qid, ins.body, now.UnixNano(), expires, visible, ins.receipt)
		}
		if err := w.insertChunk(st, args, chunk); err != nil {
			return chunk[0].op, err
		}
	}
	return w.rememberKeys(keyed, dups)
}

// dedupKey is a DedupKey on one queue.
type dedupKey struct {
	qid int64
	key string
}

// dedupInserts answers the rows whose DedupKey names a message stored
// within the window (in this transaction's view, so also by another
// process) with that message's id, and the rows that repeat the key of an
// earlier row of the same batch with that row's (dups: row -> the first
// row with its key). It returns the rows still to insert, and those of
// them that carry a key.
func (w *writer) dedupInserts(rows []rowRef) (toInsert, keyed []rowRef, dups map[*insert]*insert, culprit int, err error) {
	var first map[dedupKey]*insert
	toInsert = rows[:0]
	for _, r := range rows {
		ins := r.ins
		if ins.key == "" {
			toInsert = append(toInsert, r)
			continue
		}
		qid, _ := ins.q.queueID(&w.stmts) // known by now
		k := dedupKey{qid, ins.key}
		if f, ok := first[k]; ok {
			if dups == nil {
				dups = make(map[*insert]*insert)
			}
			dups[ins] = f
			continue
		}
		var id int64
		err := w.stmts.dedupFind.QueryRowContext(w.stmts.ctx, qid, ins.key, ins.q.s.now().UnixNano()).Scan(&id)
		switch {
		case err == nil:
			ins.msg = &queue.Message{ID: strconv.FormatInt(id, 10), Duplicate: true}
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, nil, nil, r.op, fmt.Errorf("looking up dedup key: %w", err)
		}
		if first == nil {
			first = make(map[dedupKey]*insert)
		}
		first[k] = ins
		toInsert = append(toInsert, r)
		keyed = append(keyed, r)
	}
	return toInsert, keyed, dups, -1, nil
}

// rememberKeys records the keys of the rows just inserted, and answers
// the rows that repeated them within the batch.
func (w *writer) rememberKeys(keyed []rowRef, dups map[*insert]*insert) (culprit int, err error) {
	for _, r := range keyed {
		ins := r.ins
		qid, _ := ins.q.queueID(&w.stmts)
		expires := ins.q.s.now().Add(ins.q.s.dedup).UnixNano()
		if _, err := w.stmts.dedupPut.ExecContext(w.stmts.ctx, qid, ins.key, ins.id, expires); err != nil {
			return r.op, fmt.Errorf("storing dedup key: %w", err)
		}
	}
	for ins, f := range dups {
		ins.msg = &queue.Message{ID: f.msg.ID, Duplicate: true}
	}
	return -1, nil
}

// insertChunk runs st and gives each row of chunk its id.
func (w *writer) insertChunk(st *sql.Stmt, args []any, chunk []rowRef) error {
	res, err := st.QueryContext(w.stmts.ctx, args...)
	if err != nil {
		return err
	}
	defer res.Close()
	got := 0
	for res.Next() {
		var id int64
		var receipt string
		if err := res.Scan(&id, &receipt); err != nil {
			return err
		}
		found := false
		for _, r := range chunk {
			if ins := r.ins; ins.receipt == receipt && ins.id == 0 {
				ins.id, found = id, true
				break
			}
		}
		if !found {
			return fmt.Errorf("insert returned an unknown receipt")
		}
		got++
	}
	if err := res.Err(); err != nil {
		return err
	}
	if got != len(chunk) {
		return fmt.Errorf("insert returned %d rows for %d", got, len(chunk))
	}
	for _, r := range chunk {
		r.ins.msg.ID = strconv.FormatInt(r.ins.id, 10)
	}
	return nil
}
