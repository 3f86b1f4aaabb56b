package imagegen

import (
	"context"
	"fmt"
	"image"
	"sync"
	"testing"

	"github.com/moetron/moetron/imagegen/bundled"
	ort "github.com/yalue/onnxruntime_go"
)

// Benchmarks. All use one intra-op thread so that numbers from a shared
// machine are comparable; compare ratios within one run, e.g.
//
//	go test -run '^$' -bench . -benchtime 5x ./imagegen

// benchGenerator opens the bundled model (model == nil) or the given bytes.
func benchGenerator(b *testing.B, model []byte, cfg Config) *Generator {
	b.Helper()
	needRuntime(b)
	cfg.Model = model
	if model == nil {
		cfg.Model = bundled.Model()
	}
	cfg.IntraOpThreads = 1
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return g
}

// BenchmarkBundledBatch measures images/s of the bundled 512x512 CPPN
// through the session at fixed batch sizes (the batching loop bypassed).
func BenchmarkBundledBatch(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			g := benchGenerator(b, nil, Config{})
			batch := make([]*call, n)
			for i := range batch {
				batch[i] = &call{z: Latent(uint32(i), g.info.ZDim), psi: PsiTruncated}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, _, err := g.runSession(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkOverhead compares one image through Generator.GenerateRGBA
// (queue, batching loop, copy, conversion on the encode pool) with the same
// work done by calling the session directly (tensor, run, conversion).
func BenchmarkOverhead(b *testing.B) {
	models := []struct {
		name  string
		model func(b *testing.B) []byte
	}{
		{"bundled512", func(*testing.B) []byte { return bundled.Model() }},
		{"tiny64", func(b *testing.B) []byte { return testModel{h: 64, w: 64, zdim: 8, psiName: "psi"}.build(b) }},
	}
	for _, m := range models {
		b.Run(m.name+"/direct", func(b *testing.B) {
			g := benchGenerator(b, m.model(b), Config{})
			info := g.info
			opts, err := ort.NewSessionOptions()
			if err != nil {
				b.Fatal(err)
			}
			defer opts.Destroy()
			if err := opts.SetIntraOpNumThreads(1); err != nil {
				b.Fatal(err)
			}
			sess, err := ort.NewDynamicAdvancedSessionWithONNXData(m.model(b), []string{info.ZName, info.PsiName}, []string{info.ImageName}, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer sess.Destroy()
			seed := uint32(0)
			b.ResetTimer()
			for b.Loop() {
				seed++
				z := Latent(seed, info.ZDim)
				zt, _ := ort.NewTensor(ort.NewShape(1, int64(info.ZDim)), z)
				pt, _ := ort.NewTensor(ort.NewShape(1), []float32{1})
				out := []ort.Value{nil}
				if err := sess.Run([]ort.Value{zt, pt}, out); err != nil {
					b.Fatal(err)
				}
				t := out[0].(*ort.Tensor[float32])
				s := t.GetShape()
				toRGBA(t.GetData(), int(s[2]), int(s[3]), info.Layout, info.Range)
				zt.Destroy()
				pt.Destroy()
				t.Destroy()
			}
		})
		b.Run(m.name+"/generator", func(b *testing.B) {
			g := benchGenerator(b, m.model(b), Config{})
			seed := uint32(0)
			b.ResetTimer()
			for b.Loop() {
				seed++
				if _, err := g.GenerateRGBA(context.Background(), Request{Seed: seed, Psi: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConcurrent drives the generator from several goroutines so the
// loop forms batches; images/s and the mean batch are reported.
func BenchmarkConcurrent(b *testing.B) {
	for _, callers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("bundled512/callers=%d", callers), func(b *testing.B) {
			g := benchGenerator(b, nil, Config{MaxBatch: 8})
			b.ResetTimer()
			var wg sync.WaitGroup
			var next sync.Mutex
			left := b.N
			for c := 0; c < callers; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						next.Lock()
						if left == 0 {
							next.Unlock()
							return
						}
						left--
						seed := uint32(left)
						next.Unlock()
						if _, err := g.Generate(context.Background(), Request{Seed: seed, Psi: PsiTruncated}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			st := g.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			if st.Runs > 0 {
				b.ReportMetric(float64(st.Images)/float64(st.Runs), "images/run")
			}
		})
	}
}

// BenchmarkEncode512 encodes one 512x512 bundled-model image per format and
// level.
func BenchmarkEncode512(b *testing.B) {
	g := benchGenerator(b, nil, Config{})
	img, err := g.GenerateRGBA(context.Background(), Request{Seed: 42, Psi: PsiTruncated})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name    string
		f       Format
		level   PNGLevel
		quality int
	}{
		{"png/fast", FormatPNG, PNGFast, 0},
		{"png/default", FormatPNG, PNGDefault, 0},
		{"png/best", FormatPNG, PNGBest, 0},
		{"png/none", FormatPNG, PNGNone, 0},
		{"jpeg/q90", FormatJPEG, 0, 90},
		{"jpeg/q75", FormatJPEG, 0, 75},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var pool pngBuffers
			var size int
			for b.Loop() {
				data, err := encodeWith(&pool, image.Image(img), c.f, c.level, c.quality)
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
