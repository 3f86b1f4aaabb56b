package portrait

import (
	"math"
	"strconv"

	"github.com/moetron/moetron/imagegen/internal/onnxbuild"
)

// expr is a thin layer over onnxbuild.Graph that reads like arithmetic:
// every method appends one node and returns the name of its output. Values
// broadcast the NumPy way, which the scene uses to keep work small: a
// per-sample scalar is [N,1,1,1], a function of x alone [N,1,1,S], of y
// alone [N,1,S,1], and only what depends on both is a full [N,1,S,S] plane.
type expr struct {
	g      *onnxbuild.Graph
	consts map[uint32]string
	aa     float32 // alpha per unit of signed distance: one pixel's ramp
}

func newExpr(g *onnxbuild.Graph, size int) *expr {
	return &expr{g: g, consts: map[uint32]string{}, aa: float32(size) / 2 / 1.2}
}

// c is a float32 scalar constant, one initializer per distinct value.
func (e *expr) c(v float64) string {
	f := float32(v)
	bits := math.Float32bits(f)
	if name, ok := e.consts[bits]; ok {
		return name
	}
	name := "k" + strconv.Itoa(len(e.consts))
	e.g.Scalar(name, f)
	e.consts[bits] = name
	return name
}

func (e *expr) add(a, b string) string { return e.g.Op("Add", a, b) }
func (e *expr) sub(a, b string) string { return e.g.Op("Sub", a, b) }
func (e *expr) mul(a, b string) string { return e.g.Op("Mul", a, b) }
func (e *expr) div(a, b string) string { return e.g.Op("Div", a, b) }
func (e *expr) abs(a string) string    { return e.g.Op("Abs", a) }
func (e *expr) sqrt(a string) string   { return e.g.Op("Sqrt", a) }
func (e *expr) sq(a string) string     { return e.g.Op("Mul", a, a) }
func (e *expr) max(a, b string) string { return e.g.Op("Max", a, b) }
func (e *expr) cos(a string) string    { return e.g.Op("Cos", a) }
func (e *expr) sin(a string) string    { return e.g.Op("Sin", a) }
func (e *expr) sigmoid(a string) string {
	return e.g.Op("Sigmoid", a)
}

// addc, mulc and subc combine a value with a constant.
func (e *expr) addc(a string, v float64) string { return e.add(a, e.c(v)) }
func (e *expr) mulc(a string, v float64) string { return e.mul(a, e.c(v)) }

// rsubc is v - a.
func (e *expr) rsubc(v float64, a string) string { return e.sub(e.c(v), a) }

// clamp limits a to [lo, hi].
func (e *expr) clamp(a string, lo, hi float64) string {
	return e.g.Op("Clip", a, e.c(lo), e.c(hi))
}

// unit limits a to [0, 1].
func (e *expr) unit(a string) string { return e.clamp(a, 0, 1) }

// lin is base + scale*p for a per-sample parameter p.
func (e *expr) lin(base, scale float64, p string) string {
	return e.addc(e.mulc(p, scale), base)
}

// tri is a triangle wave of period 1: 0 at the integers, 1 half way.
func (e *expr) tri(u string) string {
	f := e.sub(u, e.g.Op("Floor", u))
	return e.abs(e.mulc(e.addc(f, -0.5), 2)) // 1 at integers, 0 half way
}

// less is the anti-aliased coverage of a < b. When a and b each depend on
// one axis only, only the last two nodes work on full planes.
func (e *expr) less(a, b string) string {
	return e.unit(e.sub(e.addc(e.mulc(b, float64(e.aa)), 0.5), e.mulc(a, float64(e.aa))))
}

// ellipseQ is the normalised radius sqrt((dx/rx)² + (dy/ry)²): below 1
// inside the ellipse.
func (e *expr) ellipseQ(dx, dy, rx, ry string) string {
	return e.sqrt(e.add(e.sq(e.div(dx, rx)), e.sq(e.div(dy, ry))))
}

// ellipse is the coverage of an ellipse from its normalised radius q, grown
// by grow (in image units; negative shrinks): (q-1)*r is close to the
// distance to the edge for r near the smaller radius. The per-sample
// scalars are folded so that three nodes touch the full plane.
func (e *expr) ellipse(q, r, grow string) string {
	b := e.mulc(r, float64(e.aa))
	a := e.add(e.addc(b, 0.5), e.mulc(grow, float64(e.aa)))
	return e.unit(e.sub(a, e.mul(q, b)))
}

// col is a constant colour given in [0, 1], stored in [-1, 1].
func (e *expr) col(r, g, b float64) string {
	name := "col" + strconv.Itoa(len(e.g.Initializers))
	return e.g.FloatInit(name, []int64{1, 3, 1, 1}, []float32{float32(2*r - 1), float32(2*g - 1), float32(2*b - 1)})
}

// lerp is a + t*(b-a).
func (e *expr) lerp(a, b, t string) string { return e.add(a, e.mul(t, e.sub(b, a))) }

// over paints colour col with coverage alpha over img.
func (e *expr) over(img, col, alpha string) string { return e.lerp(img, col, alpha) }

// shade scales a [-1,1] colour's [0,1] brightness by k: (c+1)*k - 1.
func (e *expr) shade(col string, k float64) string {
	return e.addc(e.mulc(e.addc(col, 1), k), -1)
}
