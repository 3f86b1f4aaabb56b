// Package ledgertest is the conformance suite of worker.Ledger
// implementations: the claim, release and done sequence every ledger must
// follow, and one claim per job among owners racing on one store. The
// in-process ledger, worker/ledgerfile and worker/ledgertable all run it; a
// ledger of your own should too.
package ledgertest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/worker"
)

// Owners returns n ledgers that share one store, as the worker processes
// (or machines) of one deployment do. A ledger that cannot be shared (the
// in-process one) returns the same value n times.
type Owners func(t *testing.T, n int) []worker.Ledger

// Run runs every case against ledgers made by owners.
func Run(t *testing.T, owners Owners) {
	t.Run("ClaimDoneRelease", func(t *testing.T) { claimDoneRelease(t, owners(t, 1)[0]) })
	t.Run("OneClaimAcrossOwners", func(t *testing.T) { oneClaimAcrossOwners(t, owners(t, 2)) })
}

// claimDoneRelease walks one job through every state.
func claimDoneRelease(t *testing.T, l worker.Ledger) {
	ctx := context.Background()
	c, err := l.Claim(ctx, "dm:1")
	require.NoError(t, err)
	assert.Equal(t, worker.Claim{}, c)
	_, err = l.Claim(ctx, "dm:1")
	require.ErrorIs(t, err, worker.ErrClaimed)

	require.NoError(t, l.Release(ctx, "dm:1", false))
	c, err = l.Claim(ctx, "dm:1")
	require.NoError(t, err)
	assert.False(t, c.Unfinished, "a certain failure leaves nothing behind")

	require.NoError(t, l.Release(ctx, "dm:1", true))
	c, err = l.Claim(ctx, "dm:1")
	require.NoError(t, err)
	assert.True(t, c.Unfinished)
	require.NoError(t, l.Release(ctx, "dm:1", false))
	c, err = l.Claim(ctx, "dm:1")
	require.NoError(t, err)
	assert.True(t, c.Unfinished, "unfinished stays until the job is answered")

	require.NoError(t, l.Done(ctx, "dm:1", "777"))
	c, err = l.Claim(ctx, "dm:1")
	require.NoError(t, err)
	assert.Equal(t, "777", c.Done)

	// Releasing what is answered (or not held) changes nothing.
	require.NoError(t, l.Release(ctx, "dm:1", true))
	c, err = l.Claim(ctx, "dm:1")
	require.NoError(t, err)
	assert.Equal(t, "777", c.Done)
}

// oneClaimAcrossOwners races the owners for 30 jobs, each claimed four
// times: every job is won exactly once, every loss is ErrClaimed.
func oneClaimAcrossOwners(t *testing.T, ls []worker.Ledger) {
	ctx := context.Background()
	const jobs = 30
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range jobs {
		for k := range 4 {
			l := ls[k%len(ls)]
			wg.Go(func() {
				c, err := l.Claim(ctx, fmt.Sprintf("dm:%d", 100+i))
				if err == nil && !c.Unfinished && c.Done == "" {
					wins.Add(1)
				} else if err != nil {
					assert.ErrorIs(t, err, worker.ErrClaimed)
				}
			})
		}
	}
	wg.Wait()
	assert.Equal(t, int64(jobs), wins.Load())
}
