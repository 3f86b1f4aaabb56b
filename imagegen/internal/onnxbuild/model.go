package onnxbuild

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Defaults used when a Model leaves the field zero.
const (
	DefaultIRVersion = 8
	DefaultOpset     = 17
)

// ErrInvalidGraph is wrapped by every graph validation error of Marshal.
var ErrInvalidGraph = errors.New("onnxbuild: invalid graph")

// Model is a whole ONNX model: one graph plus model-level fields.
type Model struct {
	IRVersion       int64             // zero means DefaultIRVersion
	Opset           int64             // default-domain opset; zero means DefaultOpset
	ProducerName    string            // optional
	ProducerVersion string            // optional
	Doc             string            // optional doc_string
	Metadata        map[string]string // metadata_props, written sorted by key
	Graph           *Graph
}

// Field numbers from onnx.proto.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDoc             = 6
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	entryKey   = 1
	entryValue = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName   = 1
	attrF      = 2
	attrI      = 3
	attrS      = 4
	attrT      = 5
	attrFloats = 7
	attrInts   = 8
	attrType   = 20

	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9

	valueName = 1
	valueType = 2

	typeTensor     = 1
	tensorElemType = 1
	tensorShape    = 2
	shapeDim       = 1
	dimValue       = 1
	dimParam       = 2
)

// Marshal validates the model and returns its serialized ModelProto.
func (m *Model) Marshal() ([]byte, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: model has no graph", ErrInvalidGraph)
	}
	if err := m.Graph.Validate(); err != nil {
		return nil, err
	}
	ir, opset := m.IRVersion, m.Opset
	if ir == 0 {
		ir = DefaultIRVersion
	}
	if opset == 0 {
		opset = DefaultOpset
	}
	var b []byte
	b = protowire.AppendTag(b, modelIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(ir))
	b = appendString(b, modelProducerName, m.ProducerName)
	b = appendString(b, modelProducerVersion, m.ProducerVersion)
	b = appendString(b, modelDoc, m.Doc)
	b = appendMessage(b, modelGraph, encodeGraph(m.Graph))

	var op []byte
	op = protowire.AppendTag(op, opsetDomain, protowire.BytesType)
	op = protowire.AppendString(op, "")
	op = protowire.AppendTag(op, opsetVersion, protowire.VarintType)
	op = protowire.AppendVarint(op, uint64(opset))
	b = appendMessage(b, modelOpsetImport, op)

	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = protowire.AppendTag(e, entryKey, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, entryValue, protowire.BytesType)
		e = protowire.AppendString(e, m.Metadata[k])
		b = appendMessage(b, modelMetadataProps, e)
	}
	return b, nil
}

// Validate reports the first building misuse or structural error: a name
// defined twice, a node input that is not defined before the node, a node
// without an op type or outputs, or a graph output no node or input produces.
func (g *Graph) Validate() error {
	if g.err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidGraph, g.err)
	}
	defined := map[string]string{}
	define := func(name, by string) error {
		if name == "" {
			return fmt.Errorf("%w: %s defines a value with an empty name", ErrInvalidGraph, by)
		}
		if prev, ok := defined[name]; ok {
			return fmt.Errorf("%w: %q is defined twice (by %s and by %s)", ErrInvalidGraph, name, prev, by)
		}
		defined[name] = by
		return nil
	}
	for _, in := range g.Inputs {
		if err := define(in.Name, "graph input"); err != nil {
			return err
		}
	}
	for _, t := range g.Initializers {
		if err := define(t.Name, "initializer"); err != nil {
			return err
		}
	}
	for i, n := range g.Nodes {
		who := fmt.Sprintf("node %d (%s)", i, n.OpType)
		if n.OpType == "" {
			return fmt.Errorf("%w: node %d has no op type", ErrInvalidGraph, i)
		}
		if len(n.Outputs) == 0 {
			return fmt.Errorf("%w: %s has no outputs", ErrInvalidGraph, who)
		}
		for _, in := range n.Inputs {
			if in == "" { // an omitted optional input
				continue
			}
			if _, ok := defined[in]; !ok {
				return fmt.Errorf("%w: %s reads %q, which is not defined before it", ErrInvalidGraph, who, in)
			}
		}
		for _, out := range n.Outputs {
			if err := define(out, who); err != nil {
				return err
			}
		}
	}
	if len(g.Outputs) == 0 {
		return fmt.Errorf("%w: graph %q has no outputs", ErrInvalidGraph, g.Name)
	}
	for _, out := range g.Outputs {
		if _, ok := defined[out.Name]; !ok {
			return fmt.Errorf("%w: graph output %q is never produced", ErrInvalidGraph, out.Name)
		}
	}
	return nil
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func encodeGraph(g *Graph) []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = appendMessage(b, graphNode, encodeNode(n))
	}
	b = appendString(b, graphName, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, graphInitializer, encodeTensor(t))
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, graphInput, encodeValueInfo(v))
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, graphOutput, encodeValueInfo(v))
	}
	return b
}

func encodeNode(n Node) []byte {
	var b []byte
	for _, in := range n.Inputs {
		// Repeated strings are written even when empty: an empty name marks
		// an omitted optional input and keeps the positions of the rest.
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, in)
	}
	for _, out := range n.Outputs {
		b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, out)
	}
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOpType, n.OpType)
	for _, a := range n.Attrs {
		b = appendMessage(b, nodeAttribute, encodeAttr(a))
	}
	b = appendString(b, nodeDomain, n.Domain)
	return b
}

func encodeAttr(a Attr) []byte {
	var b []byte
	b = appendString(b, attrName, a.Name)
	switch a.Kind {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, attrS, protowire.BytesType)
		b = protowire.AppendString(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, attrT, encodeTensor(*a.T))
		}
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, attrFloats, p)
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, attrInts, p)
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Kind))
	return b
}

func encodeTensor(t Tensor) []byte {
	var b []byte
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendMessage(b, tensorDims, p)
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.Type))
	b = appendString(b, tensorName, t.Name)
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, t.Raw)
	return b
}

func encodeValueInfo(v ValueInfo) []byte {
	var shape []byte
	for _, d := range v.Dims {
		var dm []byte
		if d.Param != "" {
			dm = appendString(dm, dimParam, d.Param)
		} else {
			dm = protowire.AppendTag(dm, dimValue, protowire.VarintType)
			dm = protowire.AppendVarint(dm, uint64(d.Value))
		}
		shape = appendMessage(shape, shapeDim, dm)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, tensorElemType, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.Type))
	tt = appendMessage(tt, tensorShape, shape)

	var b []byte
	b = appendString(b, valueName, v.Name)
	b = appendMessage(b, valueType, appendMessage(nil, typeTensor, tt))
	return b
}

// GeneratorMetadata is the metadata_props of a generator that follows
// imagegen's model contract with the default names: input z [N,zdim],
// input psi [N], output image [N,3,H,W] in [-1,1], at most maxBatch
// images a run.
func GeneratorMetadata(zdim, maxBatch int) map[string]string {
	return map[string]string{
		"moetron.z":         "z",
		"moetron.psi":       "psi",
		"moetron.image":     "image",
		"moetron.zdim":      strconv.Itoa(zdim),
		"moetron.layout":    "NCHW",
		"moetron.range":     "-1,1",
		"moetron.max_batch": strconv.Itoa(maxBatch),
	}
}
