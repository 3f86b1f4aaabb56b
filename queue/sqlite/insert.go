package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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

// nStmt returns the statement of cache for n rows (a power of two up to
// maxInsertRows), preparing it with build(n) on first use.
func (w *writer) nStmt(cache *[7]*sql.Stmt, n int, build func(n int) string) (*sql.Stmt, error) {
	k := 0
	for 1<<k < n {
		k++
	}
	if st := cache[k]; st != nil {
		return st, nil
	}
	st, err := w.conn.PrepareContext(w.stmts.ctx, build(n))
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	cache[k] = st
	return st, nil
}

// insertSQL inserts n messages.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO messages (queue_id, body, inserted_at, expires_at, visible_at, receipt) VALUES ")
	writeList(&b, n, func(int) string { return "(?,?,?,?,?,?)" })
	b.WriteString(" RETURNING id, receipt")
	return b.String()
}

// findSQL looks up n dedup keys of one queue that have not expired. The
// unary + keeps the planner on the primary key: with the IN list it would
// otherwise walk dedup_expires, every key of the window.
func findSQL(n int) string {
	var b strings.Builder
	b.WriteString("SELECT key, message_id FROM dedup WHERE queue_id = ?1 AND +expires_at > ?2 AND key IN (")
	writeList(&b, n, func(i int) string { return "?" + strconv.Itoa(i+3) })
	b.WriteString(")")
	return b.String()
}

// putSQL records n dedup keys (a key that expired and was not yet purged
// is taken over).
func putSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO dedup (queue_id, key, message_id, expires_at) VALUES ")
	writeList(&b, n, func(int) string { return "(?,?,?,?)" })
	b.WriteString(" ON CONFLICT (queue_id, key) DO UPDATE SET message_id = excluded.message_id, expires_at = excluded.expires_at")
	return b.String()
}

// writeList writes n items, comma-separated: the VALUES rows and IN lists
// of the statements above.
func writeList(b *strings.Builder, n int, item func(i int) string) {
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item(i))
	}
}

// chunkSize is the largest power of two up to maxInsertRows that is at
// most n: rows go to the statements in chunks of the binary decomposition
// of their number.
func chunkSize(n int) int {
	c := maxInsertRows
	for c > n {
		c /= 2
	}
	return c
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
		n := chunkSize(len(rows))
		chunk := rows[:n]
		rows = rows[n:]
		st, err := w.nStmt(&w.inserts, n, insertSQL)
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
// row with its key). It returns the rows still to insert, in their order,
// and those of them that carry a key. The keys are looked up with one
// statement per chunk of up to maxInsertRows keys.
func (w *writer) dedupInserts(rows []rowRef) (toInsert, keyed []rowRef, dups map[*insert]*insert, culprit int, err error) {
	var first map[dedupKey]*insert
	byQueue := map[int64][]rowRef{} // first rows with each key, by queue
	for _, r := range rows {
		ins := r.ins
		if ins.key == "" {
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
		if first == nil {
			first = make(map[dedupKey]*insert)
		}
		first[k] = ins
		byQueue[qid] = append(byQueue[qid], r)
	}
	for qid, krows := range byQueue {
		now := krows[0].ins.q.s.now().UnixNano()
		for len(krows) > 0 {
			n := chunkSize(len(krows))
			chunk := krows[:n]
			krows = krows[n:]
			if culprit, err := w.findKeys(qid, now, chunk); err != nil {
				return nil, nil, nil, culprit, err
			}
		}
	}
	toInsert = rows[:0]
	for _, r := range rows {
		switch {
		case r.ins.msg != nil: // found: a duplicate of a stored message
		case dups[r.ins] != nil: // answered by rememberKeys
		default:
			toInsert = append(toInsert, r)
			if r.ins.key != "" {
				keyed = append(keyed, r)
			}
		}
	}
	return toInsert, keyed, dups, -1, nil
}

// findKeys looks up the keys of chunk (rows of queue qid, distinct keys)
// and answers those found as duplicates.
func (w *writer) findKeys(qid, now int64, chunk []rowRef) (culprit int, err error) {
	st, err := w.nStmt(&w.finds, len(chunk), findSQL)
	if err != nil {
		return chunk[0].op, err
	}
	args := make([]any, 0, 2+len(chunk))
	args = append(args, qid, now)
	byKey := make(map[string]*insert, len(chunk))
	for _, r := range chunk {
		args = append(args, r.ins.key)
		byKey[r.ins.key] = r.ins
	}
	res, err := st.QueryContext(w.stmts.ctx, args...)
	if err != nil {
		return chunk[0].op, fmt.Errorf("looking up dedup keys: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var key string
		var id int64
		if err := res.Scan(&key, &id); err != nil {
			return chunk[0].op, fmt.Errorf("looking up dedup keys: %w", err)
		}
		if ins := byKey[key]; ins != nil {
			ins.msg = &queue.Message{ID: strconv.FormatInt(id, 10), Duplicate: true}
		}
	}
	if err := res.Err(); err != nil {
		return chunk[0].op, fmt.Errorf("looking up dedup keys: %w", err)
	}
	return -1, nil
}

// rememberKeys records the keys of the rows just inserted, one statement
// per chunk, and answers the rows that repeated them within the batch.
func (w *writer) rememberKeys(keyed []rowRef, dups map[*insert]*insert) (culprit int, err error) {
	args := make([]any, 0, 4*min(len(keyed), maxInsertRows))
	for len(keyed) > 0 {
		n := chunkSize(len(keyed))
		chunk := keyed[:n]
		keyed = keyed[n:]
		st, err := w.nStmt(&w.puts, n, putSQL)
		if err != nil {
			return chunk[0].op, err
		}
		args = args[:0]
		for _, r := range chunk {
			ins := r.ins
			qid, _ := ins.q.queueID(&w.stmts)
			expires := ins.q.s.now().Add(ins.q.s.dedup).UnixNano()
			args = append(args, qid, ins.key, ins.id, expires)
		}
		if _, err := st.ExecContext(w.stmts.ctx, args...); err != nil {
			return chunk[0].op, fmt.Errorf("storing dedup keys: %w", err)
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
