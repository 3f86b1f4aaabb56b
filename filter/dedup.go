package filter

import (
	"hash/maphash"
	"time"
)

// dedup remembers keys for a fixed time-to-live, holding at most max of
// them. Because every key lives equally long, insertion order is expiry
// order, so a FIFO of (key, expiry) is enough: expired keys and, past max,
// the oldest keys leave from its front. forget deletes from the map only;
// the FIFO entry goes stale and is skipped when it reaches the front (a
// sequence number tells a stale entry from a re-added key). The FIFO never
// holds more than max entries, so memory is bounded by max. Not safe for
// concurrent use; Filter holds a lock.
//
// Keys are stored as 64-bit hashes with a per-process random seed, not as
// strings: about 40 bytes a key instead of about 130, and no allocation per
// key. Two different ids collide with a probability of about n²/2^65
// (3e-10 for the default 100,000 keys), and the random seed keeps anyone
// from making collisions on purpose.
type dedup struct {
	max  int
	ttl  time.Duration
	hash maphash.Seed
	seen map[uint64]dedupEntry
	fifo []dedupItem // ring buffer, len(fifo) == capacity
	head int         // index of the oldest item
	n    int         // items in the ring
	seq  uint64
}

type dedupEntry struct {
	expires int64 // unix nanoseconds
	seq     uint64
}

type dedupItem struct {
	key uint64
	seq uint64
}

func newDedup(max int, ttl time.Duration) *dedup {
	return &dedup{max: max, ttl: ttl, hash: maphash.MakeSeed(), seen: make(map[uint64]dedupEntry)}
}

func (d *dedup) sum(key string) uint64 { return maphash.String(d.hash, key) }

// seen reports whether key is remembered and unexpired at now.
func (d *dedup) has(key string, now time.Time) bool {
	e, ok := d.seen[d.sum(key)]
	return ok && now.UnixNano() < e.expires
}

// add remembers key until now+ttl, evicting expired keys and, when full,
// the oldest key.
func (d *dedup) add(key string, now time.Time) {
	d.evict(now)
	for d.n >= d.max {
		d.pop()
	}
	d.seq++
	h := d.sum(key)
	d.seen[h] = dedupEntry{expires: now.Add(d.ttl).UnixNano(), seq: d.seq}
	if d.n == len(d.fifo) {
		d.grow()
	}
	d.fifo[(d.head+d.n)%len(d.fifo)] = dedupItem{key: h, seq: d.seq}
	d.n++
}

// forget drops key, so that the event can be taken again, and reports
// whether it was remembered.
func (d *dedup) forget(key string) bool {
	h := d.sum(key)
	_, ok := d.seen[h]
	delete(d.seen, h)
	return ok
}

// len is the number of live keys (expired ones not yet evicted included).
func (d *dedup) len() int { return len(d.seen) }

func (d *dedup) evict(now time.Time) {
	for d.n > 0 {
		it := d.fifo[d.head]
		e, ok := d.seen[it.key]
		if ok && e.seq == it.seq && now.UnixNano() < e.expires {
			return
		}
		d.pop()
	}
}

// pop removes the oldest FIFO item and, if it is the key's live entry, the
// key.
func (d *dedup) pop() {
	it := d.fifo[d.head]
	if e, ok := d.seen[it.key]; ok && e.seq == it.seq {
		delete(d.seen, it.key)
	}
	d.fifo[d.head] = dedupItem{}
	d.head = (d.head + 1) % len(d.fifo)
	d.n--
}

func (d *dedup) grow() {
	c := 2 * len(d.fifo)
	if c < 16 {
		c = 16
	}
	if c > d.max {
		c = d.max
	}
	f := make([]dedupItem, c)
	for i := 0; i < d.n; i++ {
		f[i] = d.fifo[(d.head+i)%len(d.fifo)]
	}
	d.fifo, d.head = f, 0
}
