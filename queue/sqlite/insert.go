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

// doInsert hands row to the writer and waits for its commit, as do does.
func (w *writer) doInsert(ctx context.Context, row *insert) error {
	return w.submit(ctx, &op{ctx: ctx, ins: row, result: make(chan error, 1)})
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

// runInserts stores the rows of batch[i] for i in idx, whose results are
// nil so far. An op whose queue does not exist gets that answer in
// results; any other error is returned with the index in batch of an op
// it belongs to, and leaves the transaction to be rolled back.
func (w *writer) runInserts(batch []*op, idx []int, results []error) (culprit int, err error) {
	rows := idx[:0:0]
	for _, i := range idx {
		ins := batch[i].ins
		if _, err := ins.q.queueID(&w.stmts); err != nil {
			if isAnswer(err) {
				results[i] = err
				continue
			}
			return i, err
		}
		rows = append(rows, i)
	}
	rows, keyed, dups, culprit, err := w.dedupInserts(batch, rows)
	if err != nil {
		return culprit, err
	}
	if len(rows) == 0 {
		return -1, nil
	}
	random := make([]byte, 12*len(rows))
	if _, err := rand.Read(random); err != nil {
		return rows[0], err
	}
	for j, i := range rows {
		batch[i].ins.receipt = hex.EncodeToString(random[12*j : 12*j+12])
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
			return chunk[0], err
		}
		args = args[:0]
		for _, i := range chunk {
			ins := batch[i].ins
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
		if err := w.insertChunk(st, args, batch, chunk); err != nil {
			return chunk[0], err
		}
	}
	return w.rememberKeys(batch, keyed, dups)
}

// dedupKey is a DedupKey on one queue.
type dedupKey struct {
	qid int64
	key string
}

// dedupInserts answers the rows whose DedupKey names a message stored
// within the window (in this transaction's view, so also by another
// process) with that message's id, and the rows that repeat the key of an
// earlier row of the same batch with that row's (dups: index in batch ->
// index of the first). It returns the rows still to insert, and those of
// them that carry a key.
func (w *writer) dedupInserts(batch []*op, rows []int) (insert, keyed []int, dups map[int]int, culprit int, err error) {
	var first map[dedupKey]int
	insert = rows[:0]
	for _, i := range rows {
		ins := batch[i].ins
		if ins.key == "" {
			insert = append(insert, i)
			continue
		}
		qid, _ := ins.q.queueID(&w.stmts) // known by now
		k := dedupKey{qid, ins.key}
		if j, ok := first[k]; ok {
			if dups == nil {
				dups = make(map[int]int)
			}
			dups[i] = j
			continue
		}
		var id int64
		err := w.stmts.dedupFind.QueryRowContext(w.stmts.ctx, qid, ins.key, ins.q.s.now().UnixNano()).Scan(&id)
		switch {
		case err == nil:
			ins.msg = &queue.Message{ID: strconv.FormatInt(id, 10), Duplicate: true}
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, nil, nil, i, fmt.Errorf("looking up dedup key: %w", err)
		}
		if first == nil {
			first = make(map[dedupKey]int)
		}
		first[k] = i
		insert = append(insert, i)
		keyed = append(keyed, i)
	}
	return insert, keyed, dups, -1, nil
}

// rememberKeys records the keys of the rows just inserted, and answers
// the rows that repeated them within the batch.
func (w *writer) rememberKeys(batch []*op, keyed []int, dups map[int]int) (culprit int, err error) {
	for _, i := range keyed {
		ins := batch[i].ins
		qid, _ := ins.q.queueID(&w.stmts)
		expires := ins.q.s.now().Add(ins.q.s.dedup).UnixNano()
		if _, err := w.stmts.dedupPut.ExecContext(w.stmts.ctx, qid, ins.key, ins.id, expires); err != nil {
			return i, fmt.Errorf("storing dedup key: %w", err)
		}
	}
	for i, j := range dups {
		batch[i].ins.msg = &queue.Message{ID: batch[j].ins.msg.ID, Duplicate: true}
	}
	return -1, nil
}

// insertChunk runs st and gives each row of chunk its id.
func (w *writer) insertChunk(st *sql.Stmt, args []any, batch []*op, chunk []int) error {
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
		for _, i := range chunk {
			if ins := batch[i].ins; ins.receipt == receipt && ins.id == 0 {
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
	for _, i := range chunk {
		ins := batch[i].ins
		ins.msg.ID = strconv.FormatInt(ins.id, 10)
	}
	return nil
}
