package imagegen

import (
	"bytes"
	"context"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestGenerator builds m and opens a CPU generator with one intra-op
// thread, closed when the test ends.
func newTestGenerator(t *testing.T, m testModel, cfg Config) *Generator {
	t.Helper()
	needRuntime(t)
	if cfg.ModelPath == "" && cfg.Model == nil {
		cfg.Model = m.build(t)
	}
	if cfg.IntraOpThreads == 0 {
		cfg.IntraOpThreads = 1
	}
	g, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, g.Close()) })
	return g
}

// wantPixels is the expected RGBA for seed and psi from the Go reference.
func wantPixels(m testModel, seed uint32, psi float32) []uint8 {
	m = m.defaults()
	zd := m.zdim
	if zd < 0 {
		zd = -zd
	}
	z := Latent(seed, zd)
	applyPsi(z, psi)
	ref := m.reference(z)
	f := make([]float32, len(ref))
	for i, v := range ref {
		f[i] = float32(v)
	}
	layout := LayoutNCHW
	if m.nhwc {
		layout = LayoutNHWC
	}
	img, _ := toRGBA(f, m.h, m.w, layout, RangeSigned)
	return img.Pix
}

// assertPixels compares within 1 level (float32 vs float64 rounding).
func assertPixels(t *testing.T, want, got []uint8, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for i := range want {
		if d := int(want[i]) - int(got[i]); d > 1 || d < -1 {
			t.Fatalf("%s: byte %d: want %d, got %d", msg, i, want[i], got[i])
		}
	}
}

func TestGenerateMatchesReference(t *testing.T) {
	for _, m := range []testModel{
		{h: 3, w: 2},
		{h: 2, w: 5, nhwc: true, meta: map[string]string{MetaLayout: "NHWC"}},
		{psiName: "psi", zdim: 6},
		{zName: "latent", imageName: "rgb", meta: map[string]string{MetaZ: "latent", MetaImage: "rgb"}},
		{zdim: -5, meta: map[string]string{MetaZDim: "5"}},
	} {
		g := newTestGenerator(t, m, Config{})
		for _, seed := range []uint32{0, 42, 4294967295} {
			for _, psi := range []float32{0.55, 1} {
				img, err := g.GenerateRGBA(context.Background(), Request{Seed: seed, Psi: psi})
				require.NoError(t, err)
				assertPixels(t, wantPixels(m, seed, psi), img.Pix, "model "+m.zName+"/"+m.imageName)
			}
		}
		// Psi zero means 1.0.
		a, err := g.GenerateRGBA(context.Background(), Request{Seed: 9})
		require.NoError(t, err)
		b, err := g.GenerateRGBA(context.Background(), Request{Seed: 9, Psi: 1})
		require.NoError(t, err)
		assert.Equal(t, b.Pix, a.Pix)
	}
}

// TestDynamicOutputSize covers the path for models whose output size is
// only known after a run (ONNX Runtime allocates the output; it is copied).
// ONNX Runtime infers fixed sizes for the test models, so the size is
// forgotten by hand before the first call.
func TestDynamicOutputSize(t *testing.T) {
	for _, m := range []testModel{{h: 4, w: 3}, {h: 2, w: 5, nhwc: true, meta: map[string]string{MetaLayout: "NHWC"}}} {
		g := newTestGenerator(t, m, Config{})
		g.info.Height, g.info.Width = 0, 0
		img, err := g.GenerateRGBA(context.Background(), Request{Seed: 8, Psi: 0.8})
		require.NoError(t, err)
		assert.Equal(t, [2]int{m.w, m.h}, [2]int{img.Bounds().Dx(), img.Bounds().Dy()})
		assertPixels(t, wantPixels(m, 8, 0.8), img.Pix, "dynamic size")
	}
	assert.Zero(t, liveTensors.Load())
}

func TestGenerateEncodes(t *testing.T) {
	m := testModel{h: 8, w: 8}
	g := newTestGenerator(t, m, Config{JPEGQuality: 70})
	img, err := g.Generate(context.Background(), Request{Seed: 5, Psi: 0.55})
	require.NoError(t, err)
	assert.Equal(t, "image/png", img.ContentType)
	assert.Equal(t, FormatPNG, img.Format)
	assert.Equal(t, uint32(5), img.Seed)
	assert.Equal(t, float32(0.55), img.Psi)
	assert.Equal(t, [2]int{8, 8}, [2]int{img.Width, img.Height})
	dec, err := png.Decode(bytes.NewReader(img.Data))
	require.NoError(t, err)
	raw, err := g.GenerateRGBA(context.Background(), Request{Seed: 5, Psi: 0.55})
	require.NoError(t, err)
	r, gg, b, _ := dec.At(3, 4).RGBA()
	p := raw.Pix[4*(4*8+3):]
	assert.Equal(t, [3]uint32{uint32(p[0]), uint32(p[1]), uint32(p[2])}, [3]uint32{r >> 8, gg >> 8, b >> 8})

	j, err := g.Generate(context.Background(), Request{Seed: 5, Format: FormatJPEG})
	require.NoError(t, err)
	assert.Equal(t, "image/jpeg", j.ContentType)
	assert.Equal(t, []byte{0xff, 0xd8}, j.Data[:2])
}

func TestGenerateBadRequest(t *testing.T) {
	g := newTestGenerator(t, testModel{}, Config{})
	ctx := context.Background()
	for _, req := range []Request{
		{Psi: -0.5}, {Psi: 2.5}, {Psi: float32(math.NaN())}, {Psi: float32(math.Inf(1))},
		{Format: "gif"}, {Format: FormatJPEG, JPEGQuality: 101}, {Format: FormatJPEG, JPEGQuality: -3},
	} {
		_, err := g.Generate(ctx, req)
		assert.ErrorIs(t, err, ErrBadRequest, "%+v", req)
	}
	assert.Zero(t, g.Stats().Runs, "bad requests never reach the session")
}

func TestNewBadModels(t *testing.T) {
	needRuntime(t)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.onnx")
	good := testModel{}.build(t)
	require.NoError(t, os.WriteFile(corrupt, good[:len(good)*2/3], 0o644))
	garbage := filepath.Join(dir, "garbage.onnx")
	require.NoError(t, os.WriteFile(garbage, []byte("\x08\x07") /* ir_version 7 and nothing else */, 0o644))

	cases := []struct {
		name string
		cfg  Config
		is   error
		want string
	}{
		{"missing file", Config{ModelPath: filepath.Join(dir, "nope.onnx")}, ErrModel, "nope.onnx"},
		{"corrupt file", Config{ModelPath: corrupt}, ErrModel, "not an ONNX model"},
		{"garbage file", Config{ModelPath: garbage}, ErrModel, "ONNX Runtime cannot load it"},
		{"wrong input name", Config{Model: testModel{zName: "noise"}.build(t)}, ErrModel, `no latent input "z"; the model's inputs are: noise`},
		{"wrong output name", Config{Model: testModel{imageName: "out"}.build(t)}, ErrModel, `no image output "image"`},
		{"zdim mismatch", Config{Model: testModel{meta: map[string]string{MetaZDim: "8"}}.build(t)}, ErrModel, "zdim mismatch"},
		{"sidecar zdim mismatch", Config{Model: testModel{}.build(t), Sidecar: []byte(`{"zdim": 9}`)}, ErrModel, "moetron.zdim says 9"},
		{"bad sidecar", Config{Model: testModel{}.build(t), Sidecar: []byte(`{"zdim": 9`)}, ErrModel, "sidecar"},
		{"extra input", Config{Model: testModel{extraInput: "label"}.build(t)}, ErrModel, `"label"`},
		{"bad device", Config{Model: good, Device: "tpu"}, ErrConfig, `"tpu"`},
		{"bad quality", Config{Model: good, JPEGQuality: 200}, ErrConfig, "JPEGQuality"},
		{"bad png level", Config{Model: good, PNGLevel: 9}, ErrConfig, "PNG level"},
		{"negative batch", Config{Model: good, MaxBatch: -1}, ErrConfig, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := New(c.cfg)
			require.Error(t, err)
			assert.Nil(t, g)
			assert.ErrorIs(t, err, c.is)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestBundledModelIsDefault(t *testing.T) {
	g := newTestGenerator(t, testModel{}, Config{Model: []byte{}})
	info := g.Info()
	assert.Equal(t, bundled.ZDim, info.ZDim)
	assert.Equal(t, [2]int{bundled.Size, bundled.Size}, [2]int{info.Width, info.Height})
	assert.Equal(t, "psi", info.PsiName)
}

// TestBundledReference loads the bundled models by reference, as
// MODEL_PATH=bundled:portrait does, and checks that a seed always gives the
// same PNG bytes, from one generator and from a fresh one.
func TestBundledReference(t *testing.T) {
	ctx := context.Background()
	req := Request{Seed: 42, Psi: PsiTruncated}
	images := map[string][]byte{}
	for _, ref := range bundled.Refs() {
		g := newTestGenerator(t, testModel{}, Config{ModelPath: ref})
		info := g.Info()
		assert.Equal(t, bundled.ZDim, info.ZDim, ref)
		assert.Equal(t, [2]int{bundled.Size, bundled.Size}, [2]int{info.Width, info.Height}, ref)
		a, err := g.Generate(ctx, req)
		require.NoError(t, err)
		b, err := g.Generate(ctx, req)
		require.NoError(t, err)
		fresh := newTestGenerator(t, testModel{}, Config{ModelPath: ref})
		c, err := fresh.Generate(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, a.Data, b.Data, ref)
		assert.Equal(t, a.Data, c.Data, ref)
		other, err := g.Generate(ctx, Request{Seed: 43, Psi: PsiTruncated})
		require.NoError(t, err)
		assert.NotEqual(t, a.Data, other.Data, ref)
		images[ref] = a.Data
	}
	assert.NotEqual(t, images[bundled.RefCPPN], images[bundled.RefPortrait])

	needRuntime(t)
	_, err := New(Config{ModelPath: "bundled:stylegan"})
	require.ErrorIs(t, err, ErrModel)
	assert.ErrorIs(t, err, bundled.ErrUnknown)
	assert.Contains(t, err.Error(), bundled.RefPortrait)
}

func TestSidecarFile(t *testing.T) {
	needRuntime(t)
	dir := t.TempDir()
	m := testModel{zName: "latent"}
	path := filepath.Join(dir, "gen.onnx")
	require.NoError(t, os.WriteFile(path, m.build(t), 0o644))

	// Without a sidecar the default name "z" is missing.
	_, err := New(Config{ModelPath: path})
	require.ErrorIs(t, err, ErrModel)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "gen.json"), []byte(`{"z":"latent","range":"0,1"}`), 0o644))
	g := newTestGenerator(t, m, Config{ModelPath: path})
	assert.Equal(t, "latent", g.Info().ZName)
	assert.Equal(t, RangeUnit, g.Info().Range)

	// Two sidecars are ambiguous.
	require.NoError(t, os.WriteFile(path+".json", []byte(`{"z":"latent"}`), 0o644))
	_, err = New(Config{ModelPath: path})
	require.ErrorIs(t, err, ErrModel)
	assert.Contains(t, err.Error(), "two sidecars")
}

func TestFixedBatchModel(t *testing.T) {
	m := testModel{batch: 1}
	g := newTestGenerator(t, m, Config{MaxBatch: 8})
	assert.True(t, g.Info().FixedBatch)
	assert.Equal(t, 1, g.MaxBatch())
	var wg sync.WaitGroup
	errs := make([]error, 6)
	pix := make([][]uint8, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := g.GenerateRGBA(context.Background(), Request{Seed: uint32(i), Psi: 1})
			if err == nil {
				pix[i] = img.Pix
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err)
		assertPixels(t, wantPixels(m, uint32(i), 1), pix[i], "fixed batch")
	}
	st := g.Stats()
	assert.Equal(t, 1, st.MaxBatch)
	assert.Equal(t, uint64(6), st.Runs)
}

func TestNaNOutput(t *testing.T) {
	m := testModel{h: 4, w: 4, nanEvery: 5}
	g := newTestGenerator(t, m, Config{})
	img, err := g.Generate(context.Background(), Request{Seed: 1})
	require.NoError(t, err)
	// 48 values, every 5th NaN: indices 0,5,...,45 = 10.
	assert.Equal(t, 10, img.NaNs)
	assert.Equal(t, uint64(10), g.Stats().NaNValues)
	raw, err := g.GenerateRGBA(context.Background(), Request{Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, uint8(0), raw.Pix[0], "NaN drawn as 0")
	assert.Equal(t, uint64(20), g.Stats().NaNValues)
	assertPixels(t, wantPixels(m, 1, 1), raw.Pix, "nan model")
}

// holdRuns makes the loop block before each run until release is closed,
// and reports each batch on started.
func holdRuns(g *Generator) (started chan []*call, release chan struct{}) {
	started = make(chan []*call, 16)
	release = make(chan struct{})
	hook := func(b []*call) {
		started <- b
		<-release
	}
	g.beforeRun.Store(&hook)
	return started, release
}

func waitQueued(t *testing.T, g *Generator, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.queue) == n
	}, 10*time.Second, time.Millisecond)
}

func TestBatchingSplitsResults(t *testing.T) {
	m := testModel{h: 4, w: 3, psiName: "psi"}
	g := newTestGenerator(t, m, Config{MaxBatch: 5, MaxWait: time.Hour})
	started, release := holdRuns(g)

	type out struct {
		pix []uint8
		err error
	}
	results := make([]chan out, 6)
	for i := range results {
		results[i] = make(chan out, 1)
		go func() {
			img, err := g.GenerateRGBA(context.Background(), Request{Seed: uint32(100 + i), Psi: 0.5 + 0.1*float32(i)})
			if err != nil {
				results[i] <- out{err: err}
				return
			}
			results[i] <- out{pix: img.Pix}
		}()
		if i == 0 {
			// The lone first call is taken at once, even with MaxWait an hour.
			first := <-started
			assert.Len(t, first, 1)
		}
	}
	waitQueued(t, g, 5)
	close(release)
	second := <-started
	assert.Len(t, second, 5, "calls queued behind a run go together, at once when the batch is full")
	for i, ch := range results {
		r := <-ch
		require.NoError(t, r.err)
		assertPixels(t, wantPixels(m, uint32(100+i), 0.5+0.1*float32(i)), r.pix, "batched call")
	}
	st := g.Stats()
	assert.Equal(t, uint64(2), st.Runs)
	assert.Equal(t, uint64(6), st.Images)
	assert.Equal(t, 5, st.MaxBatch)
}

func TestBatchCapAndWait(t *testing.T) {
	m := testModel{}
	g := newTestGenerator(t, m, Config{MaxBatch: 3, MaxWait: time.Hour})
	started, release := holdRuns(g)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := g.GenerateRGBA(context.Background(), Request{Seed: uint32(i)})
			assert.NoError(t, err)
		}()
		if i == 0 {
			<-started
		}
	}
	waitQueued(t, g, 7)
	close(release)
	// 7 queued with cap 3: 3, 3, then 1 left alone. The last one is a lone
	// call and runs without waiting for MaxWait (an hour).
	sizes := []int{len(<-started), len(<-started), len(<-started)}
	assert.Equal(t, []int{3, 3, 1}, sizes)
	wg.Wait()
	assert.Equal(t, 3, g.Stats().MaxBatch)
}

func TestMaxWaitGathers(t *testing.T) {
	g := newTestGenerator(t, testModel{}, Config{MaxBatch: 4, MaxWait: 5 * time.Second})
	started, release := holdRuns(g)
	var wg sync.WaitGroup
	call := func(seed uint32) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := g.GenerateRGBA(context.Background(), Request{Seed: seed})
			assert.NoError(t, err)
		}()
	}
	call(0)
	<-started
	call(1)
	call(2)
	waitQueued(t, g, 2)
	close(release)
	// Two queued, fewer than MaxBatch, oldest far younger than MaxWait: the
	// loop waits for more, so the next two join the same run, which starts
	// as soon as the batch is full (not after MaxWait).
	call(3)
	call(4)
	assert.Len(t, <-started, 4)
	wg.Wait()
	assert.Equal(t, uint64(2), g.Stats().Runs)
}

func TestCancelWhileWaiting(t *testing.T) {
	g := newTestGenerator(t, testModel{}, Config{MaxBatch: 8})
	started, release := holdRuns(g)

	first := make(chan error, 1)
	go func() {
		_, err := g.GenerateRGBA(context.Background(), Request{Seed: 1})
		first <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		_, err := g.GenerateRGBA(ctx, Request{Seed: 2})
		waiting <- err
	}()
	waitQueued(t, g, 1)
	cancel()
	assert.ErrorIs(t, <-waiting, context.Canceled)
	waitQueued(t, g, 0)
	close(release)
	require.NoError(t, <-first)
	assert.Equal(t, uint64(1), g.Stats().Images, "the cancelled call never ran")

	// An already-cancelled context fails before queueing.
	_, err := g.Generate(ctx, Request{Seed: 3})
	assert.ErrorIs(t, err, context.Canceled)

	// A deadline that passes while waiting.
	started2, release2 := holdRuns(g)
	go func() { _, _ = g.GenerateRGBA(context.Background(), Request{Seed: 4}) }()
	<-started2
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	_, err = g.GenerateRGBA(dctx, Request{Seed: 5})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	close(release2)
}

func TestCloseWhileWaiting(t *testing.T) {
	needRuntime(t)
	g, err := New(Config{Model: testModel{}.build(t), IntraOpThreads: 1, MaxBatch: 8})
	require.NoError(t, err)
	started, release := holdRuns(g)

	inflight := make(chan error, 1)
	go func() {
		_, err := g.GenerateRGBA(context.Background(), Request{Seed: 1})
		inflight <- err
	}()
	<-started
	waiting := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := g.Generate(context.Background(), Request{Seed: uint32(10 + i)})
			waiting <- err
		}()
	}
	waitQueued(t, g, 3)
	closed := make(chan error, 1)
	go func() { closed <- g.Close() }()
	for range 3 {
		assert.ErrorIs(t, <-waiting, ErrClosed)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a run was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	assert.NoError(t, <-inflight, "the run in flight finishes")
	assert.NoError(t, <-closed)

	_, err = g.Generate(context.Background(), Request{Seed: 1})
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, g.Close(), "Close is idempotent")
}

func TestDeviceCUDAWithoutGPU(t *testing.T) {
	needRuntime(t)
	t.Setenv("ORT_CUDA_PLUGIN", "")
	model := testModel{}.build(t)

	// The CPU build has no CUDA: a clear error, not a crash.
	_, err := New(Config{Model: model, Device: DeviceCUDA})
	require.ErrorIs(t, err, ErrDevice)
	assert.Contains(t, err.Error(), "ORT_CUDA_PLUGIN")

	// A plugin path that does not exist.
	missing := filepath.Join(t.TempDir(), "libonnxruntime_providers_cuda.so")
	_, err = New(Config{Model: model, Device: DeviceCUDA, CUDAPlugin: missing})
	require.ErrorIs(t, err, ErrDevice)
	assert.Contains(t, err.Error(), missing)

	// The same through the environment.
	t.Setenv("ORT_CUDA_PLUGIN", missing)
	_, err = New(Config{Model: model, Device: "CUDA"})
	require.ErrorIs(t, err, ErrDevice)

	// A file that is not a plugin library.
	junk := filepath.Join(t.TempDir(), "junk.so")
	require.NoError(t, os.WriteFile(junk, []byte("junk"), 0o644))
	_, err = New(Config{Model: model, Device: DeviceCUDA, CUDAPlugin: junk})
	require.ErrorIs(t, err, ErrDevice)
	assert.Contains(t, err.Error(), "registering CUDA plugin")
}

func TestDeviceAutoFallsBack(t *testing.T) {
	t.Setenv("ORT_CUDA_PLUGIN", "")
	var logs bytes.Buffer
	m := testModel{}
	g := newTestGenerator(t, m, Config{Device: DeviceAuto, Logger: slogTo(&logs)})
	assert.Equal(t, DeviceCPU, g.Device())
	assert.Contains(t, logs.String(), "CUDA unavailable, using CPU")
	img, err := g.GenerateRGBA(context.Background(), Request{Seed: 3})
	require.NoError(t, err)
	assertPixels(t, wantPixels(m, 3, 1), img.Pix, "auto on cpu")

	// cpu is the default and says so.
	g2 := newTestGenerator(t, m, Config{})
	assert.Equal(t, DeviceCPU, g2.Device())
}

func TestRuntimeAlreadyLoaded(t *testing.T) {
	needRuntime(t)
	_, err := initRuntime(LibraryPath())
	require.NoError(t, err)
	other := filepath.Join(t.TempDir(), "libonnxruntime.so")
	_, err = New(Config{Model: testModel{}.build(t), LibraryPath: other})
	require.ErrorIs(t, err, ErrRuntime)
	assert.Contains(t, err.Error(), "already loaded")
}

func slogTo(w *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
