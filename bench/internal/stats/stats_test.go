package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPct(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, Pct(ds, 50))
	assert.Equal(t, 99*time.Millisecond, Pct(ds, 99))
	assert.Equal(t, time.Millisecond, Pct(ds, 0))
	assert.Equal(t, 3*time.Millisecond, Pct([]time.Duration{3 * time.Millisecond}, 99))
	assert.Zero(t, Pct(nil, 50))
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	assert.Zero(t, Median(nil))
}

func TestParseRange(t *testing.T) {
	lo, hi, err := ParseRange("1s-3s")
	assert.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Second, 3 * time.Second}, []time.Duration{lo, hi})
	lo, hi, err = ParseRange("500ms")
	assert.NoError(t, err)
	assert.Equal(t, lo, hi)
	for _, bad := range []string{"3s-1s", "x", "1s-y", "-1s"} {
		_, _, err := ParseRange(bad)
		assert.Error(t, err, bad)
	}
}
