package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A nil *Metrics and a Metrics with nil fields do nothing.
func TestNilMetricsHooks(t *testing.T) {
	for _, m := range []*Metrics{nil, {}} {
		assert.NotPanics(t, func() {
			m.outcome(OutcomeReplied)
			m.generated(time.Second)
			m.replied(time.Second)
		})
	}
}
