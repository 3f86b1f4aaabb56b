package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/events"
)

// A short run stores every event of both paths (run fails otherwise) and
// prints both rows.
func TestRunCountsEveryJob(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out, 150, 4, 1))
	assert.Contains(t, out.String(), "webhook (signed POSTs")
	assert.Contains(t, out.String(), "stream (one connection")
}

// The generated events are valid mentions with distinct post ids.
func TestEnvelopesDecode(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range envelopes(20, 2_000_000_000_000_000_000) {
		p, err := events.Decode(e)
		require.NoError(t, err, string(e))
		require.Len(t, p.TweetCreateEvents, 1)
		id := p.TweetCreateEvents[0].ID
		assert.False(t, seen[id], id)
		seen[id] = true
		assert.True(t, strings.HasPrefix(id, "2"))
	}
}

func TestRunRefusesBadArguments(t *testing.T) {
	assert.Error(t, run(&bytes.Buffer{}, 0, 1, 1))
}
