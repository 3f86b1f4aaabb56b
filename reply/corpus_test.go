package reply_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/reply"
)

// corpus is testdata/twitter-text-corpus.json: texts with the weighted
// length npm twitter-text's parseTweet gives them (scripts/twitter-text.sh).
type corpus struct {
	Source string `json:"source"`
	Cases  []struct {
		Name           string `json:"name"`
		Text           string `json:"text"`
		WeightedLength int    `json:"weighted_length"`
	} `json:"cases"`
}

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	b, err := os.ReadFile("testdata/twitter-text-corpus.json")
	require.NoError(t, err)
	var c corpus
	require.NoError(t, json.Unmarshal(b, &c))
	require.GreaterOrEqual(t, len(c.Cases), 50)
	return c
}

func TestWeightedLengthMatchesTwitterText(t *testing.T) {
	c := loadCorpus(t)
	for _, tc := range c.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			assert.Equal(t, tc.WeightedLength, reply.WeightedLength(tc.Text), "%q (%s)", tc.Text, c.Source)
		})
	}
}
