package imagegen

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/imagegen/bundled"
	ort "github.com/yalue/onnxruntime_go"
)

// Devices for Config.Device.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
	DeviceAuto = "auto"
)

// Defaults for zero Config fields.
const (
	DefaultMaxBatch = 32
	DefaultMaxWait  = 2 * time.Millisecond
)

// Config configures a Generator. The zero value of every field has a
// meaning, given with the field; only a model is required.
type Config struct {
	// ModelPath is the ONNX model file. A sidecar JSON next to it
	// (model.json for model.onnx, or model.onnx.json) overrides the
	// model's metadata. A path starting with "bundled:" names a bundled
	// model instead (bundled.RefPortrait, bundled.RefCPPN); to load a
	// file whose name starts so, write it as ./bundled:....
	ModelPath string
	// Model holds the model bytes when ModelPath is empty. When both are
	// empty the bundled CPPN (package imagegen/bundled) is used. Sidecar
	// optionally holds sidecar JSON for Model.
	Model   []byte
	Sidecar []byte

	// LibraryPath is the ONNX Runtime shared library; empty means
	// LibraryPath(): ORT_LIB, else DefaultLibraryPath().
	LibraryPath string

	// Device is DeviceCPU (empty means cpu), DeviceCUDA or DeviceAuto
	// (CUDA when it loads, else CPU; the choice is logged and reported by
	// Generator.Device).
	Device string
	// CUDAPlugin is the CUDA plugin execution provider library
	// (libonnxruntime_providers_cuda.so of the plugin build); empty means
	// the ORT_CUDA_PLUGIN environment variable; when both are empty, CUDA
	// is appended the classic way, which needs an official GPU build of
	// ONNX Runtime.
	CUDAPlugin string

	// IntraOpThreads is ONNX Runtime's intra-op thread count; 0 lets ONNX
	// Runtime choose (one per core).
	IntraOpThreads int

	// MaxBatch caps how many calls share one session run; 0 means
	// DefaultMaxBatch. The effective cap is also bounded by the model's
	// moetron.max_batch and by the size-derived cap (see ModelInfo).
	MaxBatch int
	// MaxWait is how long a forming batch waits for more calls, counted
	// from the arrival of its oldest call; 0 means DefaultMaxWait, a
	// negative value means never wait.
	MaxWait time.Duration

	// EncodeWorkers bounds how many images are converted and encoded at
	// once; 0 means GOMAXPROCS.
	EncodeWorkers int
	// PNGLevel is the PNG compression level; the zero value is PNGFast.
	PNGLevel PNGLevel
	// JPEGQuality is the default JPEG quality (1..100); 0 means
	// DefaultJPEGQuality.
	JPEGQuality int

	// Logger receives the few informational records (device choice,
	// batching mode); nil discards them.
	Logger *slog.Logger
}

// Request asks for one image.
type Request struct {
	Seed uint32
	// Psi is the truncation psi in (0, 2]; the zero value means 1.0 (no
	// truncation).
	Psi float32
	// Format is FormatPNG (also the empty value) or FormatJPEG.
	Format Format
	// JPEGQuality overrides Config.JPEGQuality when not zero.
	JPEGQuality int
}

// Image is a generated, encoded image.
type Image struct {
	Data          []byte
	ContentType   string
	Format        Format
	Seed          uint32
	Psi           float32
	Width, Height int
	// NaNs counts output values that were NaN (drawn as 0).
	NaNs int
}

// Stats are cumulative counters of a Generator.
type Stats struct {
	Runs      uint64 // session runs
	Images    uint64 // images produced by the runs
	NaNValues uint64 // NaN output values clamped to 0
	MaxBatch  int    // largest batch run so far
}

// Generator generates images from seeds with one ONNX Runtime session. It
// is safe for concurrent use; concurrent calls are batched.
type Generator struct {
	info     ModelInfo
	device   string
	maxBatch int
	maxWait  time.Duration
	png      PNGLevel
	jpegQ    int
	log      *slog.Logger
	session  *ort.DynamicAdvancedSession
	encSem   chan struct{}
	pngPool  pngBuffers

	mu      sync.Mutex
	queue   []*call
	closed  bool
	wake    chan struct{}
	stopped chan struct{}

	runs, images, nans atomic.Uint64
	largest            atomic.Int64

	// now is the clock; tests may replace it before the first call.
	now func() time.Time
	// beforeRun, when set, is called by the loop with each batch before it
	// runs (tests use it to hold a run in flight).
	beforeRun atomic.Pointer[func([]*call)]
}

// New loads the model, checks it against the model contract, creates the
// session and starts the batching loop. Close releases them.
func New(cfg Config) (*Generator, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	device := strings.ToLower(cfg.Device)
	if device == "" {
		device = DeviceCPU
	}
	if device != DeviceCPU && device != DeviceCUDA && device != DeviceAuto {
		return nil, fmt.Errorf("%w: Device %q: want cpu, cuda or auto", ErrConfig, cfg.Device)
	}
	if cfg.MaxBatch < 0 || cfg.IntraOpThreads < 0 || cfg.EncodeWorkers < 0 {
		return nil, fmt.Errorf("%w: MaxBatch, IntraOpThreads and EncodeWorkers must not be negative", ErrConfig)
	}
	if cfg.JPEGQuality < 0 || cfg.JPEGQuality > 100 {
		return nil, fmt.Errorf("%w: JPEGQuality %d, want 1..100 (0 for the default)", ErrConfig, cfg.JPEGQuality)
	}
	if _, err := cfg.PNGLevel.level(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	model, sidecar, err := loadModelBytes(cfg)
	if err != nil {
		return nil, err
	}
	lib := cfg.LibraryPath
	if lib == "" {
		lib = LibraryPath()
	}
	version, err := initRuntime(lib)
	if err != nil {
		return nil, err
	}
	info, err := inspectModel(model, sidecar)
	if err != nil {
		return nil, err
	}

	g := &Generator{
		info:    *info,
		maxWait: cfg.MaxWait,
		png:     cfg.PNGLevel,
		jpegQ:   cfg.JPEGQuality,
		log:     log,
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		now:     time.Now,
	}
	if g.maxWait == 0 {
		g.maxWait = DefaultMaxWait
	}
	if g.jpegQ == 0 {
		g.jpegQ = DefaultJPEGQuality
	}
	g.maxBatch = effectiveBatch(cfg.MaxBatch, info)
	workers := cfg.EncodeWorkers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g.encSem = make(chan struct{}, workers)

	g.session, g.device, err = newSession(model, info, device, cfg, log)
	if err != nil {
		return nil, err
	}
	log.Info("imagegen: model loaded", "ort", version, "device", g.device,
		"zdim", info.ZDim, "width", info.Width, "height", info.Height,
		"psi_input", info.PsiName != "", "max_batch", g.maxBatch, "fixed_batch", info.FixedBatch)
	if info.FixedBatch {
		log.Info("imagegen: model batch dimension is fixed at 1; batching disabled")
	}
	go g.loop()
	return g, nil
}

// effectiveBatch is the smallest of the configured cap, the model's
// moetron.max_batch, the size-derived cap and, for fixed-batch models, 1.
func effectiveBatch(configured int, info *ModelInfo) int {
	n := configured
	if n == 0 {
		n = DefaultMaxBatch
	}
	if info.MetaMaxBatch > 0 {
		n = min(n, info.MetaMaxBatch)
	}
	if info.SizeMaxBatch > 0 {
		n = min(n, info.SizeMaxBatch)
	}
	if info.FixedBatch {
		n = 1
	}
	return n
}

func loadModelBytes(cfg Config) (model, sidecar []byte, err error) {
	if cfg.ModelPath == "" {
		if len(cfg.Model) == 0 {
			return bundled.Model(), cfg.Sidecar, nil
		}
		return cfg.Model, cfg.Sidecar, nil
	}
	if bundled.IsRef(cfg.ModelPath) {
		model, err := bundled.Open(cfg.ModelPath)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrModel, err)
		}
		return model, cfg.Sidecar, nil
	}
	model, err = os.ReadFile(cfg.ModelPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: reading model: %v", ErrModel, err)
	}
	if len(cfg.Sidecar) > 0 {
		return model, cfg.Sidecar, nil
	}
	var found []string
	for _, p := range []string{strings.TrimSuffix(cfg.ModelPath, filepath.Ext(cfg.ModelPath)) + ".json", cfg.ModelPath + ".json"} {
		if p == cfg.ModelPath {
			continue
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: reading sidecar: %v", ErrModel, err)
		}
		if len(found) == 0 {
			sidecar = b
		}
		found = append(found, p)
	}
	if len(found) > 1 {
		return nil, nil, fmt.Errorf("%w: two sidecars, %q and %q: keep one", ErrModel, found[0], found[1])
	}
	return model, sidecar, nil
}

// inspectModel reads the metadata and the model's inputs and outputs and
// reconciles them.
func inspectModel(model, sidecar []byte) (*ModelInfo, error) {
	meta, err := onnxMetadataProps(model)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	for k := range meta {
		if !strings.HasPrefix(k, metaPrefix) {
			delete(meta, k)
		}
	}
	if len(sidecar) > 0 {
		over, err := parseSidecar(sidecar)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrModel, err)
		}
		for k, v := range over {
			meta[k] = v
		}
	}
	inputs, outputs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, fmt.Errorf("%w: ONNX Runtime cannot load it: %v", ErrModel, err)
	}
	info, err := resolveModel(meta, inputs, outputs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	return info, nil
}

// Info describes the loaded model.
func (g *Generator) Info() ModelInfo { return g.info }

// Device reports the execution provider in use: "cpu" or "cuda".
func (g *Generator) Device() string { return g.device }

// MaxBatch reports the effective batch cap (1 when batching is off).
func (g *Generator) MaxBatch() int { return g.maxBatch }

// Stats returns the cumulative counters.
func (g *Generator) Stats() Stats {
	return Stats{Runs: g.runs.Load(), Images: g.images.Load(), NaNValues: g.nans.Load(), MaxBatch: int(g.largest.Load())}
}

// Generate renders req and encodes it. Concurrent calls share session runs
// (see the package doc); conversion and encoding run on a pool of
// Config.EncodeWorkers.
func (g *Generator) Generate(ctx context.Context, req Request) (*Image, error) {
	format := req.Format
	if format == "" {
		format = FormatPNG
	}
	quality := req.JPEGQuality
	if quality == 0 {
		quality = g.jpegQ
	}
	if format != FormatPNG && format != FormatJPEG {
		return nil, fmt.Errorf("%w: unknown format %q (want png or jpeg)", ErrBadRequest, req.Format)
	}
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("%w: JPEG quality %d, want 1..100", ErrBadRequest, quality)
	}
	var out *Image
	err := g.generate(ctx, req, func(img *image.RGBA, nans int, psi float32) error {
		data, err := encodeWith(&g.pngPool, img, format, g.png, quality)
		if err != nil {
			return err
		}
		b := img.Bounds()
		out = &Image{Data: data, ContentType: format.ContentType(), Format: format, Seed: req.Seed, Psi: psi,
			Width: b.Dx(), Height: b.Dy(), NaNs: nans}
		return nil
	})
	return out, err
}

// GenerateRGBA renders req without encoding it (req.Format is ignored).
// NaN values are drawn as 0 and counted in Stats.
func (g *Generator) GenerateRGBA(ctx context.Context, req Request) (*image.RGBA, error) {
	var out *image.RGBA
	err := g.generate(ctx, req, func(img *image.RGBA, _ int, _ float32) error {
		out = img
		return nil
	})
	return out, err
}

func (g *Generator) generate(ctx context.Context, req Request, finish func(*image.RGBA, int, float32) error) error {
	psi := req.Psi
	if psi == 0 {
		psi = 1
	}
	if err := checkPsi(psi); err != nil {
		return err
	}
	res, err := g.infer(ctx, req.Seed, psi)
	if err != nil {
		return err
	}
	select {
	case g.encSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.encSem }()
	img, nans := toRGBA(res.data, res.h, res.w, g.info.Layout, g.info.Range)
	if nans > 0 {
		g.nans.Add(uint64(nans))
	}
	return finish(img, nans, psi)
}

func errBadPsi(psi float32) error {
	return fmt.Errorf("%w: psi %v, want a value in (0, 2]", ErrBadRequest, psi)
}
