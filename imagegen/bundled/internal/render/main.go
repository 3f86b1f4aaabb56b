// Command render runs an image model through ONNX Runtime (ORT_LIB) and
// writes PNGs, for looking at the bundled models while tuning them and for
// the committed samples in docs/samples. Latents are imagegen.Latent(seed),
// the bot's NumPy-compatible ones. It is a development tool: the bundled
// package itself does not import imagegen.
//
//	go run ./imagegen/bundled/internal/render -out /tmp/cppn -seeds 1,2,3 -psi 0.55,1
//	go run ./imagegen/bundled/internal/render -model bundled:portrait -seeds 1,2,3,4,5,6,7,8 \
//	    -psi 0.55 -down 2 -sheet docs/samples/portraits.png -cols 4 -prefix portrait -out docs/samples
package main

import (
	"flag"
	"fmt"
	"image"
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
	"github.com/moetron/moetron/imagegen/bundled/internal/sample"
)

func main() {
	modelPath := flag.String("model", bundled.RefCPPN, "ONNX model file or bundled reference (bundled:cppn, bundled:portrait)")
	out := flag.String("out", "out/cppn", "output directory of the single images (empty: none)")
	prefix := flag.String("prefix", "seed", "file name prefix of the single images: PREFIX-seedS-psiP.png")
	seeds := flag.String("seeds", "1,2,3,4", "comma-separated seeds")
	psis := flag.String("psi", "0.55,1", "comma-separated psi values")
	scale := flag.Int("down", 1, "downscale factor (box filter)")
	sheet := flag.String("sheet", "", "also write a contact sheet here: a row per seed, a column per psi, or -cols")
	cols := flag.Int("cols", 0, "contact sheet columns (0: one per psi value)")
	flag.Parse()

	var data []byte
	var err error
	if bundled.IsRef(*modelPath) {
		data, err = bundled.Open(*modelPath)
	} else {
		data, err = os.ReadFile(*modelPath)
	}
	if err != nil {
		log.Fatal(err)
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
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			log.Fatal(err)
		}
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
			start := time.Now()
			img, err := sample.Run(sess, z, float32(psi))
			if err != nil {
				log.Fatal(err)
			}
			dt := time.Since(start)
			img = sample.Down(img, *scale)
			all = append(all, img)
			if *out == "" {
				continue
			}
			name := filepath.Join(*out, fmt.Sprintf("%s-seed%d-psi%s.png", *prefix, seed, ps))
			if err := write(name, img); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s (%v)\n", name, dt.Round(time.Millisecond))
		}
	}
	if *sheet != "" {
		n := *cols
		if n <= 0 {
			n = len(strings.Split(*psis, ","))
		}
		if err := write(*sheet, sample.Sheet(all, n)); err != nil {
			log.Fatal(err)
		}
		fmt.Println(*sheet)
	}
}

func write(name string, img image.Image) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
