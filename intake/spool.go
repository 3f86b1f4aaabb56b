package intake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Spool is a local append-only store of job messages: the intake's
// journal (Config.Journal) and its fallback while the queue is away.
// Append returns only after the record is on disk (fdatasync on Linux,
// fsync elsewhere), so a spooled job survives a crash of the process or the
// machine.
//
// Appends practise group commit: records handed to Append while a write is
// in progress wait, then all of them go to the file in the next single
// write and share its one fdatasync. A goroutine of the Spool does the
// writing, so that no caller's answer waits for a later caller's records.
//
// Records live in numbered segment files (spool-000001.log, ...). Each
// record is a 4-byte big-endian length, a 4-byte CRC-32C of the body and the
// body. A segment is sealed (later appends go to a new one) when it passes
// the segment size (MaxSegment, or JournalSegment for a journal), and when a
// write or fdatasync fails part-way: a failed write first truncates the
// segment back to its last good length, and if even that fails, no record
// is ever written behind the partial bytes.
//
// A sealed segment is read whole. Bytes that do not form a record (a torn
// tail left by a crash during an Append that never returned, or a damaged
// region) are skipped: the reader looks for the next offset where a whole
// record with a matching checksum starts and carries on from there, so a
// damaged record never hides the records after it. A segment with such
// bytes is kept on disk, renamed to *.damaged, and counted (Damaged), never
// removed.
//
// The drainer passes on every record of the sealed segments, oldest first,
// and then the records of the current segment up to its last fdatasync,
// remembering how far it got in each; it removes a sealed segment once all
// its records were passed on. A crash in between passes a segment's records
// on again after the restart: delivery stays at-least-once, the queue's
// dedup key and the worker's idempotency check absorb the duplicates.
type Spool struct {
	dir        string
	maxSegment int64
	lock       *os.File // the directory's lock (see OpenSpoolMax); nil where there is none

	mu     sync.Mutex
	cur    segmentFile // written by the flusher only; nil once closed
	curSeq int
	count  int   // durable records in the current segment
	size   int64 // bytes of durable whole records in the current segment
	broken bool  // the current segment must take no more records
	seal   bool  // the drainer asks for the current segment to be sealed
	closed bool
	pend   *group // records waiting for the next write
	// sent maps a segment to the offset up to which the drainer passed its
	// records on (and, with whole, read them from its start).
	sent map[int]sentMark

	kick        chan struct{} // wakes the flusher; buffered, 1
	stop        chan struct{} // closed by Close
	flusherDone chan struct{}

	damaged atomic.Int64 // segments kept as *.damaged

	maxBytes int64        // refuse appends past this many bytes; <= 0: no bound
	total    atomic.Int64 // bytes of records not yet passed on (sealed and current segments)
	pending  atomic.Int64 // bytes handed to Append, not yet written

	// onDamage, if set, hears of each segment kept as *.damaged.
	onDamage func(name string, unreadBytes int)

	// writes counts the flusher's writes (group commits), for tests.
	writes atomic.Int64
}

// sentMark is how far the drainer got in one segment.
type sentMark struct {
	off int64 // records ending at or before off were passed on
	// whole: every byte before off was read as a record by this process,
	// so a sealed segment whose size is off can be removed unread.
	whole bool
}

// group is the records of one write and its outcome.
type group struct {
	buf  []byte
	n    int
	done chan struct{} // closed once err is set
	err  error
}

// MaxRecord is the largest record the spool accepts.
const MaxRecord = 1 << 20

// ErrSpoolFull is returned by Append when the spool holds MaxBytes.
var ErrSpoolFull = errors.New("intake: spool is full")

// errSpoolClosed is returned by calls on a closed Spool.
var errSpoolClosed = errors.New("intake: spool is closed")

// errSpoolInUse means another process has the spool directory open.
var errSpoolInUse = errors.New("another process has it open (give each webhook process its own SPOOL_DIR)")

// MaxSegment is the size past which the current segment of a spool opened
// with OpenSpool or OpenSpoolMax is sealed, which bounds what a drain reads
// into memory at once.
const MaxSegment = 16 << 20

// JournalSegment is the segment size of the intake's journal
// (Config.Journal): smaller, so that the segments the drainer has passed
// on are removed within seconds, and a restart after a crash passes on at
// most this many bytes again.
const JournalSegment = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segmentFile is the current segment as Append uses it: an *os.File, or
// a failing stand-in in tests. Sync makes the written bytes durable.
type segmentFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// openSegmentFile creates a segment file; tests replace it to inject faults.
var openSegmentFile = func(path string) (segmentFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return dataSyncFile{f}, nil
}

// dataSyncFile syncs with fdatasync where there is one (see syncData): an
// append-only file needs its data and size on disk, not its times.
type dataSyncFile struct{ *os.File }

func (f dataSyncFile) Sync() error { return syncData(f.File) }

// OpenSpool opens (creating it if needed) the spool in dir, with no size
// bound.
func OpenSpool(dir string) (*Spool, error) { return OpenSpoolMax(dir, 0) }

// OpenSpoolMax opens the spool in dir; Append refuses records (ErrSpoolFull)
// that would take it past maxBytes of records not yet drained. maxBytes <= 0
// means no bound. A spool directory serves one Spool at a time: on Linux
// it is locked (flock of dir/LOCK) until Close, and opening it while
// another process holds it fails, since two drainers would pass on, and
// remove, each other's segments.
func OpenSpoolMax(dir string, maxBytes int64) (*Spool, error) {
	return openSpool(dir, maxBytes, MaxSegment)
}

func openSpool(dir string, maxBytes, maxSegment int64) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("intake: spool directory is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("intake: spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, maxSegment: maxSegment, lock: lock, sent: map[int]sentMark{}, maxBytes: maxBytes,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), flusherDone: make(chan struct{})}
	seqs, err := s.segments()
	if err != nil {
		s.unlock()
		return nil, err
	}
	for _, q := range seqs {
		if fi, err := os.Stat(s.segmentPath(q)); err == nil {
			s.total.Add(fi.Size())
		}
	}
	next := 1
	if len(seqs) > 0 {
		next = seqs[len(seqs)-1] + 1
	}
	f, err := s.createSegment(next)
	if err != nil {
		s.unlock()
		return nil, err
	}
	s.cur, s.curSeq = f, next
	go s.flusher()
	return s, nil
}

func (s *Spool) segmentPath(seq int) string {
	return filepath.Join(s.dir, fmt.Sprintf("spool-%06d.log", seq))
}

// segments lists the sequence numbers of the segment files, ascending.
func (s *Spool) segments() ([]int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	var seqs []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "spool-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "spool-"), ".log"))
		if err == nil {
			seqs = append(seqs, n)
		}
	}
	sort.Ints(seqs)
	return seqs, nil
}

// createSegment creates segment seq and makes its name durable.
func (s *Spool) createSegment(seq int) (segmentFile, error) {
	f, err := openSegmentFile(s.segmentPath(seq))
	if err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Append writes records and makes them durable; all or none are reported
// written. Records appended concurrently share one write and one
// fdatasync (see Spool). On a failed write or sync the segment is
// truncated back to its last good length; if that fails too, or the sync
// failed (the kernel may have dropped the dirty pages), the segment is
// sealed and the next write starts a new one, so no acknowledged record
// ever lands behind partial bytes. Every Append of a failed write gets its
// error.
func (s *Spool) Append(records ...[]byte) error {
	n := 0
	for _, r := range records {
		if len(r) > MaxRecord {
			return fmt.Errorf("intake: spool record of %d bytes exceeds %d", len(r), MaxRecord)
		}
		n += 8 + len(r)
	}
	if len(records) == 0 {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSpoolClosed
	}
	if s.maxBytes > 0 && s.total.Load()+s.pending.Load()+int64(n) > s.maxBytes {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d bytes waiting, bound %d", ErrSpoolFull, s.total.Load()+s.pending.Load(), s.maxBytes)
	}
	g := s.pend
	if g == nil {
		g = &group{done: make(chan struct{})}
		s.pend = g
	}
	for _, r := range records {
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(len(r)))
		binary.BigEndian.PutUint32(hdr[4:], crc32.Checksum(r, crcTable))
		g.buf = append(g.buf, hdr[:]...)
		g.buf = append(g.buf, r...)
	}
	g.n += len(records)
	s.pending.Add(int64(n))
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	<-g.done
	return g.err
}

// flusher writes the waiting records, one group at a time, until Close;
// then it writes what is still waiting and returns.
func (s *Spool) flusher() {
	defer close(s.flusherDone)
	for {
		select {
		case <-s.kick:
			s.flush()
		case <-s.stop:
			s.flush()
			return
		}
	}
}

// flush writes every waiting group.
func (s *Spool) flush() {
	for {
		s.mu.Lock()
		g := s.pend
		s.pend = nil
		s.mu.Unlock()
		if g == nil {
			return
		}
		g.err = s.write(g)
		s.pending.Add(-int64(len(g.buf)))
		close(g.done)
	}
}

// write puts one group in the current segment (sealing it first when it is
// full, broken or asked to be) and syncs it. Only the flusher calls it.
func (s *Spool) write(g *group) error {
	s.mu.Lock()
	needSeal := s.broken || s.seal || s.size >= s.maxSegment
	s.mu.Unlock()
	if needSeal {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.writes.Add(1)
	s.mu.Lock()
	cur, size := s.cur, s.size
	s.mu.Unlock()
	if _, err := cur.Write(g.buf); err != nil {
		if terr := cur.Truncate(size); terr != nil {
			s.setBroken()
		}
		return fmt.Errorf("intake: spool write: %w", err)
	}
	if err := cur.Sync(); err != nil {
		_ = cur.Truncate(size)
		s.setBroken()
		return fmt.Errorf("intake: spool sync: %w", err)
	}
	s.mu.Lock()
	s.count += g.n
	s.size += int64(len(g.buf))
	s.mu.Unlock()
	s.total.Add(int64(len(g.buf)))
	return nil
}

func (s *Spool) setBroken() {
	s.mu.Lock()
	s.broken = true
	s.mu.Unlock()
}

// rotate seals the current segment and opens the next one. An empty
// current segment is removed instead of kept. Only the flusher calls it.
func (s *Spool) rotate() error {
	s.mu.Lock()
	old, oldSeq := s.cur, s.curSeq
	empty := s.count == 0 && s.size == 0 && !s.broken
	s.mu.Unlock()
	f, err := s.createSegment(oldSeq + 1)
	if err != nil {
		s.setBroken()
		return err
	}
	s.mu.Lock()
	s.cur, s.curSeq, s.count, s.size, s.broken, s.seal = f, oldSeq+1, 0, 0, false, false
	if empty {
		delete(s.sent, oldSeq)
	}
	s.mu.Unlock()
	old.Close()
	if empty {
		_ = os.Remove(s.segmentPath(oldSeq))
	}
	return nil
}

// Bytes reports how many bytes of records wait on disk to be drained.
func (s *Spool) Bytes() int64 { return s.total.Load() }

// Full reports whether the spool is at its bound (no record fits).
func (s *Spool) Full() bool {
	return s.maxBytes > 0 && s.total.Load()+s.pending.Load()+8 >= s.maxBytes
}

// Damaged reports how many segments this Spool kept as *.damaged because
// they held bytes that were not whole records.
func (s *Spool) Damaged() int64 { return s.damaged.Load() }

// Pending reports whether any record may be waiting to be drained (in the
// current or a sealed segment).
func (s *Spool) Pending() bool {
	s.mu.Lock()
	waiting, cur := s.size > s.sent[s.curSeq].off, s.curSeq
	s.mu.Unlock()
	if waiting {
		return true
	}
	seqs, err := s.segments()
	if err != nil {
		return true
	}
	for _, q := range seqs {
		if q < cur {
			return true
		}
	}
	return false
}

// Drain passes every record not yet passed on to send, one at a time (see
// DrainBatches); send's error stops it.
func (s *Spool) Drain(send func(record []byte) error) (int, error) {
	return s.DrainBatches(1, func(records [][]byte) (int, error) {
		if err := send(records[0]); err != nil {
			return 0, err
		}
		return 1, nil
	})
}

// DrainBatches passes every record that no earlier drain passed on to
// send, in order, at most limit at a time: first the records of the sealed
// segments, oldest first, then those of the current segment up to its last
// sync. send reports how many of the records it was given, counted from
// the first, it stored; when that is not all of them it must return an
// error, and DrainBatches stops there, so that the next drain starts with
// the first record not stored. A sealed segment is removed once all its
// records were stored. DrainBatches returns how many records were stored.
// It must not be called concurrently with itself.
func (s *Spool) DrainBatches(limit int, send func(records [][]byte) (int, error)) (int, error) {
	if limit < 1 {
		limit = 1
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, errSpoolClosed
	}
	cur, curSize := s.curSeq, s.size
	s.mu.Unlock()

	seqs, err := s.segments()
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, seq := range seqs {
		if seq > cur {
			break // sealed after we looked: the next drain takes it
		}
		var n int
		if seq < cur {
			n, err = s.drainSealed(seq, limit, send)
		} else {
			n, err = s.drainCurrent(seq, curSize, limit, send)
		}
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (s *Spool) mark(seq int) sentMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[seq]
}

func (s *Spool) setMark(seq int, m sentMark) {
	s.mu.Lock()
	s.sent[seq] = m
	s.mu.Unlock()
}

// drainSealed passes on what is left of a sealed segment and removes it
// (or keeps it as *.damaged).
func (s *Spool) drainSealed(seq, limit int, send func([][]byte) (int, error)) (int, error) {
	path := s.segmentPath(seq)
	m := s.mark(seq)
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("intake: spool: %w", err)
	}
	if m.whole && fi.Size() == m.off {
		// Every byte was read as a record and passed on while it was the
		// current segment: nothing to read again.
		return 0, s.forget(seq, path, fi.Size(), 0)
	}
	// Read what follows the records this process already read and
	// passed on (all of it for a segment of an earlier run).
	from := int64(0)
	if m.whole {
		from = m.off
	}
	data, err := readFrom(path, from)
	if err != nil {
		return 0, err
	}
	recs, ends, unread := scanRecords(data, from, true)
	n, err := s.sendRecords(seq, recs, ends, m, limit, send)
	if err != nil {
		return n, err
	}
	return n, s.forget(seq, path, from+int64(len(data)), unread)
}

// readFrom reads a file from offset off to its end.
func readFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	return data, nil
}

// forget removes a drained sealed segment of size bytes (or keeps it as
// *.damaged when unread bytes of it were not records) and stops counting
// the bytes of it that still counted.
func (s *Spool) forget(seq int, path string, size int64, unread int) error {
	if unread > 0 {
		// Never remove bytes that were not read as records: keep them for
		// inspection under a name the spool no longer reads.
		if err := os.Rename(path, path+".damaged"); err != nil {
			return fmt.Errorf("intake: spool: %w", err)
		}
		s.damaged.Add(1)
		if s.onDamage != nil {
			s.onDamage(filepath.Base(path)+".damaged", unread)
		}
	} else if err := os.Remove(path); err != nil {
		return fmt.Errorf("intake: spool: %w", err)
	}
	s.mu.Lock()
	done := s.sent[seq].off
	delete(s.sent, seq)
	s.mu.Unlock()
	s.total.Add(-max(size-done, 0))
	return nil
}

// drainCurrent passes on the current segment's records from where the last
// drain stopped up to size, the end of its last sync.
func (s *Spool) drainCurrent(seq int, size int64, limit int, send func([][]byte) (int, error)) (int, error) {
	m := s.mark(seq)
	if m.off >= size {
		return 0, nil
	}
	if m.off == 0 {
		m.whole = true
	}
	f, err := os.Open(s.segmentPath(seq))
	if err != nil {
		return 0, fmt.Errorf("intake: spool: %w", err)
	}
	data := make([]byte, size-m.off)
	_, err = f.ReadAt(data, m.off)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("intake: spool: %w", err)
	}
	recs, ends, unread := scanRecords(data, m.off, false)
	if unread > 0 {
		// Bytes this process wrote and synced do not read back as
		// records: leave them to the sealed-segment reader, which keeps
		// damaged segments, and have the flusher seal this one.
		s.mu.Lock()
		s.seal = true
		s.mu.Unlock()
		m.whole = false
	}
	return s.sendRecords(seq, recs, ends, m, limit, send)
}

// sendRecords passes on the records (ending at ends) that end after m.off,
// limit at a time, and moves the segment's mark past each stored one; the
// stored bytes stop counting in Bytes.
func (s *Spool) sendRecords(seq int, recs [][]byte, ends []int64, m sentMark, limit int,
	send func([][]byte) (int, error)) (int, error) {
	i := 0
	for i < len(ends) && ends[i] <= m.off {
		i++
	}
	sent := 0
	for i < len(recs) {
		j := min(i+limit, len(recs))
		n, err := send(recs[i:j])
		n = min(max(n, 0), j-i)
		if n > 0 {
			end := ends[i+n-1]
			s.total.Add(-(end - m.off))
			m.off = end
			s.setMark(seq, m)
			sent += n
		}
		if err != nil {
			return sent, err
		}
		if n < j-i {
			return sent, errors.New("intake: spool: send stored fewer records than it was given without an error")
		}
		i = j
	}
	return sent, nil
}

// scanRecords splits data (which starts at offset base of its segment)
// into records and the segment offsets where each ends. With skip, bytes
// that are not a whole record with a matching checksum are skipped up to
// the next offset where one starts (see Spool) and counted in unread;
// without it, scanning stops at the first such byte and the rest count as
// unread.
func scanRecords(data []byte, base int64, skip bool) (recs [][]byte, ends []int64, unread int) {
	off := 0
	for off < len(data) {
		body, ok := recordAt(data, off)
		if !ok {
			if !skip {
				return recs, ends, len(data) - off
			}
			next := off + 1
			for next < len(data) {
				if _, ok := recordAt(data, next); ok {
					break
				}
				next++
			}
			unread += next - off
			off = next
			continue
		}
		off += 8 + len(body)
		recs = append(recs, body)
		ends = append(ends, base+int64(off))
	}
	return recs, ends, unread
}

// recordAt returns the body of the whole record at off, if one with a
// matching checksum starts there.
func recordAt(data []byte, off int) ([]byte, bool) {
	if len(data)-off < 8 {
		return nil, false
	}
	size := int(binary.BigEndian.Uint32(data[off:]))
	if size > MaxRecord || len(data)-off-8 < size {
		return nil, false
	}
	body := data[off+8 : off+8+size]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(data[off+4:]) {
		return nil, false
	}
	return body, true
}

// Close writes the records still waiting, then closes the current
// segment; it is removed when it holds no record that was not drained.
// Records stay on disk for the next OpenSpool.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.flusherDone
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.cur.Close()
	path := s.segmentPath(s.curSeq)
	m := s.sent[s.curSeq]
	if !s.broken && (s.count == 0 || m.whole && m.off == s.size) {
		// Leave no empty or fully drained segments behind.
		if fi, serr := os.Stat(path); serr == nil && fi.Size() == s.size {
			_ = os.Remove(path)
		}
	}
	s.cur = nil
	s.unlock()
	return err
}

// unlock releases the directory's lock.
func (s *Spool) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("intake: spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("intake: spool: fsync dir: %w", err)
	}
	return nil
}
