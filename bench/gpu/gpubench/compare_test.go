package main

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompareTolerance(t *testing.T) {
	a := []float32{-1, -0.5, 0, 0.5, 1, 0.25}
	same, err := Compare(a, a)
	require.NoError(t, err)
	assert.Zero(t, same.MaxAbs)
	assert.True(t, math.IsInf(same.PSNR, 1))
	assert.True(t, same.Within(1e-2))

	b := append([]float32(nil), a...)
	b[2] += 0.009 // inside 1e-2
	d, err := Compare(a, b)
	require.NoError(t, err)
	assert.InDelta(t, 0.009, d.MaxAbs, 1e-6)
	assert.True(t, d.Within(1e-2))
	b[4] -= 0.02 // one value outside
	d, err = Compare(a, b)
	require.NoError(t, err)
	assert.False(t, d.Within(1e-2), "a 0.02 error must fail a 1e-2 tolerance")

	b[0] = float32(math.NaN())
	d, err = Compare(a, a[:0:0])
	assert.Error(t, err, "empty input")
	d, err = Compare(a, b)
	require.NoError(t, err)
	assert.Equal(t, 1, d.NaNs)
	assert.False(t, d.Within(1), "NaN fails any tolerance")
	assert.False(t, d.AtLeast(0), "NaN fails any PSNR")

	_, err = Compare(a, a[:3])
	assert.Error(t, err)
}

func TestComparePSNR(t *testing.T) {
	// A uniform error e over a peak-to-peak range of 2 gives 10 log10(4/e²).
	a := make([]float32, 1000)
	b := make([]float32, 1000)
	for i := range a {
		a[i] = float32(i%200)/100 - 1
		b[i] = a[i] + 0.01
	}
	d, err := Compare(a, b)
	require.NoError(t, err)
	assert.InDelta(t, 10*math.Log10(4/1e-4), d.PSNR, 0.01) // 46 dB
	assert.True(t, d.AtLeast(30))
	for i := range b {
		b[i] = a[i] + 0.1 // 26 dB: an fp16 export this far off must fail 30 dB
	}
	d, err = Compare(a, b)
	require.NoError(t, err)
	assert.InDelta(t, 26.02, d.PSNR, 0.01)
	assert.False(t, d.AtLeast(30))
}

func TestToRGBAAndLevels(t *testing.T) {
	// 1x2 image: pixel 0 is (-1, 0, 1), pixel 1 is (NaN, 2, -3).
	chw := []float32{-1, float32(math.NaN()), 0, 2, 1, -3}
	got := ToRGBA(chw, 1, 2)
	assert.Equal(t, []uint8{0, 128, 255, 255, 0, 255, 0, 255}, got)

	other := append([]uint8(nil), got...)
	other[3] = 0 // alpha is ignored
	l, err := LevelDiff(got, other)
	require.NoError(t, err)
	assert.Zero(t, l)
	other[1] = 125
	l, err = LevelDiff(got, other)
	require.NoError(t, err)
	assert.Equal(t, 3, l)
	_, err = LevelDiff(got, other[:4])
	assert.Error(t, err)
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, Percentile(ds, 0.5))
	assert.Equal(t, 99*time.Millisecond, Percentile(ds, 0.99))
	assert.Equal(t, 100*time.Millisecond, Percentile(ds, 1))
	assert.Equal(t, 100*time.Millisecond, ds[0], "input left unsorted")
	assert.Zero(t, Percentile(nil, 0.5))
}

func TestParseProfile(t *testing.T) {
	prof := `[{"cat":"Session","name":"model_run","args":{}},
	 {"cat":"Node","name":"/conv/Conv_kernel_time","args":{"provider":"CUDAExecutionProvider"}},
	 {"cat":"Node","name":"/conv/Conv_fence_before","args":{"provider":"CUDAExecutionProvider"}},
	 {"cat":"Node","name":"/Shape_kernel_time","args":{"provider":"CPUExecutionProvider"}},
	 {"cat":"Node","name":"/mul/Mul_kernel_time","args":{"provider":"CUDAExecutionProvider"}}]`
	p, err := ParseProfile([]byte(prof))
	require.NoError(t, err)
	assert.Equal(t, Placement{"CUDAExecutionProvider": 2, "CPUExecutionProvider": 1}, p)
	assert.Equal(t, "CUDAExecutionProvider 2, CPUExecutionProvider 1", p.String())
	_, err = ParseProfile([]byte(`[{"cat":"Session","name":"x"}]`))
	assert.Error(t, err, "a profile without node events says nothing about placement")
}

func TestTargetsAndTable(t *testing.T) {
	rows := []Row{
		{What: "torch tf32", Batch: 32, IPS: 327},
		{What: "torch half", Batch: 32, IPS: 446},
		{What: "raw fp32", Batch: 32, IPS: 392},
		{What: "raw fp16", Batch: 32, IPS: 572},
		{What: "imagegen fp16", Batch: 32, IPS: 500},
		{What: "imagegen fp16", Batch: 64, Dynamic: true, IPS: 520},
	}
	tg := Targets(rows, 4.2)
	require.Len(t, tg, 4)
	// 572/327 = 1.75 >= 1.5; 572/446 = 1.28 < 1.3; 500/572 = 0.874 >= 0.85.
	assert.Equal(t, []string{"MET", "MISSED", "MET", "MET"}, []string{tg[0].Verdict(), tg[1].Verdict(), tg[2].Verdict(), tg[3].Verdict()})
	assert.Equal(t, "MISSED", Targets(rows, 5.1)[3].Verdict())
	assert.Equal(t, "n/a", Targets(rows[2:], 0)[0].Verdict(), "no PyTorch rows: unknown, not met")

	var buf bytes.Buffer
	PrintTable(&buf, rows)
	assert.Contains(t, buf.String(), "0.87x", "imagegen fp16 against raw fp16 at batch 32")
	assert.Contains(t, buf.String(), "1.75x", "raw fp16 against torch tf32")
	assert.Contains(t, buf.String(), "dyn64")
}
