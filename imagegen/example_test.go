package imagegen_test

import (
	"context"
	"fmt"

	"github.com/moetron/moetron/imagegen"
)

func ExampleLatent() {
	// The same values as numpy.random.RandomState(0).randn(1, 4).
	for _, v := range imagegen.Latent(0, 4) {
		fmt.Printf("%.4f ", v)
	}
	fmt.Println()
	// Output: 1.7641 0.4002 0.9787 2.2409
}

func ExampleCommands_Request() {
	cmds := imagegen.DefaultCommands()
	req, err := cmds.Request("name", "hello", "tweet:1332557345071644672")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Seed, req.Psi)

	// "rand" with the job's id as key: the same job always gets the same seed.
	a, _ := cmds.Request("rand", "", "tweet:1332557345071644672")
	b, _ := cmds.Request("rand", "", "tweet:1332557345071644672")
	fmt.Println(a.Seed == b.Seed, a.Psi)
	// Output:
	// 338222994 0.55
	// true 0.55
}

func ExampleCommands_Register() {
	cmds := imagegen.DefaultCommands()
	err := cmds.Register(imagegen.Command{Name: "calm", Psi: 0.3, Seed: imagegen.NameSeed})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := cmds.Request("calm", "42", "")
	fmt.Println(cmds.Names(), req.Seed, req.Psi)
	// Output: [calm mess name rand] 42 0.3
}

// Generate an image with the bundled model on the CPU. This example needs
// the ONNX Runtime library (make ort, or ORT_LIB).
func ExampleGenerator_Generate() {
	g, err := imagegen.New(imagegen.Config{IntraOpThreads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()

	img, err := g.Generate(context.Background(), imagegen.Request{Seed: 42, Psi: 0.55, Format: imagegen.FormatJPEG})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.ContentType, img.Width, img.Height, img.Seed, g.Device())
	// Output: image/jpeg 512 512 42 cpu
}
