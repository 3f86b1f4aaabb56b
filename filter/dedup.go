package filter

import "time"

// dedup remembers keys for a fixed time-to-live, holding at most max of
// them. Because every key lives equally long, insertion order is expiry
// order, so a FIFO of (key, expiry) is enough: expired keys and, past max,
// the oldest keys leave from its front. forget deletes from the map only;
// the FIFO entry goes stale and is skipped when it reaches the front (a
// sequence number tells a stale entry from a re-added key). The FIFO never
// holds more than max entries, so memory is bounded by max. Not safe for
// concurrent use; Filter holds a lock.
type dedup struct {
	max  int
	ttl  time.Duration
	seen map[string]dedupEntry
	fifo []dedupItem // ring buffer, len(fifo) == capacity
	head int         // index of the oldest item
	n    int         // items in the ring
	seq  uint64
}

type dedupEntry struct {
	expires time.Time
	seq     uint64
}

type dedupItem struct {
	key string
	seq uint64
}

func newDedup(max int, ttl time.Duration) *dedup {
	return &dedup{max: max, ttl: ttl, seen: make(map[string]dedupEntry)}
}

// seen reports whether key is remembered and unexpired at now.
func (d *dedup) has(key string, now time.Time) bool {
	e, ok := d.seen[key]
	return ok && now.Before(e.expires)
}

// add remembers key until now+ttl, evicting expired keys and, when full,
// the oldest key.
func (d *dedup) add(key string, now time.Time) {
	d.evict(now)
	for d.n >= d.max {
		d.pop()
	}
	d.seq++
	d.seen[key] = dedupEntry{expires: now.Add(d.ttl), seq: d.seq}
	if d.n == len(d.fifo) {
		d.grow()
	}
	d.fifo[(d.head+d.n)%len(d.fifo)] = dedupItem{key: key, seq: d.seq}
	d.n++
}

// forget drops key, so that the event can be taken again, and reports
// whether it was remembered.
func (d *dedup) forget(key string) bool {
	_, ok := d.seen[key]
	delete(d.seen, key)
	return ok
}

// len is the number of live keys (expired ones not yet evicted included).
func (d *dedup) len() int { return len(d.seen) }

func (d *dedup) evict(now time.Time) {
	for d.n > 0 {
		it := d.fifo[d.head]
		e, ok := d.seen[it.key]
		if ok && e.seq == it.seq && now.Before(e.expires) {
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
