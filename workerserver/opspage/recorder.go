package opspage

import (
	"context"
	"sync"
	"time"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/worker"
)

// Bounds of a Recorder.
const (
	// DefaultJobs is how many jobs a Recorder keeps by default.
	DefaultJobs = 50
	// DefaultErrors is how many failed jobs a Recorder keeps apart from the
	// job list, so that a burst of successes does not push them out.
	DefaultErrors = 20
	// MaxErrorLen is the most runes of an error text kept (after redaction).
	MaxErrorLen = 300
)

// Entry is one job as the page shows it: who asked, what for, how it
// went. It holds no message text, no command arguments and no reply text.
type Entry struct {
	Seq        uint64    // increasing number of the entry in this process
	Time       time.Time // when the worker began the job
	MsgID      string    // the queue message's id
	JobID      string    // the job's idempotency key ("tweet:<id>", "dm:<id>"); empty when not a job
	Kind       string    // "tweet" or "dm"; empty when not a job
	UserID     string    // the asking user's id
	ScreenName string    // the asking user's handle, when the job has it
	Command    string    // the command's name (rand, mess, name, ...)
	Seed       uint32
	HasSeed    bool
	Attempt    int
	Generate   time.Duration // image generation (zero when none ran)
	Total      time.Duration // the whole Handle call
	Outcome    string        // one of worker.Outcomes
	Err        string        // the redacted error text (see Redact); empty on success
	ReplyID    string        // the reply post or DM event id, when one was sent
	Thumb      []byte        // a small JPEG of the image; nil when none (or not made yet)
}

// Recorder keeps the last jobs a worker handled, each with a small thumbnail
// of its image, and the last failed jobs: a bounded ring in memory, fed by
// worker.Config.Observer. Memory is bounded by Jobs×MaxThumbBytes for the
// thumbnails plus a few hundred bytes per entry. It is safe for concurrent
// use; the zero value is not: use NewRecorder.
type Recorder struct {
	mu      sync.Mutex
	idle    *sync.Cond // signalled when the thumbnail goroutine ends (on mu)
	jobs    ring
	errs    ring
	seq     uint64
	thumb   ThumbOptions
	todo    []thumbTask // images waiting for their thumbnail
	running bool        // a goroutine works through todo
}

// thumbTask is an image waiting for its thumbnail.
type thumbTask struct {
	seq  uint64
	data []byte
}

// MaxPendingThumbs bounds the images held for thumbnailing: when the
// thumbnail goroutine is this far behind, a new job is listed without one.
const MaxPendingThumbs = 4

// RecorderOptions size a Recorder; nil or zero fields mean the defaults.
type RecorderOptions struct {
	// Jobs is how many jobs are kept; 0 means DefaultJobs.
	Jobs int
	// Errors is how many failed jobs are kept apart; 0 means DefaultErrors.
	Errors int
	// Thumb sizes the thumbnails.
	Thumb ThumbOptions
}

var _ worker.Observer = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder(opts *RecorderOptions) *Recorder {
	var o RecorderOptions
	if opts != nil {
		o = *opts
	}
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}
	if o.Errors <= 0 {
		o.Errors = DefaultErrors
	}
	rec := &Recorder{jobs: newRing(o.Jobs), errs: newRing(o.Errors), thumb: o.Thumb.withDefaults()}
	rec.idle = sync.NewCond(&rec.mu)
	return rec
}

// JobDone records r (worker.Observer). It only copies a few fields: the
// thumbnail (a PNG decode, a downscale and a JPEG encode, about half the
// cost of encoding the image in the first place: see
// BenchmarkRecorderJobDone) is made by one goroutine of the Recorder's,
// off the job's path, which runs while images wait and then ends. At most
// MaxPendingThumbs images wait; past that a job is listed without a
// thumbnail.
func (rec *Recorder) JobDone(_ context.Context, r worker.JobReport) {
	e := Entry{
		Time: r.Started, MsgID: r.MsgID, Seed: r.Seed, HasSeed: r.HasSeed, Attempt: r.Attempt,
		Generate: r.Generate, Total: r.Total, Outcome: r.Outcome, ReplyID: r.ReplyID,
	}
	if r.Job.ID != "" {
		e.JobID, e.Kind, e.UserID, e.ScreenName, e.Command = r.Job.ID, string(r.Job.MsgType), r.Job.UserID, r.Job.ScreenName, r.Job.Command
		if r.Job.MsgType != filter.KindDM && r.Job.MsgType != filter.KindTweet {
			e.Kind = ""
		}
	}
	if r.Err != nil {
		e.Err = cut(Redact(r.Err.Error()), MaxErrorLen)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.seq++
	e.Seq = rec.seq
	rec.jobs.put(e)
	if e.Err != "" {
		rec.errs.put(e) // text only: the job list has the thumbnail
	}
	if r.Image != nil && len(r.Image.Data) > 0 && len(rec.todo) < MaxPendingThumbs {
		rec.todo = append(rec.todo, thumbTask{seq: e.Seq, data: r.Image.Data})
		if !rec.running {
			rec.running = true
			go rec.thumbnails()
		}
	}
}

// thumbnails makes the waiting thumbnails, then ends.
func (rec *Recorder) thumbnails() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for len(rec.todo) > 0 {
		t := rec.todo[0]
		rec.todo[0] = thumbTask{}
		rec.todo = rec.todo[1:]
		rec.mu.Unlock()
		th, err := Thumbnail(t.data, rec.thumb) // without one the job is listed all the same
		rec.mu.Lock()
		if err == nil {
			rec.jobs.setThumb(t.seq, th)
		}
	}
	rec.running = false
	rec.idle.Broadcast()
}

// Wait returns once every thumbnail of the jobs recorded so far is made
// (or given up): for tests and for a view that must show them.
func (rec *Recorder) Wait() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for rec.running {
		rec.idle.Wait()
	}
}

// Jobs returns the kept jobs, newest first. A job's thumbnail may still be
// in the making (see Wait).
func (rec *Recorder) Jobs() []Entry {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.jobs.newestFirst()
}

// Errors returns the kept failed jobs, newest first.
func (rec *Recorder) Errors() []Entry {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.errs.newestFirst()
}

// Thumb returns the thumbnail of entry seq, if it is still kept.
func (rec *Recorder) Thumb(seq uint64) ([]byte, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.jobs.items {
		if e.Seq == seq && e.Thumb != nil {
			return e.Thumb, true
		}
	}
	return nil, false
}

// ThumbBytes returns the bytes held by the kept thumbnails.
func (rec *Recorder) ThumbBytes() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, e := range rec.jobs.items {
		n += len(e.Thumb)
	}
	return n
}

// ring is a fixed-size ring of entries.
type ring struct {
	items []Entry
	next  int // where the next entry goes once items is full
	size  int
}

func newRing(size int) ring { return ring{items: make([]Entry, 0, size), size: size} }

func (r *ring) put(e Entry) {
	if len(r.items) < r.size {
		r.items = append(r.items, e)
		return
	}
	r.items[r.next] = e
	r.next = (r.next + 1) % r.size
}

// setThumb gives entry seq its thumbnail, if the entry is still kept.
func (r *ring) setThumb(seq uint64, th []byte) {
	for i := range r.items {
		if r.items[i].Seq == seq {
			r.items[i].Thumb = th
			return
		}
	}
}

func (r *ring) newestFirst() []Entry {
	out := make([]Entry, 0, len(r.items))
	n := len(r.items)
	for i := 1; i <= n; i++ {
		// The newest is just before next (or the last appended).
		idx := (r.next - i + n) % n
		if len(r.items) < r.size {
			idx = n - i
		}
		out = append(out, r.items[idx])
	}
	return out
}

// cut shortens s to at most n runes, marking the cut with "…".
func cut(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
