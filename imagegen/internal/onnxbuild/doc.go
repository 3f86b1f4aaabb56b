// Package onnxbuild writes ONNX models (serialized ModelProto bytes) from Go.
//
// It is a small, op-agnostic graph builder: a node is an operator type, input
// names, output names and attributes, so any operator of the default ONNX
// domain can be used. The package exists so that moetron can ship a model that
// is reproducible from Go source (the bundled CPPN) and so that tests can make
// tiny models with known answers without Python.
//
// Usage:
//
//	g := onnxbuild.NewGraph("double")
//	g.Input("x", onnxbuild.Float, "N", 4)
//	g.Output("y", onnxbuild.Float, "N", 4)
//	g.FloatInit("two", []int64{1}, []float32{2})
//	g.Node("Mul", []string{"x", "two"}, []string{"y"})
//	b, err := (&onnxbuild.Model{Graph: g}).Marshal()
//
// Choices:
//   - The encoding is written by hand with google.golang.org/protobuf's
//     encoding/protowire, following the field numbers of onnx.proto; no
//     generated code or .proto compilation is needed.
//   - Defaults are IR version 8 and opset 17 of the default domain, which every
//     ONNX Runtime since 1.13 loads.
//   - Initializers are stored as little-endian raw_data, the compact form ONNX
//     Runtime reads fastest.
//   - Output is deterministic: the same model gives the same bytes, and
//     metadata_props are written sorted by key, so a generator program can be
//     checked byte for byte.
//   - Marshal validates the graph before writing it: every node input must be a
//     graph input, an initializer or the output of an earlier node (nodes are
//     kept in the order added, which must be topological), names are defined
//     once, and every graph output is produced. The errors name the node and
//     the value, which is far easier to act on than a runtime's load failure.
//   - Dimensions are ints (fixed) or strings (symbolic, such as "N" for a
//     dynamic batch).
package onnxbuild
