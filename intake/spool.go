package intake

import (
	"bufio"
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
)

// Spool is a local append-only store for job messages that could not be
// enqueued. Append returns only after the record is fsynced, so a job that
// was spooled survives a crash of the process or the machine.
//
// Records live in numbered segment files (spool-000001.log, ...). Each
// record is a 4-byte big-endian length, a 4-byte CRC-32C of the body and the
// body. A torn record at the end of a segment (a crash during Append, which
// therefore never returned) is ignored when the segment is read.
//
// The drainer seals the current segment (later appends go to a new one),
// moves every record of sealed segments to the queue and removes a segment
// only when all its records were enqueued. A crash in between re-enqueues
// the segment's records: delivery stays at-least-once and the worker's
// idempotency check absorbs the duplicates.
type Spool struct {
	dir string

	mu     sync.Mutex
	cur    *os.File
	curSeq int
	count  int // records in the current segment

	// sentOf remembers, for a sealed segment that a Drain left half done,
	// how many of its records were already sent, so the next Drain of this
	// process does not send them again.
	sentOf map[int]int
}

// MaxRecord is the largest record the spool accepts.
const MaxRecord = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptRecord is returned (wrapped) when a sealed segment holds a
// record whose checksum does not match.
var ErrCorruptRecord = errors.New("intake: corrupt spool record")

// OpenSpool opens (creating it if needed) the spool in dir.
func OpenSpool(dir string) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("intake: spool directory is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("intake: spool: %w", err)
	}
	s := &Spool{dir: dir, sentOf: map[int]int{}}
	seqs, err := s.segments()
	if err != nil {
		return nil, err
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
	f, err := os.OpenFile(s.segmentPath(seq), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("intake: spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.cur, s.curSeq, s.count = f, seq, 0
	return nil
}

// Append writes records and fsyncs them; all or none are reported written.
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
	if _, err := s.cur.Write(buf); err != nil {
		return fmt.Errorf("intake: spool write: %w", err)
	}
	if err := s.cur.Sync(); err != nil {
		return fmt.Errorf("intake: spool fsync: %w", err)
	}
	s.count += len(records)
	return nil
}

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
	if s.count > 0 {
		old := s.cur
		if err := s.openSegment(s.curSeq + 1); err != nil {
			s.mu.Unlock()
			return 0, err
		}
		old.Close()
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
		skip := s.sentOf[seq]
		n, err := readSegment(path, skip, send)
		sent += n - skip
		if err != nil {
			s.sentOf[seq] = n
			return sent, err
		}
		if err := os.Remove(path); err != nil {
			return sent, fmt.Errorf("intake: spool: %w", err)
		}
		delete(s.sentOf, seq)
	}
	return sent, nil
}

// readSegment calls send for each whole record of a segment. A short or
// torn record at the very end is ignored (its Append never returned); a
// checksum mismatch elsewhere is an error, since it means the disk lied.
// The first skip records are read but not sent. It returns the number of
// records read and handled (skipped or sent).
func readSegment(path string, skip int, send func([]byte) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("intake: spool: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	n := 0
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n, nil // clean end, or a torn header
		}
		size := binary.BigEndian.Uint32(hdr[:4])
		if size > MaxRecord {
			return n, fmt.Errorf("%w: %s: record length %d", ErrCorruptRecord, filepath.Base(path), size)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return n, nil // torn tail
		}
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(hdr[4:]) {
			if _, err := r.Peek(1); err == io.EOF {
				return n, nil // torn tail whose length survived
			}
			return n, fmt.Errorf("%w: %s: record %d", ErrCorruptRecord, filepath.Base(path), n)
		}
		if n >= skip {
			if err := send(body); err != nil {
				return n, err
			}
		}
		n++
	}
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
