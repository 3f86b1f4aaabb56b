package queue

import "time"

// pollBackoff is the idle-poll delay of the Azure Functions queue listener:
// after the k-th empty (or failed) poll in a row the poller waits
// min + rand(0.8..1.2) * 2^(k-1) * min, capped at max. reset goes back to
// the minimum once a poll finds work.
type pollBackoff struct {
	min, max time.Duration
	rand     func() float64 // [0,1)
	k        int            // empty polls in a row
}

func (b *pollBackoff) next() time.Duration {
	b.k++
	if b.k > 62 {
		b.k = 62
	}
	return jittered(b.min, b.max, b.k, b.rand)
}

func (b *pollBackoff) reset() { b.k = 0 }

// jittered computes base + rand(0.8..1.2) * 2^(k-1) * base, capped at max.
// It saturates instead of overflowing for large k.
func jittered(base, max time.Duration, k int, rnd func() float64) time.Duration {
	if k < 1 {
		k = 1
	}
	grow := base
	for i := 1; i < k && grow < max; i++ {
		grow *= 2
	}
	f := float64(base) + float64(grow)*(0.8+0.4*rnd())
	if f >= float64(max) {
		return max
	}
	return time.Duration(f)
}

// defaultRetryBackoff is the visibility a failed message gets before its
// next attempt when ConsumerConfig.RetryBackoff is nil: 5 s after the first
// failure, doubling per attempt with ±20% jitter, capped at 5 min.
func defaultRetryBackoff(rnd func() float64) func(attempt int, err error) time.Duration {
	return func(attempt int, _ error) time.Duration {
		const base = 5 * time.Second
		const max = 5 * time.Minute
		grow := base
		for i := 1; i < attempt && grow < max; i++ {
			grow *= 2
		}
		d := time.Duration(float64(grow) * (0.8 + 0.4*rnd()))
		if d > max {
			d = max
		}
		return d
	}
}
