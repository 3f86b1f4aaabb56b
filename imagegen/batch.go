package imagegen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// call is one Generate call waiting for, or inside, a session run.
type call struct {
	z       []float32 // latent, psi already applied when the model has no psi input
	psi     float32
	arrived time.Time
	queued  bool        // guarded by Generator.mu
	done    chan result // buffered 1: the runner never blocks on a caller that left
}

type result struct {
	data []float32 // this image's output values
	h, w int
	err  error
}

// liveTensors counts the ONNX Runtime values this package has created and
// not yet destroyed; the leak test checks that it returns to zero.
var liveTensors atomic.Int64

// infer queues one latent for the batching loop and waits for its output.
func (g *Generator) infer(ctx context.Context, seed uint32, psi float32) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	c := &call{z: make([]float32, g.info.ZDim), psi: psi, done: make(chan result, 1)}
	fillLatent(c.z, seed)
	if g.info.PsiName == "" {
		applyPsi(c.z, psi)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return result{}, ErrClosed
	}
	c.arrived = g.now()
	c.queued = true
	g.queue = append(g.queue, c)
	g.mu.Unlock()
	g.signal()

	select {
	case r := <-c.done:
		return r, r.err
	case <-ctx.Done():
		g.mu.Lock()
		if c.queued {
			g.removeLocked(c)
		}
		g.mu.Unlock()
		// If the call was already taken into a run, its result is dropped
		// (done is buffered).
		return result{}, ctx.Err()
	}
}

func (g *Generator) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *Generator) removeLocked(c *call) {
	for i, q := range g.queue {
		if q == c {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	c.queued = false
}

// loop is the batching loop: one session run at a time.
func (g *Generator) loop() {
	defer close(g.stopped)
	for {
		batch := g.next()
		if batch == nil {
			return
		}
		if hook := g.beforeRun.Load(); hook != nil {
			(*hook)(batch)
		}
		g.run(batch)
	}
}

// next waits for work and takes the next batch. Rules:
//   - a lone call (the only one queued; no run is in flight while next
//     runs) is taken at once;
//   - with two or more queued and fewer than maxBatch, next waits for more
//     until maxWait after the oldest call's arrival (calls that queued
//     behind a long run have already waited and go at once);
//   - it returns nil when the generator is closed.
func (g *Generator) next() []*call {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return nil
		}
		n := len(g.queue)
		if n == 0 {
			g.mu.Unlock()
			<-g.wake
			continue
		}
		if n >= 2 && n < g.maxBatch && g.maxWait > 0 {
			if wait := g.queue[0].arrived.Add(g.maxWait).Sub(g.now()); wait > 0 {
				g.mu.Unlock()
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-g.wake:
				case <-timer.C:
				}
				continue
			}
		}
		take := min(n, g.maxBatch)
		batch := make([]*call, take)
		copy(batch, g.queue)
		for _, c := range batch {
			c.queued = false
		}
		g.queue = append(g.queue[:0], g.queue[take:]...)
		g.mu.Unlock()
		return batch
	}
}

// run runs one batch and hands each call its slice of the output.
func (g *Generator) run(batch []*call) {
	data, h, w, err := g.runSession(batch)
	if err != nil {
		for _, c := range batch {
			c.done <- result{err: err}
		}
		return
	}
	per := 3 * h * w
	for i, c := range batch {
		c.done <- result{data: data[i*per : (i+1)*per : (i+1)*per], h: h, w: w}
	}
}

func newTensor[T ort.TensorData](shape ort.Shape, data []T) (*ort.Tensor[T], error) {
	t, err := ort.NewTensor(shape, data)
	if err == nil {
		liveTensors.Add(1)
	}
	return t, err
}

func destroy(v ort.Value) {
	if v != nil {
		v.Destroy()
		liveTensors.Add(-1)
	}
}

// runSession feeds the batch to the session and returns the whole output
// copied into Go memory, with the image height and width.
func (g *Generator) runSession(batch []*call) ([]float32, int, int, error) {
	n, zdim := len(batch), g.info.ZDim
	z := make([]float32, n*zdim)
	for i, c := range batch {
		copy(z[i*zdim:], c.z)
	}
	zt, err := newTensor(ort.NewShape(int64(n), int64(zdim)), z)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("imagegen: latent tensor: %w", err)
	}
	defer destroy(zt)
	inputs := []ort.Value{zt}
	if g.info.PsiName != "" {
		psi := make([]float32, n)
		for i, c := range batch {
			psi[i] = c.psi
		}
		pt, err := newTensor(ort.NewShape(int64(n)), psi)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("imagegen: psi tensor: %w", err)
		}
		defer destroy(pt)
		inputs = append(inputs, pt)
	}
	// With a fixed output size ONNX Runtime writes straight into Go memory
	// that the callers then share (no copy); otherwise it allocates the
	// output and it is copied below.
	var direct []float32
	outputs := []ort.Value{nil}
	if h, w := int64(g.info.Height), int64(g.info.Width); h > 0 && w > 0 {
		shape := ort.NewShape(int64(n), 3, h, w)
		if g.info.Layout == LayoutNHWC {
			shape = ort.NewShape(int64(n), h, w, 3)
		}
		direct = make([]float32, shape.FlattenedSize())
		ot, err := newTensor(shape, direct)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("imagegen: output tensor: %w", err)
		}
		outputs[0] = ot
	}
	err = g.session.Run(inputs, outputs)
	if direct == nil && outputs[0] != nil {
		liveTensors.Add(1) // allocated by ONNX Runtime
	}
	if outputs[0] != nil {
		defer destroy(outputs[0])
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("imagegen: session run (batch %d): %w", n, err)
	}
	g.runs.Add(1)
	g.images.Add(uint64(n))
	if int64(n) > g.largest.Load() {
		g.largest.Store(int64(n)) // only the loop goroutine writes
	}
	out, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, 0, 0, fmt.Errorf("%w: output %q is %T, want a float32 tensor", ErrModel, g.info.ImageName, outputs[0])
	}
	shape := out.GetShape()
	var c, h, w int64
	if len(shape) == 4 {
		c, h, w = shape[1], shape[2], shape[3]
		if g.info.Layout == LayoutNHWC {
			h, w, c = shape[1], shape[2], shape[3]
		}
	}
	if len(shape) != 4 || shape[0] != int64(n) || c != 3 || h <= 0 || w <= 0 {
		return nil, 0, 0, fmt.Errorf("%w: output %q has shape %v for a batch of %d, want [%d,3,H,W] (%s)", ErrModel, g.info.ImageName, shape, n, n, g.info.Layout)
	}
	if direct != nil {
		return direct, int(h), int(w), nil
	}
	src := out.GetData()
	data := make([]float32, len(src))
	copy(data, src)
	return data, int(h), int(w), nil
}

// Close fails the calls still waiting for a batch with ErrClosed, lets the
// run in flight finish, and releases the session. Calls after Close get
// ErrClosed. Close is idempotent.
func (g *Generator) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		<-g.stopped
		return nil
	}
	g.closed = true
	waiting := g.queue
	g.queue = nil
	for _, c := range waiting {
		c.queued = false
	}
	g.mu.Unlock()
	for _, c := range waiting {
		c.done <- result{err: ErrClosed}
	}
	g.signal()
	<-g.stopped
	if err := g.session.Destroy(); err != nil {
		return fmt.Errorf("imagegen: destroying session: %w", err)
	}
	return nil
}
