// Package sample turns a bundled model's output into the pictures committed
// under docs/samples: one image per seed, box-filtered down, and a contact
// sheet. The render command writes them and a test in imagegen/bundled
// checks that the committed files still match the models.
package sample

import (
	"fmt"
	"image"
	"image/draw"

	ort "github.com/yalue/onnxruntime_go"
)

// Run runs sess (inputs z and psi, output image) on one latent and returns
// the image as RGBA, with values in [-1, 1] mapped to 0..255 as imagegen
// does.
func Run(sess *ort.DynamicAdvancedSession, z []float32, psi float32) (*image.RGBA, error) {
	zt, err := ort.NewTensor(ort.NewShape(1, int64(len(z))), z)
	if err != nil {
		return nil, err
	}
	defer zt.Destroy()
	pt, err := ort.NewTensor(ort.NewShape(1), []float32{psi})
	if err != nil {
		return nil, err
	}
	defer pt.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run([]ort.Value{zt, pt}, outs); err != nil {
		return nil, err
	}
	defer outs[0].Destroy()
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("sample: output is %T, want a float32 tensor", outs[0])
	}
	shape := t.GetShape()
	if len(shape) != 4 || shape[0] != 1 || shape[1] != 3 {
		return nil, fmt.Errorf("sample: output shape %v, want [1,3,H,W]", shape)
	}
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
	return img, nil
}

// Down shrinks src by k in both directions with a box filter.
func Down(src *image.RGBA, k int) *image.RGBA {
	if k <= 1 {
		return src
	}
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

// Sheet lays imgs (all of the first one's size) out in rows of cols.
func Sheet(imgs []*image.RGBA, cols int) *image.RGBA {
	b := imgs[0].Bounds()
	rows := (len(imgs) + cols - 1) / cols
	m := image.NewRGBA(image.Rect(0, 0, cols*b.Dx(), rows*b.Dy()))
	for i, img := range imgs {
		r := b.Add(image.Pt((i%cols)*b.Dx(), (i/cols)*b.Dy()))
		draw.Draw(m, r, img, b.Min, draw.Src)
	}
	return m
}
