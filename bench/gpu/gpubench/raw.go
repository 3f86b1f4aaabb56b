package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/moetron/moetron/imagegen"
)

// rawSession is a bare ONNX Runtime session on the model, with the same
// options imagegen uses (default graph optimisation, intra-op threads,
// CUDA through the plugin's PREFER_GPU policy or the classic provider).
type rawSession struct {
	s          *ort.DynamicAdvancedSession
	zdim, h, w int
}

type sessionSpec struct {
	Model, Device, Plugin string
	Threads               int
	Profile               string // profile file prefix; "" means off
	ZDim, H, W            int
}

func newRaw(sp sessionSpec) (*rawSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if sp.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(sp.Threads); err != nil {
			return nil, err
		}
	}
	if sp.Profile != "" {
		if err := opts.EnableProfiling(sp.Profile); err != nil {
			return nil, err
		}
	}
	if sp.Device == "cuda" {
		if sp.Plugin != "" {
			// The plugin was registered by imagegen.New for the first CUDA generator.
			err = imagegen.PreferGPU(opts)
		} else {
			var co *ort.CUDAProviderOptions
			if co, err = ort.NewCUDAProviderOptions(); err == nil {
				err = opts.AppendExecutionProviderCUDA(co)
				co.Destroy()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("raw CUDA session: %w", err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(sp.Model, []string{"z", "psi"}, []string{"image"}, opts)
	if err != nil {
		return nil, err
	}
	return &rawSession{s: s, zdim: sp.ZDim, h: sp.H, w: sp.W}, nil
}

func (r *rawSession) Close() { r.s.Destroy() }

// batch holds preallocated input and output tensors for one batch size.
type batch struct {
	n      int
	z, psi *ort.Tensor[float32]
	img    *ort.Tensor[float32]
}

func (r *rawSession) newBatch(z, psi []float32) (*batch, error) {
	n := len(psi)
	zt, err := ort.NewTensor(ort.NewShape(int64(n), int64(r.zdim)), z)
	if err != nil {
		return nil, err
	}
	pt, err := ort.NewTensor(ort.NewShape(int64(n)), psi)
	if err != nil {
		return nil, err
	}
	it, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), 3, int64(r.h), int64(r.w)))
	if err != nil {
		return nil, err
	}
	return &batch{n: n, z: zt, psi: pt, img: it}, nil
}

func (b *batch) Close() { b.z.Destroy(); b.psi.Destroy(); b.img.Destroy() }

func (r *rawSession) run(b *batch) error {
	return r.s.Run([]ort.Value{b.z, b.psi}, []ort.Value{b.img})
}

// generate runs one batch of latents and returns a copy of the images.
func (r *rawSession) generate(z, psi []float32) ([]float32, error) {
	b, err := r.newBatch(z, psi)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if err := r.run(b); err != nil {
		return nil, err
	}
	return append([]float32(nil), b.img.GetData()...), nil
}

// throughput runs warm warm-up batches of size n, then runs timed batches
// until at least images images were produced; it returns images per second.
func (r *rawSession) throughput(z, psi []float32, warm, images int) (float64, error) {
	b, err := r.newBatch(z, psi)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	for range warm {
		if err := r.run(b); err != nil {
			return 0, err
		}
	}
	runs := max(3, (images+b.n-1)/b.n)
	start := time.Now()
	for range runs {
		if err := r.run(b); err != nil {
			return 0, err
		}
	}
	return float64(runs*b.n) / time.Since(start).Seconds(), nil
}

// latencies times calls single-image runs after warm warm-ups.
func (r *rawSession) latencies(z, psi []float32, warm, calls int) ([]time.Duration, error) {
	b, err := r.newBatch(z, psi)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	for range warm {
		if err := r.run(b); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, calls)
	for i := range out {
		t := time.Now()
		if err := r.run(b); err != nil {
			return nil, err
		}
		out[i] = time.Since(t)
	}
	return out, nil
}

// Placement counts, from an ONNX Runtime profile, how many kernel runs each
// execution provider did.
type Placement map[string]int

func (p Placement) String() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return p[keys[i]] > p[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, p[k])
	}
	return strings.Join(parts, ", ")
}

// ParseProfile reads an ONNX Runtime profile (a JSON array of trace
// events) and counts node kernel events by their args.provider.
func ParseProfile(data []byte) (Placement, error) {
	var events []struct {
		Cat  string `json:"cat"`
		Name string `json:"name"`
		Args struct {
			Provider string `json:"provider"`
		} `json:"args"`
	}
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p := Placement{}
	for _, e := range events {
		if e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time") && e.Args.Provider != "" {
			p[e.Args.Provider]++
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("profile: no node kernel events")
	}
	return p, nil
}

// placement runs one profiled batch-1 session run and reports which
// providers ran the nodes. ONNX Runtime writes the profile when the
// session is released.
func placement(sp sessionSpec, dir string, z, psi []float32) (Placement, error) {
	prefix := filepath.Join(dir, "ortprofile")
	sp.Profile = prefix
	r, err := newRaw(sp)
	if err != nil {
		return nil, err
	}
	_, err = r.generate(z, psi)
	r.Close()
	if err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(prefix + "*.json")
	if len(files) == 0 {
		return nil, fmt.Errorf("no profile written under %s", prefix)
	}
	sort.Strings(files)
	data, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		return nil, err
	}
	return ParseProfile(data)
}
