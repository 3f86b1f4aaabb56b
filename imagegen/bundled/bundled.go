package bundled

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
)

//go:generate go run ./gen -dir .

// The models' shape, also recorded in their metadata. Both bundled models
// share it.
const (
	ZDim = 128 // latent size: input z is [N, ZDim]
	Size = 512 // output height and width: image is [N, 3, Size, Size]
)

// The embedded models' file names in this directory.
const (
	FileName         = "cppn.onnx"     // the CPPN (Model)
	PortraitFileName = "portrait.onnx" // the portrait (PortraitModel)
)

// Model references: where a model file path is accepted (MODEL_PATH, a
// command's model in the commands file, imagegen.Config.ModelPath), a
// string starting with Prefix names a bundled model instead of a file.
const (
	Prefix      = "bundled:"
	RefCPPN     = Prefix + "cppn"     // abstract colour fields (moemess)
	RefPortrait = Prefix + "portrait" // a character portrait (moerand, moename)
)

// ErrUnknown is wrapped by Open's error for a reference to no bundled model.
var ErrUnknown = errors.New("bundled: no such bundled model")

var (
	//go:embed cppn.onnx
	cppnModel []byte
	//go:embed portrait.onnx
	portraitModel []byte
)

// Model returns the bundled CPPN. The slice is a fresh copy, so a caller
// may keep or change it.
func Model() []byte { return append([]byte(nil), cppnModel...) }

// PortraitModel returns the bundled portrait model, a fresh copy.
func PortraitModel() []byte { return append([]byte(nil), portraitModel...) }

// Refs lists the bundled model references.
func Refs() []string { return []string{RefCPPN, RefPortrait} }

// IsRef reports whether s is a bundled model reference (starts with
// Prefix), known or not.
func IsRef(s string) bool { return strings.HasPrefix(s, Prefix) }

// Open returns a fresh copy of the model that ref names. An unknown name
// (or a string without Prefix) is an error wrapping ErrUnknown that lists
// the known references.
func Open(ref string) ([]byte, error) {
	switch ref {
	case RefCPPN:
		return Model(), nil
	case RefPortrait:
		return PortraitModel(), nil
	}
	return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknown, ref, strings.Join(Refs(), ", "))
}
