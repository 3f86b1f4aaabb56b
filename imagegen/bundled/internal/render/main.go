// Command render runs an image model through ONNX Runtime (ORT_LIB) and
// writes PNGs, for looking at the bundled CPPN while tuning it and for the
// committed samples in docs/samples. Latents are imagegen.Latent(seed), the
// bot's NumPy-compatible ones. It is a development tool: the bundled package
// itself does not import imagegen.
//
//	go run ./imagegen/bundled/internal/render -out /tmp/cppn -seeds 1,2,3 -psi 0.55,1
package main

import (
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
)

func main() {
	modelPath := flag.String("model", "", "ONNX model (empty: the bundled one)")
	out := flag.String("out", "out/cppn", "output directory")
	seeds := flag.String("seeds", "1,2,3,4", "comma-separated seeds")
	psis := flag.String("psi", "0.55,1", "comma-separated psi values")
	scale := flag.Int("down", 1, "downscale factor (box filter)")
	montage := flag.Bool("montage", false, "also write montage.png: a row per seed, a column per psi")
	cols := flag.Int("cols", 0, "montage columns (0: one per psi value)")
	flag.Parse()

	data := bundled.Model()
	if *modelPath != "" {
		var err error
		if data, err = os.ReadFile(*modelPath); err != nil {
			log.Fatal(err)
		}
	}
	lib := os.Getenv("ORT_LIB")
	if lib == "" {
		log.Fatal("set ORT_LIB to the ONNX Runtime shared library")
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		log.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"z", "psi"}, []string{"image"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	var all []*image.RGBA
	for _, ss := range strings.Split(*seeds, ",") {
		seed, err := strconv.ParseUint(ss, 10, 32)
		if err != nil {
			log.Fatal(err)
		}
		z := imagegen.Latent(uint32(seed), bundled.ZDim) // numpy RandomState(seed).randn
		for _, ps := range strings.Split(*psis, ",") {
			psi, err := strconv.ParseFloat(ps, 32)
			if err != nil {
				log.Fatal(err)
			}
			img, dt := run(sess, z, float32(psi))
			if *scale > 1 {
				img = down(img, *scale)
			}
			all = append(all, img)
			name := filepath.Join(*out, fmt.Sprintf("seed%d_psi%s.png", seed, ps))
			f, err := os.Create(name)
			if err != nil {
				log.Fatal(err)
			}
			if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, img); err != nil {
				log.Fatal(err)
			}
			f.Close()
			fmt.Printf("%s (%v)\n", name, dt.Round(time.Millisecond))
		}
	}
	if *montage {
		n := *cols
		if n <= 0 {
			n = len(strings.Split(*psis, ","))
		}
		if err := writeMontage(filepath.Join(*out, "montage.png"), all, n); err != nil {
			log.Fatal(err)
		}
	}
}

func run(sess *ort.DynamicAdvancedSession, z []float32, psi float32) (*image.RGBA, time.Duration) {
	zt, err := ort.NewTensor(ort.NewShape(1, int64(len(z))), z)
	if err != nil {
		log.Fatal(err)
	}
	defer zt.Destroy()
	pt, err := ort.NewTensor(ort.NewShape(1), []float32{psi})
	if err != nil {
		log.Fatal(err)
	}
	defer pt.Destroy()
	outs := []ort.Value{nil}
	start := time.Now()
	if err := sess.Run([]ort.Value{zt, pt}, outs); err != nil {
		log.Fatal(err)
	}
	dt := time.Since(start)
	defer outs[0].Destroy()
	t := outs[0].(*ort.Tensor[float32])
	shape := t.GetShape()
	h, w := int(shape[2]), int(shape[3])
	d := t.GetData()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	n := h * w
	for i := range n {
		for c := range 3 {
			v := d[c*n+i]*127.5 + 127.5
			img.Pix[4*i+c] = uint8(min(255, max(0, v+0.5)))
		}
		img.Pix[4*i+3] = 255
	}
	return img, dt
}

func down(src *image.RGBA, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			for c := range 4 {
				s := 0
				for dy := range k {
					for dx := range k {
						s += int(src.Pix[(y*k+dy)*src.Stride+(x*k+dx)*4+c])
					}
				}
				dst.Pix[y*dst.Stride+x*4+c] = uint8((s + k*k/2) / (k * k))
			}
		}
	}
	return dst
}

func writeMontage(name string, imgs []*image.RGBA, cols int) error {
	b := imgs[0].Bounds()
	rows := (len(imgs) + cols - 1) / cols
	m := image.NewRGBA(image.Rect(0, 0, cols*b.Dx(), rows*b.Dy()))
	for i, img := range imgs {
		r := b.Add(image.Pt((i%cols)*b.Dx(), (i/cols)*b.Dy()))
		draw.Draw(m, r, img, b.Min, draw.Src)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, m)
}
