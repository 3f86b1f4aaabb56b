package intake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Spool is a local append-only store for job messages that could not be
// enqueued. Append returns only after the record is fsynced, so a job that
// was spooled survives a crash of the process or the machine.
//
// Records live in numbered segment files (spool-000001.log, ...). Each
// record is a 4-byte big-endian length, a 4-byte CRC-32C of the body and the
// body. A segment is sealed (later appends go to a new one) when it passes
// MaxSegment bytes, and when a write or fsync fails part-way: a failed
// Append first truncates the segment back to its last good length, and if
// even that fails, no record is ever written behind the partial bytes.
//
// A segment is read whole. Bytes that do not form a record (a torn tail
// left by a crash during an Append that never returned, or a damaged
// region) are skipped: the reader looks for the next offset where a whole
// record with a matching checksum starts and carries on from there, so a
// damaged record never hides the records after it. A segment with such
// bytes is kept on disk, renamed to *.damaged, and counted (Damaged), never
// removed.
//
// The drainer seals the current segment (later appends go to a new one),
// moves every record of sealed segments to the queue and removes a segment
// only when all its records were enqueued. A crash in between re-enqueues
// the segment's records: delivery stays at-least-once and the worker's
// idempotency check absorbs the duplicates.
type Spool struct {
	dir string

	mu     sync.Mutex
	cur    segmentFile
	curSeq int
	count  int   // records in the current segment
	size   int64 // bytes of whole records in the current segment
	broken bool  // the current segment must take no more records

	damaged atomic.Int64 // segments kept as *.damaged

	maxBytes int64        // refuse appends past this many bytes on disk; <= 0: no bound
	total    atomic.Int64 // bytes in live segments

	// onDamage, if set, hears of each segment kept as *.damaged.
	onDamage func(name string, unreadBytes int)

	// sentOf remembers, for a sealed segment that a Drain left half done,
	// how many of its records were already sent, so the next Drain of this
	// process does not send them again.
	sentOf map[int]int
}

// MaxRecord is the largest record the spool accepts.
const MaxRecord = 1 << 20

// ErrSpoolFull is returned by Append when the spool holds MaxBytes.
var ErrSpoolFull = errors.New("intake: spool is full")

// MaxSegment is the size past which the current segment is sealed, which
// bounds what a drain reads into memory at once.
const MaxSegment = 16 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segmentFile is the current segment as Append uses it: an *os.File, or
// a failing stand-in in tests.
type segmentFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// openSegmentFile creates a segment file; tests replace it to inject faults.
var openSegmentFile = func(path string) (segmentFile, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
}

// OpenSpool opens (creating it if needed) the spool in dir, with no size
// bound.
func OpenSpool(dir string) (*Spool, error) { return OpenSpoolMax(dir, 0) }

// OpenSpoolMax opens the spool in dir; Append refuses records (ErrSpoolFull)
// that would take it past maxBytes on disk. maxBytes <= 0 means no bound.
func OpenSpoolMax(dir string, maxBytes int64) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("intake: spool directory is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	s := &Spool{dir: dir, sentOf: map[int]int{}, maxBytes: maxBytes}
	seqs, err := s.segments()
	if err != nil {
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
	if err := s.openSegment(next); err != nil {
		return nil, err
	}
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

func (s *Spool) openSegment(seq int) error {
	f, err := openSegmentFile(s.segmentPath(seq))
	if err != nil {
		return fmt.Errorf("intake: spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.cur, s.curSeq, s.count, s.size, s.broken = f, seq, 0, 0, false
	return nil
}

// Append writes records and fsyncs them; all or none are reported written.
// On a failed write or fsync the segment is truncated back to its last good
// length; if that fails too, or the fsync failed (the kernel may have
// dropped the dirty pages), the segment is sealed and the next Append
// starts a new one, so no acknowledged record ever lands behind partial
// bytes.
func (s *Spool) Append(records ...[]byte) error {
	var buf []byte
	for _, r := range records {
		if len(r) > MaxRecord {
			return fmt.Errorf("intake: spool record of %d bytes exceeds %d", len(r), MaxRecord)
		}
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(len(r)))
		binary.BigEndian.PutUint32(hdr[4:], crc32.Checksum(r, crcTable))
		buf = append(buf, hdr[:]...)
		buf = append(buf, r...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return errors.New("intake: spool is closed")
	}
	if s.maxBytes > 0 && s.total.Load()+int64(len(buf)) > s.maxBytes {
		return fmt.Errorf("%w: %d bytes on disk, bound %d", ErrSpoolFull, s.total.Load(), s.maxBytes)
	}
	if s.broken || s.size >= MaxSegment {
		if err := s.sealLocked(); err != nil {
			return err
		}
	}
	if _, err := s.cur.Write(buf); err != nil {
		if terr := s.cur.Truncate(s.size); terr != nil {
			s.broken = true
		}
		return fmt.Errorf("intake: spool write: %w", err)
	}
	if err := s.cur.Sync(); err != nil {
		_ = s.cur.Truncate(s.size)
		s.broken = true
		return fmt.Errorf("intake: spool fsync: %w", err)
	}
	s.count += len(records)
	s.size += int64(len(buf))
	s.total.Add(int64(len(buf)))
	return nil
}

// Bytes reports how many bytes the spool's live segments hold on disk.
func (s *Spool) Bytes() int64 { return s.total.Load() }

// Full reports whether the spool is at its bound (no record fits).
func (s *Spool) Full() bool { return s.maxBytes > 0 && s.total.Load()+8 >= s.maxBytes }

// sealLocked closes the current segment and opens the next one. An empty
// current segment is removed instead of kept.
func (s *Spool) sealLocked() error {
	old, oldSeq, empty := s.cur, s.curSeq, s.count == 0 && s.size == 0 && !s.broken
	if err := s.openSegment(s.curSeq + 1); err != nil {
		s.broken = true
		return err
	}
	old.Close()
	if empty {
		_ = os.Remove(s.segmentPath(oldSeq))
	}
	return nil
}

// Damaged reports how many segments this Spool kept as *.damaged because
// they held bytes that were not whole records.
func (s *Spool) Damaged() int64 { return s.damaged.Load() }

// Pending reports whether any record may be waiting (in the current or a
// sealed segment).
func (s *Spool) Pending() bool {
	s.mu.Lock()
	n, cur := s.count, s.curSeq
	s.mu.Unlock()
	if n > 0 {
		return true
	}
	seqs, err := s.segments()
	if err != nil {
		return true
	}
	for _, q := range seqs {
		if q != cur {
			return true
		}
	}
	return false
}

// Drain seals the current segment if it holds records, then passes every
// record of every sealed segment, oldest first, to send. Drain must not be
// called concurrently with itself. A segment is
// removed once send accepted all its records; Drain stops at the first
// error, leaving that segment for the next call, and returns how many
// records were sent.
func (s *Spool) Drain(send func(record []byte) error) (int, error) {
	s.mu.Lock()
	if s.cur == nil {
		s.mu.Unlock()
		return 0, errors.New("intake: spool is closed")
	}
	if s.count > 0 || s.broken {
		if err := s.sealLocked(); err != nil {
			s.mu.Unlock()
			return 0, err
		}
	}
	cur := s.curSeq
	s.mu.Unlock()

	seqs, err := s.segments()
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, seq := range seqs {
		if seq >= cur {
			break
		}
		path := s.segmentPath(seq)
		var segBytes int64
		if fi, err := os.Stat(path); err == nil {
			segBytes = fi.Size()
		}
		skip := s.sentOf[seq]
		n, unread, err := readSegment(path, skip, send)
		sent += max(n-skip, 0)
		if err != nil {
			s.sentOf[seq] = n
			return sent, err
		}
		if unread > 0 {
			// Never remove bytes that were not read as records: keep them
			// for inspection under a name the spool no longer reads.
			if err := os.Rename(path, path+".damaged"); err != nil {
				return sent, fmt.Errorf("intake: spool: %w", err)
			}
			s.damaged.Add(1)
			if s.onDamage != nil {
				s.onDamage(filepath.Base(path)+".damaged", unread)
			}
		} else if err := os.Remove(path); err != nil {
			return sent, fmt.Errorf("intake: spool: %w", err)
		}
		s.total.Add(-segBytes)
		delete(s.sentOf, seq)
	}
	return sent, nil
}

// readSegment calls send for each whole record of a segment, in order.
// Bytes that are not a whole record with a matching checksum are skipped up
// to the next offset where one starts (see Spool). The first skip records
// are read but not sent. It returns the number of records read and handled
// (skipped or sent), and how many bytes were not part of any record.
func readSegment(path string, skip int, send func([]byte) error) (n, unread int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("intake: spool: %w", err)
	}
	off := 0
	for off < len(data) {
		body, ok := recordAt(data, off)
		if !ok {
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
		if n >= skip {
			if err := send(body); err != nil {
				return n, unread, err
			}
		}
		n++
		off += 8 + len(body)
	}
	return n, unread, nil
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

// Close closes the current segment. Records stay on disk for the next
// OpenSpool.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	if s.count == 0 {
		// Leave no empty segments behind.
		_ = os.Remove(s.segmentPath(s.curSeq))
	}
	return err
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
