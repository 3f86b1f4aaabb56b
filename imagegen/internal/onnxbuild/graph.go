package onnxbuild

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// DataType is an ONNX TensorProto.DataType value.
type DataType int32

// The element types this package writes. The values are those of onnx.proto.
const (
	Float   DataType = 1
	Uint8   DataType = 2
	Int8    DataType = 3
	Int32   DataType = 6
	Int64   DataType = 7
	Bool    DataType = 9
	Float16 DataType = 10
	Double  DataType = 11
)

// String returns the ONNX name of the type, such as "FLOAT".
func (d DataType) String() string {
	switch d {
	case Float:
		return "FLOAT"
	case Uint8:
		return "UINT8"
	case Int8:
		return "INT8"
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case Bool:
		return "BOOL"
	case Float16:
		return "FLOAT16"
	case Double:
		return "DOUBLE"
	}
	return "DataType(" + strconv.Itoa(int(d)) + ")"
}

// Dim is one dimension of a value's shape: a fixed size, or a symbolic name
// (dim_param) when Param is not empty.
type Dim struct {
	Value int64
	Param string
}

// ValueInfo names a graph input or output with its element type and shape.
type ValueInfo struct {
	Name string
	Type DataType
	Dims []Dim
}

// Tensor is an initializer: a named constant with raw little-endian data.
type Tensor struct {
	Name string
	Type DataType
	Dims []int64
	Raw  []byte
}

// Node is one operator application.
type Node struct {
	Name    string // optional; Marshal leaves it empty when empty
	OpType  string
	Domain  string // empty: the default ONNX domain
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// AttrKind is an ONNX AttributeProto.AttributeType value.
type AttrKind int32

// The attribute kinds this package writes (values from onnx.proto).
const (
	AttrFloat  AttrKind = 1
	AttrInt    AttrKind = 2
	AttrString AttrKind = 3
	AttrTensor AttrKind = 4
	AttrFloats AttrKind = 6
	AttrInts   AttrKind = 7
)

// Attr is a node attribute. Build one with IntAttr, IntsAttr, FloatAttr,
// FloatsAttr, StringAttr or TensorAttr.
type Attr struct {
	Name   string
	Kind   AttrKind
	I      int64
	F      float32
	S      string
	T      *Tensor
	Ints   []int64
	Floats []float32
}

// IntAttr is an INT attribute.
func IntAttr(name string, v int64) Attr { return Attr{Name: name, Kind: AttrInt, I: v} }

// IntsAttr is an INTS attribute.
func IntsAttr(name string, v ...int64) Attr { return Attr{Name: name, Kind: AttrInts, Ints: v} }

// FloatAttr is a FLOAT attribute.
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, Kind: AttrFloat, F: v} }

// FloatsAttr is a FLOATS attribute.
func FloatsAttr(name string, v ...float32) Attr { return Attr{Name: name, Kind: AttrFloats, Floats: v} }

// StringAttr is a STRING attribute.
func StringAttr(name, v string) Attr { return Attr{Name: name, Kind: AttrString, S: v} }

// TensorAttr is a TENSOR attribute (the "value" of a Constant node).
func TensorAttr(name string, t Tensor) Attr { return Attr{Name: name, Kind: AttrTensor, T: &t} }

// Graph is an ONNX graph under construction. Its methods record the first
// misuse (a bad dimension, data of the wrong length) and Marshal reports it,
// so building code can stay free of error checks.
type Graph struct {
	Name         string
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	Initializers []Tensor
	Nodes        []Node

	err  error
	next int
}

// NewGraph returns an empty graph with the given name.
func NewGraph(name string) *Graph { return &Graph{Name: name} }

func (g *Graph) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("onnxbuild: "+format, args...)
	}
}

func (g *Graph) dims(name string, dims []any) []Dim {
	out := make([]Dim, 0, len(dims))
	for i, d := range dims {
		switch v := d.(type) {
		case int:
			out = append(out, Dim{Value: int64(v)})
		case int64:
			out = append(out, Dim{Value: v})
		case string:
			if v == "" {
				g.fail("%s: dimension %d is an empty symbolic name", name, i)
			}
			out = append(out, Dim{Param: v})
		case Dim:
			out = append(out, v)
		default:
			g.fail("%s: dimension %d has type %T, want int, int64, string or Dim", name, i, d)
		}
	}
	return out
}

// Input adds a graph input. Each dim is an int (fixed size) or a string
// (symbolic name, such as "N").
func (g *Graph) Input(name string, t DataType, dims ...any) {
	g.Inputs = append(g.Inputs, ValueInfo{Name: name, Type: t, Dims: g.dims(name, dims)})
}

// Output adds a graph output, with dims as for Input.
func (g *Graph) Output(name string, t DataType, dims ...any) {
	g.Outputs = append(g.Outputs, ValueInfo{Name: name, Type: t, Dims: g.dims(name, dims)})
}

func count(name string, dims []int64) (int, bool) {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		n *= int(d)
	}
	return n, true
}

// FloatTensor encodes float32 data as a tensor. It reports an error when the
// data length does not match the dims.
func FloatTensor(name string, dims []int64, data []float32) (Tensor, error) {
	n, ok := count(name, dims)
	if !ok || n != len(data) {
		return Tensor{}, fmt.Errorf("onnxbuild: tensor %q: dims %v need %d values, got %d", name, dims, n, len(data))
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, Type: Float, Dims: append([]int64(nil), dims...), Raw: raw}, nil
}

// Int64Tensor encodes int64 data as a tensor, checking its length as
// FloatTensor does.
func Int64Tensor(name string, dims []int64, data []int64) (Tensor, error) {
	n, ok := count(name, dims)
	if !ok || n != len(data) {
		return Tensor{}, fmt.Errorf("onnxbuild: tensor %q: dims %v need %d values, got %d", name, dims, n, len(data))
	}
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return Tensor{Name: name, Type: Int64, Dims: append([]int64(nil), dims...), Raw: raw}, nil
}

// FloatInit adds a float32 initializer. Pass an empty dims slice for a scalar.
func (g *Graph) FloatInit(name string, dims []int64, data []float32) string {
	t, err := FloatTensor(name, dims, data)
	if err != nil {
		if g.err == nil {
			g.err = err
		}
		return name
	}
	g.Initializers = append(g.Initializers, t)
	return name
}

// Int64Init adds an int64 initializer (shapes, axes, indices).
func (g *Graph) Int64Init(name string, dims []int64, data []int64) string {
	t, err := Int64Tensor(name, dims, data)
	if err != nil {
		if g.err == nil {
			g.err = err
		}
		return name
	}
	g.Initializers = append(g.Initializers, t)
	return name
}

// Scalar adds a float32 scalar initializer (dims []) and returns its name.
func (g *Graph) Scalar(name string, v float32) string {
	return g.FloatInit(name, nil, []float32{v})
}

// Node appends a node. Nodes must be added in topological order.
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) {
	g.Nodes = append(g.Nodes, Node{OpType: op, Inputs: inputs, Outputs: outputs, Attrs: attrs})
}

// Op appends a node with one output whose name is generated from the
// operator ("Tanh_3") and returns that name, for chaining:
//
//	h := g.Op("Tanh", g.Op("MatMul", "x", "w"))
func (g *Graph) Op(op string, inputs ...string) string {
	return g.OpAttrs(op, inputs, nil)
}

// OpAttrs is Op with attributes.
func (g *Graph) OpAttrs(op string, inputs []string, attrs []Attr) string {
	g.next++
	out := op + "_" + strconv.Itoa(g.next)
	g.Node(op, inputs, []string{out}, attrs...)
	return out
}

// Err returns the first misuse recorded while building, or nil.
func (g *Graph) Err() error { return g.err }
