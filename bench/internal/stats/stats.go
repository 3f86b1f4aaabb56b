// Package stats holds the small helpers the benchmark programs under
// bench/ share: percentiles and medians of a run's samples, the -gaps
// range flag, a free loopback port, and the tail of a child's log.
package stats

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// Pct returns the p-th percentile of ds by the nearest-rank method (0 for
// no samples).
func Pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max((len(s)*p+99)/100, 1)-1]
}

// Median returns the median of xs (the mean of the middle two for an even
// count; 0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ParseRange reads "LO-HI" or a single duration ("1s-3s", "500ms").
func ParseRange(s string) (lo, hi time.Duration, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if lo, err = time.ParseDuration(a); err == nil {
		hi, err = time.ParseDuration(b)
	}
	if err == nil && (lo < 0 || hi < lo) {
		err = fmt.Errorf("bad range %q", s)
	}
	return lo, hi, err
}

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// TailFile returns the last 2000 bytes of the file at p ("" if unreadable).
func TailFile(p string) string {
	b, _ := os.ReadFile(p)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
