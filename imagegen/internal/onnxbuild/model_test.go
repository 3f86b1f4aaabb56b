package onnxbuild

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field: a varint/fixed value or bytes.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// decode splits a protobuf message into its fields, failing the test on
// malformed input.
func decode(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0, "bad tag")
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		require.GreaterOrEqual(t, n, 0, "bad field %d", num)
		b = b[n:]
		out = append(out, f)
	}
	return out
}

func pick(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

func one(t *testing.T, fs []field, num protowire.Number) field {
	t.Helper()
	got := pick(fs, num)
	require.Len(t, got, 1, "field %d", num)
	return got[0]
}

func strs(fs []field, num protowire.Number) []string {
	var out []string
	for _, f := range pick(fs, num) {
		out = append(out, string(f.b))
	}
	return out
}

func packedVarints(t *testing.T, b []byte) []int64 {
	t.Helper()
	var out []int64
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		require.GreaterOrEqual(t, n, 0)
		out = append(out, int64(v))
		b = b[n:]
	}
	return out
}

func sampleModel() *Model {
	g := NewGraph("sample")
	g.Input("x", Float, "N", 3)
	g.Output("y", Float, "N", 4)
	g.FloatInit("w", []int64{3, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	g.Int64Init("axes", []int64{1}, []int64{-1})
	h := g.Op("MatMul", "x", "w")
	g.Node("Transpose", []string{h}, []string{"t"}, IntsAttr("perm", 1, 0))
	g.Node("Transpose", []string{"t"}, []string{"t2"}, IntsAttr("perm", 1, 0))
	g.Node("LeakyRelu", []string{"t2"}, []string{"y"}, FloatAttr("alpha", 0.25), StringAttr("note", "hi"), IntAttr("k", -3))
	return &Model{
		ProducerName: "onnxbuild-test",
		Metadata:     map[string]string{"moetron.zdim": "3", "a.first": "1"},
		Graph:        g,
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	b, err := sampleModel().Marshal()
	require.NoError(t, err)

	m := decode(t, b)
	assert.EqualValues(t, DefaultIRVersion, one(t, m, modelIRVersion).v)
	assert.Equal(t, "onnxbuild-test", string(one(t, m, modelProducerName).b))
	assert.Empty(t, pick(m, modelProducerVersion), "empty strings are omitted")

	op := decode(t, one(t, m, modelOpsetImport).b)
	assert.Equal(t, "", string(one(t, op, opsetDomain).b))
	assert.EqualValues(t, DefaultOpset, one(t, op, opsetVersion).v)

	var keys, values []string
	for _, e := range pick(m, modelMetadataProps) {
		kv := decode(t, e.b)
		keys = append(keys, string(one(t, kv, entryKey).b))
		values = append(values, string(one(t, kv, entryValue).b))
	}
	assert.Equal(t, []string{"a.first", "moetron.zdim"}, keys, "metadata sorted by key")
	assert.Equal(t, []string{"1", "3"}, values)

	g := decode(t, one(t, m, modelGraph).b)
	assert.Equal(t, "sample", string(one(t, g, graphName).b))

	nodes := pick(g, graphNode)
	require.Len(t, nodes, 4)
	n0 := decode(t, nodes[0].b)
	assert.Equal(t, "MatMul", string(one(t, n0, nodeOpType).b))
	assert.Equal(t, []string{"x", "w"}, strs(n0, nodeInput))
	assert.Equal(t, []string{"MatMul_1"}, strs(n0, nodeOutput))

	n1 := decode(t, nodes[1].b)
	a := decode(t, one(t, n1, nodeAttribute).b)
	assert.Equal(t, "perm", string(one(t, a, attrName).b))
	assert.EqualValues(t, AttrInts, one(t, a, attrType).v)
	assert.Equal(t, []int64{1, 0}, packedVarints(t, one(t, a, attrInts).b))

	n3 := decode(t, nodes[3].b)
	attrs := pick(n3, nodeAttribute)
	require.Len(t, attrs, 3)
	fa := decode(t, attrs[0].b)
	assert.Equal(t, protowire.Fixed32Type, one(t, fa, attrF).typ)
	assert.Equal(t, float32(0.25), math.Float32frombits(uint32(one(t, fa, attrF).v)))
	assert.EqualValues(t, AttrFloat, one(t, fa, attrType).v)
	sa := decode(t, attrs[1].b)
	assert.Equal(t, "hi", string(one(t, sa, attrS).b))
	assert.EqualValues(t, AttrString, one(t, sa, attrType).v)
	ia := decode(t, attrs[2].b)
	assert.EqualValues(t, -3, int64(one(t, ia, attrI).v), "negative ints are two's complement varints")

	inits := pick(g, graphInitializer)
	require.Len(t, inits, 2)
	w := decode(t, inits[0].b)
	assert.Equal(t, "w", string(one(t, w, tensorName).b))
	assert.EqualValues(t, Float, one(t, w, tensorDataType).v)
	assert.Equal(t, []int64{3, 4}, packedVarints(t, one(t, w, tensorDims).b))
	raw := one(t, w, tensorRawData).b
	require.Len(t, raw, 48)
	assert.Equal(t, float32(1), math.Float32frombits(binary.LittleEndian.Uint32(raw[0:])))
	assert.Equal(t, float32(12), math.Float32frombits(binary.LittleEndian.Uint32(raw[44:])))
	axes := decode(t, inits[1].b)
	assert.EqualValues(t, Int64, one(t, axes, tensorDataType).v)
	assert.Equal(t, uint64(math.MaxUint64), binary.LittleEndian.Uint64(one(t, axes, tensorRawData).b), "-1 little endian")

	in := decode(t, one(t, g, graphInput).b)
	assert.Equal(t, "x", string(one(t, in, valueName).b))
	tp := decode(t, one(t, in, valueType).b)
	tt := decode(t, one(t, tp, typeTensor).b)
	assert.EqualValues(t, Float, one(t, tt, tensorElemType).v)
	dims := pick(decode(t, one(t, tt, tensorShape).b), shapeDim)
	require.Len(t, dims, 2)
	d0, d1 := decode(t, dims[0].b), decode(t, dims[1].b)
	assert.Equal(t, "N", string(one(t, d0, dimParam).b))
	assert.Empty(t, pick(d0, dimValue))
	assert.EqualValues(t, 3, one(t, d1, dimValue).v)
}

func TestMarshalDeterministic(t *testing.T) {
	a, err := sampleModel().Marshal()
	require.NoError(t, err)
	for range 5 { // map iteration order varies between runs
		b, err := sampleModel().Marshal()
		require.NoError(t, err)
		require.Equal(t, a, b)
	}
}

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		build func(g *Graph)
		want  string
	}{
		"undefined input": {func(g *Graph) {
			g.Node("Relu", []string{"nope"}, []string{"y"})
		}, `reads "nope"`},
		"use before definition": {func(g *Graph) {
			g.Node("Relu", []string{"h"}, []string{"y"})
			g.Node("Relu", []string{"x"}, []string{"h"})
		}, `reads "h"`},
		"defined twice": {func(g *Graph) {
			g.Node("Relu", []string{"x"}, []string{"x"})
		}, `"x" is defined twice`},
		"output never produced": {func(g *Graph) {
			g.Node("Relu", []string{"x"}, []string{"z"})
		}, `graph output "y" is never produced`},
		"bad dim type": {func(g *Graph) {
			g.Input("q", Float, 1.5)
			g.Node("Relu", []string{"x"}, []string{"y"})
		}, "dimension 0 has type float64"},
		"wrong data length": {func(g *Graph) {
			g.FloatInit("w", []int64{2, 2}, []float32{1, 2, 3})
			g.Node("Relu", []string{"x"}, []string{"y"})
		}, "need 4 values, got 3"},
		"no op type": {func(g *Graph) {
			g.Node("", []string{"x"}, []string{"y"})
		}, "no op type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewGraph("bad")
			g.Input("x", Float, 2)
			g.Output("y", Float, 2)
			tc.build(g)
			_, err := (&Model{Graph: g}).Marshal()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidGraph)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	t.Run("optional input may be empty", func(t *testing.T) {
		g := NewGraph("ok")
		g.Input("x", Float, 2)
		g.Output("y", Float, 2)
		g.Node("Clip", []string{"x", "", ""}, []string{"y"})
		b, err := (&Model{Graph: g}).Marshal()
		require.NoError(t, err)
		node := decode(t, one(t, decode(t, one(t, decode(t, b), modelGraph).b), graphNode).b)
		assert.Equal(t, []string{"x", "", ""}, strs(node, nodeInput), "positions of omitted inputs kept")
	})
	t.Run("nil graph", func(t *testing.T) {
		_, err := (&Model{}).Marshal()
		assert.ErrorIs(t, err, ErrInvalidGraph)
	})
}

func TestDataTypeString(t *testing.T) {
	assert.Equal(t, "FLOAT", Float.String())
	assert.Equal(t, "INT64", Int64.String())
	assert.Equal(t, "DataType(99)", DataType(99).String())
}
