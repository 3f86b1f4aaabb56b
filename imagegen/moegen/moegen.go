// Package moegen generates one image the way the bot's worker does, without
// X or a queue: from a command text ("moename sakura") through the command
// table (COMMANDS_FILE or the default), or from a seed and psi.
// examples/moegen is its command line:
//
//	go run ./examples/moegen -o sakura.png moename sakura
//	go run ./examples/moegen -seed 42 -psi 0.7 -o 42.png
//
// The model is the one the worker would use (commands.Command.ModelFor):
// the command's, the bundled portrait for moerand and moename and the
// bundled CPPN for moemess, or -model-path (MODEL_PATH), a file or
// bundled:portrait / bundled:cppn. With -seed it is -model-path, else the
// portrait.
//
// A random-seed command (moerand) draws its seed from the job id, as the
// worker does: give -job tweet:<id> to get the image the bot sent for that
// post.
package moegen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/imagegen"
)

// ErrUsage is returned for a command line that does not parse.
var ErrUsage = errors.New("moegen: bad command line")

// Request resolves a command text to the request the worker would make for
// job id jobID (the seed key of random commands; "" draws a random seed).
func Request(set *commands.Set, text, jobID string) (imagegen.Request, commands.Command, error) {
	m, ok := set.Table().Match(text)
	if !ok {
		return imagegen.Request{}, commands.Command{}, fmt.Errorf("moegen: no command keyword in %q (known: %s)", text, strings.Join(set.Names(), ", "))
	}
	c, _ := set.Lookup(m.Command)
	req, err := set.Request(m.Command, m.Args, jobID)
	return req, c, err
}

// Run runs the command line args with the environment getenv: the image
// goes to -o (or stdout with -o -), the summary to info.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, info io.Writer) error {
	fs := flag.NewFlagSet("moegen", flag.ContinueOnError)
	fs.SetOutput(info)
	out := fs.String("o", "moegen.png", "output file, or - for stdout")
	seed := fs.Int64("seed", -1, "seed (instead of a command text)")
	psi := fs.Float64("psi", imagegen.PsiTruncated, "truncation psi with -seed")
	job := fs.String("job", "", "job id of a random-seed command (tweet:<id> or dm:<id>); empty draws a random seed")
	format := fs.String("format", "png", "png or jpeg")
	cmdFile := fs.String("commands-file", getenv(commands.EnvFile), "commands file (COMMANDS_FILE)")
	model := fs.String("model-path", getenv("MODEL_PATH"), "ONNX model file or bundled:portrait|bundled:cppn (MODEL_PATH; default the command's bundled model, with -seed bundled:portrait)")
	lib := fs.String("ort-lib", getenv("ORT_LIB"), "ONNX Runtime library (ORT_LIB)")
	fs.Usage = func() {
		fmt.Fprintln(info, "usage: moegen [flags] COMMAND TEXT   (e.g. moename sakura)\n       moegen [flags] -seed N [-psi P]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	text := strings.Join(fs.Args(), " ")
	var req imagegen.Request
	modelPath := *model
	what := "seed"
	switch {
	case *seed >= 0 && text == "":
		if *seed > 1<<32-1 {
			return fmt.Errorf("moegen: -seed %d is above 4294967295", *seed)
		}
		req = imagegen.Request{Seed: uint32(*seed), Psi: float32(*psi)}
		modelPath = commands.Command{}.ModelFor(modelPath)
	case *seed < 0 && text != "":
		set, err := commands.Load(*cmdFile)
		if err != nil {
			return err
		}
		var c commands.Command
		if req, c, err = Request(set, text, *job); err != nil {
			return err
		}
		modelPath = c.ModelFor(modelPath) // as the worker chooses
		what = "command " + c.Name
	default:
		fs.Usage()
		return ErrUsage
	}
	req.Format = imagegen.Format(*format)
	cfg := imagegen.Config{ModelPath: modelPath, LibraryPath: *lib, Device: imagegen.DeviceCPU}
	start := time.Now()
	g, err := imagegen.New(cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	loaded := time.Since(start)
	start = time.Now()
	img, err := g.Generate(ctx, req)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if *out == "-" {
		_, err = stdout.Write(img.Data)
	} else {
		err = os.WriteFile(*out, img.Data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("moegen: %w", err)
	}
	fmt.Fprintf(info, "%s seed=%d psi=%g model=%s size=%dx%d bytes=%d load=%s generate=%s out=%s\n",
		what, img.Seed, img.Psi, modelPath, img.Width, img.Height, len(img.Data),
		loaded.Round(time.Millisecond), took.Round(time.Millisecond), *out)
	return nil
}
