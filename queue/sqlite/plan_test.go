package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The batched dedup look-up must search the primary key: walking the
// expiry index reads every key of the window, once per batch (the finding
// of 2026-12: a move of 36 jobs read a day's keys).
func TestDedupLookupUsesThePrimaryKey(t *testing.T) {
	s, _ := openTest(t, nil)
	for _, n := range []int{1, 4, maxInsertRows} {
		args := []any{int64(1), int64(2)}
		for i := range n {
			args = append(args, "k"+string(rune('a'+i%26)))
		}
		rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+findSQL(n), args...)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		joined := strings.Join(plan, "; ")
		assert.Contains(t, joined, "PRIMARY KEY", "n=%d: %s", n, joined)
		assert.NotContains(t, joined, "dedup_expires", "n=%d: %s", n, joined)
	}
}
