package queue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPollBackoffSequence(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		rnd  float64
		want []time.Duration
	}{
		// 100 ms + factor·2^(k-1)·100 ms, factor = 0.8 + 0.4·rnd.
		{"middle", 0.5, []time.Duration{200 * ms, 300 * ms, 500 * ms, 900 * ms, 1700 * ms, 3300 * ms, 5000 * ms, 5000 * ms}},
		{"low", 0, []time.Duration{180 * ms, 260 * ms, 420 * ms, 740 * ms, 1380 * ms, 2660 * ms, 5000 * ms}},
		{"high", 0.999999, []time.Duration{220 * ms, 340 * ms, 580 * ms, 1060 * ms, 2020 * ms, 3940 * ms, 5000 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pollBackoff{min: 100 * ms, max: 5 * time.Second, rand: func() float64 { return tc.rnd }}
			for i, want := range tc.want {
				assert.InDelta(t, float64(want), float64(b.next()), float64(ms), "poll %d", i+1)
			}
			b.reset()
			assert.InDelta(t, float64(tc.want[0]), float64(b.next()), float64(ms), "after reset")
		})
	}
}

func TestPollBackoffSaturates(t *testing.T) {
	b := pollBackoff{min: 100 * time.Millisecond, max: time.Minute, rand: func() float64 { return 0.5 }}
	for range 1000 {
		d := b.next()
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, time.Minute)
	}
	assert.Equal(t, time.Minute, b.next())
	// Huge units do not overflow into negative delays.
	assert.Equal(t, time.Duration(1<<62), jittered(1<<61, 1<<62, 60, func() float64 { return 0.99 }))
}

func TestDefaultRetryBackoff(t *testing.T) {
	f := defaultRetryBackoff(func() float64 { return 0.5 })
	assert.Equal(t, 5*time.Second, f(1, nil))
	assert.Equal(t, 10*time.Second, f(2, nil))
	assert.Equal(t, 20*time.Second, f(3, nil))
	assert.Equal(t, 5*time.Minute, f(10, nil))
	assert.Equal(t, 5*time.Minute, f(1000, nil))
	lo := defaultRetryBackoff(func() float64 { return 0 })
	assert.Equal(t, 4*time.Second, lo(1, nil))
}
