// Command gpubench measures imagegen on a GPU (or, for a smoke test, the
// CPU): which execution provider runs the model, whether its output matches
// the CPU and the fp16 export, throughput at fixed batch sizes and under
// dynamic batching through the public imagegen API (PNG encoding included)
// and through a bare ONNX Runtime session, batch-1 latency, and the batch
// cap. PyTorch's figures come from torch_bench.py (-torch) and go in the
// same table. bench/gpu/run.sh runs the whole thing; see bench/gpu/README.md.
//
// Exit status: 0 when every correctness check passed (performance targets
// are reported, not enforced), 1 on a failed check, 2 on an error.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/moetron/moetron/imagegen"
)

type options struct {
	model, model16, device, torch, elems, work, out string
	batches                                         []int
	calls, images, callers, threads, seeds, warm    int
	tol, minPSNR                                    float64
	maxLevels                                       int
}

func parseFlags() options {
	var o options
	var batches string
	flag.StringVar(&o.model, "model", "", "fp32 ONNX model (required)")
	flag.StringVar(&o.model16, "model16", "", "fp16 ONNX model (float32 I/O); empty skips fp16")
	flag.StringVar(&o.device, "device", "cuda", "cuda or cpu")
	flag.StringVar(&o.torch, "torch", "", "torch_bench.py result JSON; empty: no PyTorch rows")
	flag.StringVar(&o.elems, "elems", "", "maxelems.py result JSON; empty: no independent batch-cap check")
	flag.StringVar(&o.work, "work", os.TempDir(), "scratch directory (ONNX Runtime profile)")
	flag.StringVar(&o.out, "json", "", "write all results here as JSON")
	flag.StringVar(&batches, "batches", "1,8,32", "fixed batch sizes")
	flag.IntVar(&o.calls, "calls", 200, "latency calls")
	flag.IntVar(&o.images, "images", 640, "images per throughput measurement")
	flag.IntVar(&o.callers, "callers", 64, "concurrent callers for the dynamic batching row")
	flag.IntVar(&o.threads, "threads", 0, "ONNX Runtime intra-op threads (0: ONNX Runtime's choice)")
	flag.IntVar(&o.seeds, "seeds", 4, "images compared in the correctness checks")
	flag.IntVar(&o.warm, "warm", 3, "warm-up runs before each timing")
	flag.Float64Var(&o.tol, "tol", 1e-2, "max |device fp32 - CPU fp32| over [-1,1]")
	flag.Float64Var(&o.minPSNR, "min-psnr", 30, "min PSNR (dB) of fp16 against fp32")
	flag.IntVar(&o.maxLevels, "max-levels", 2, "max 8-bit level difference, imagegen device image vs CPU float output")
	flag.Parse()
	for _, f := range strings.Split(batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-batches: bad size %q", f))
		}
		o.batches = append(o.batches, n)
	}
	if o.model == "" {
		fatal(fmt.Errorf("-model is required"))
	}
	return o
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gpubench:", err)
	os.Exit(2)
}

// results is everything the run measured, for -json.
type results struct {
	Device    string                `json:"device"`
	Placement map[string]int        `json:"placement"`
	Checks    map[string]string     `json:"checks"`
	Failed    []string              `json:"failed"`
	Rows      []Row                 `json:"rows"`
	LatencyMS map[string][2]float64 `json:"latency_ms"` // p50, p99
	Cap       map[string]int        `json:"cap"`
}

// latents returns the z and psi of n images, seeds from+0..from+n-1, psi
// alternating 0.55 and 1.0.
func latents(zdim, from, n int) (z, psi []float32) {
	for i := range n {
		z = append(z, imagegen.Latent(uint32(from+i), zdim)...)
		psi = append(psi, [2]float32{imagegen.PsiTruncated, imagegen.PsiNone}[i%2])
	}
	return z, psi
}

func readF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: not float32 data", path)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func main() {
	o := parseFlags()
	res := results{Checks: map[string]string{}, LatencyMS: map[string][2]float64{}, Cap: map[string]int{}}
	check := func(name string, ok bool, detail string) {
		v := "PASS"
		if !ok {
			v = "FAIL"
			res.Failed = append(res.Failed, name)
		}
		res.Checks[name] = v + ": " + detail
		fmt.Printf("check %-34s %s  %s\n", name, v, detail)
	}
	must := func(err error) {
		if err != nil {
			fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	base := imagegen.Config{Device: o.device, IntraOpThreads: o.threads, Logger: log}
	newGen := func(model string, maxBatch int) *imagegen.Generator {
		c := base
		c.ModelPath, c.MaxBatch = model, maxBatch
		g, err := imagegen.New(c)
		must(err)
		return g
	}

	// 1. The first CUDA generator also registers the CUDA plugin, which the
	// raw sessions below rely on.
	g1 := newGen(o.model, 1)
	defer g1.Close()
	info := g1.Info()
	res.Device = g1.Device()
	fmt.Printf("imagegen device %q (asked %q); model %dx%d zdim %d; caps: size-derived %d, metadata %d\n",
		g1.Device(), o.device, info.Width, info.Height, info.ZDim, info.SizeMaxBatch, info.MetaMaxBatch)
	plugin := os.Getenv("ORT_CUDA_PLUGIN")
	spec := func(model, device string) sessionSpec {
		return sessionSpec{Model: model, Device: device, Plugin: plugin, Threads: o.threads, ZDim: info.ZDim, H: info.Height, W: info.Width}
	}
	z1, psi1 := latents(info.ZDim, 0, 1)
	pl, err := placement(spec(o.model, o.device), o.work, z1, psi1)
	must(err)
	res.Placement = pl
	fmt.Printf("execution providers that ran the fp32 graph's nodes (ORT profile, batch 1): %s\n", pl)
	if o.device == "cuda" {
		ok := false
		for k, n := range pl {
			ok = ok || (strings.Contains(strings.ToUpper(k), "CUDA") && n > 0)
		}
		check("nodes on CUDA", ok, pl.String())
	}

	// 2. Correctness.
	dev32, err := newRaw(spec(o.model, o.device))
	must(err)
	cpu32 := dev32
	if o.device != "cpu" {
		cpu32, err = newRaw(spec(o.model, "cpu"))
		must(err)
	} else {
		fmt.Println("note: device is cpu, so the device/CPU comparison compares the CPU with itself")
	}
	z, psi := latents(info.ZDim, 0, o.seeds)
	cpuOut, err := cpu32.generate(z, psi)
	must(err)
	devOut, err := dev32.generate(z, psi)
	must(err)
	d, err := Compare(cpuOut, devOut)
	must(err)
	check("fp32 device vs CPU", d.Within(o.tol), fmt.Sprintf("%v; need max|d| <= %g", d, o.tol))
	if cpu32 != dev32 {
		cpu32.Close()
	}
	plane := 3 * info.Height * info.Width
	worst := 0
	for i := range o.seeds {
		img, err := g1.GenerateRGBA(context.Background(), imagegen.Request{Seed: uint32(i), Psi: psi[i]})
		must(err)
		l, err := LevelDiff(img.Pix, ToRGBA(cpuOut[i*plane:(i+1)*plane], info.Height, info.Width))
		must(err)
		worst = max(worst, l)
	}
	check("imagegen RGBA vs CPU float", worst <= o.maxLevels, fmt.Sprintf("max %d levels over %d images; need <= %d", worst, o.seeds, o.maxLevels))
	var dev16 *rawSession
	if o.model16 != "" {
		dev16, err = newRaw(spec(o.model16, o.device))
		must(err)
		out16, err := dev16.generate(z, psi)
		must(err)
		d, err := Compare(devOut, out16)
		must(err)
		check("fp16 vs fp32 (device)", d.AtLeast(o.minPSNR), fmt.Sprintf("%v; need PSNR >= %g dB", d, o.minPSNR))
	}
	var torch *TorchResult
	if o.torch != "" {
		torch, err = readTorch(o.torch)
		must(err)
		if torch.Ref != "" && torch.RefN > 0 {
			ref, err := readF32(torch.Ref)
			must(err)
			n := min(torch.RefN, o.seeds)
			d, err := Compare(ref[:n*plane], devOut[:n*plane])
			must(err)
			check("PyTorch fp32 vs ONNX device fp32", d.Within(o.tol), fmt.Sprintf("%v; same weights expected, need max|d| <= %g", d, o.tol))
		}
		res.Rows = append(res.Rows, torch.Rows...)
	}

	// 3. Latency at batch 1.
	lat := func(name string, f func() ([]time.Duration, error)) float64 {
		ds, err := f()
		must(err)
		p50, p99 := ms(Percentile(ds, 0.5)), ms(Percentile(ds, 0.99))
		res.LatencyMS[name] = [2]float64{p50, p99}
		fmt.Printf("latency %-28s p50 %7.2f ms  p99 %7.2f ms  (%d calls)\n", name, p50, p99, len(ds))
		return p50
	}
	lat("raw session fp32", func() ([]time.Duration, error) { return dev32.latencies(z1, psi1, o.warm, o.calls) })
	p50 := lat("imagegen GenerateRGBA fp32", func() ([]time.Duration, error) { return e2eLatency(g1, o.warm, o.calls, false) })
	lat("imagegen Generate(PNG) fp32", func() ([]time.Duration, error) { return e2eLatency(g1, o.warm, o.calls, true) })
	g1.Close()

	// 4. Batch cap: imagegen's, asked for more than the callers need, and
	// the model's own limit from its largest intermediate tensor.
	gcap := newGen(o.model, o.callers)
	capB := gcap.MaxBatch()
	gcap.Close()
	res.Cap["imagegen"] = capB
	res.Cap["size_derived"] = info.SizeMaxBatch
	fmt.Printf("batch cap: imagegen.MaxBatch() = %d when Config.MaxBatch = %d (size-derived %d)\n", capB, o.callers, info.SizeMaxBatch)
	if o.elems != "" {
		safe, unknown, detail, err := readElems(o.elems)
		must(err)
		res.Cap["model_safe"] = safe
		if unknown > 0 {
			// Shape inference left tensors unresolved: the limit is a lower bound
			// on the largest tensor only, so it is printed, not checked.
			fmt.Printf("note: cap %d; model limit from shape inference %d is incomplete (%s)\n", capB, safe, detail)
		} else {
			check("imagegen cap <= 2^31-element limit", capB <= safe, fmt.Sprintf("cap %d, model allows %d (%s)", capB, safe, detail))
		}
	}
	if info.Height > 0 && info.Width > 0 {
		check("size cap keeps 128ch x H x W < 2^31", info.SizeMaxBatch > 0 && int64(info.SizeMaxBatch)*128*int64(info.Height)*int64(info.Width) < 1<<31,
			fmt.Sprintf("%d x 128 x %d x %d", info.SizeMaxBatch, info.Height, info.Width))
	}

	// 5. Raw session throughput, then through imagegen.
	type prec struct {
		name, model string
		raw         *rawSession
	}
	precs := []prec{{"fp32", o.model, dev32}}
	if dev16 != nil {
		precs = append(precs, prec{"fp16", o.model16, dev16})
	}
	for _, p := range precs {
		bs := append([]int(nil), o.batches...)
		if capB > bs[len(bs)-1] && capB <= 128 {
			bs = append(bs, capB) // exercises the largest batch imagegen will form
		}
		for _, b := range bs {
			zb, pb := latents(info.ZDim, 100, b)
			ips, err := p.raw.throughput(zb, pb, o.warm, o.images)
			if err != nil {
				check(fmt.Sprintf("raw %s batch %d runs", p.name, b), false, err.Error())
				continue
			}
			res.Rows = append(res.Rows, Row{What: "raw " + p.name, Batch: b, IPS: ips})
			fmt.Printf("raw %s batch %d: %.1f img/s\n", p.name, b, ips)
		}
		p.raw.Close()
	}
	for _, p := range precs {
		for _, b := range o.batches {
			g := newGen(p.model, b)
			r, err := e2eThroughput(g, max(2, 2*b), o.images)
			g.Close()
			must(err)
			res.Rows = append(res.Rows, Row{What: "imagegen " + p.name, Batch: b, IPS: r.IPS, MeanBatch: r.MeanBatch})
			fmt.Printf("imagegen %s batch %d (%d callers): %.1f img/s, mean batch %.1f\n", p.name, b, max(2, 2*b), r.IPS, r.MeanBatch)
		}
		g := newGen(p.model, o.callers)
		r, err := e2eThroughput(g, o.callers, o.images)
		g.Close()
		must(err)
		res.Rows = append(res.Rows, Row{What: "imagegen " + p.name, Batch: o.callers, Dynamic: true, IPS: r.IPS, MeanBatch: r.MeanBatch})
		fmt.Printf("imagegen %s dynamic, %d callers: %.1f img/s, mean batch %.1f, largest %d, cap %d\n", p.name, o.callers, r.IPS, r.MeanBatch, r.MaxBatch, r.Cap)
		check("batches within cap ("+p.name+")", r.MaxBatch <= r.Cap && r.MaxBatch >= 1, fmt.Sprintf("largest batch %d, cap %d", r.MaxBatch, r.Cap))
	}

	// 6. Table and targets.
	fmt.Printf("\nthroughput, %dx%d, imagegen device %s", info.Width, info.Height, res.Device)
	if torch != nil {
		fmt.Printf(", PyTorch %s on %s %s", torch.Torch, torch.Device, torch.GPU)
		if torch.Skip != "" {
			fmt.Printf(" (%s)", torch.Skip)
		}
	}
	fmt.Println("\nimagegen rows: Generate with PNG (BestSpeed) encoding, 2x batch callers; dyn: dynamic batching")
	PrintTable(os.Stdout, res.Rows)
	fmt.Println()
	for _, t := range Targets(res.Rows, p50) {
		fmt.Printf("target %-40s %-7s %s\n", t.Name, t.Verdict(), t.Value)
	}
	if o.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		must(os.WriteFile(o.out, b, 0o644))
	}
	if len(res.Failed) > 0 {
		fmt.Printf("FAILED checks: %s\n", strings.Join(res.Failed, "; "))
		os.Exit(1)
	}
	fmt.Println("all correctness checks passed")
}
