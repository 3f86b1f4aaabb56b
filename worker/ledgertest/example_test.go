package ledgertest_test

import (
	"testing"
	"time"

	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/worker/ledgertest"
)

// A job ledger of your own passes the suite from a test of its package:
// Run it with n owners sharing one ledger (n handles on one file or table,
// as n worker processes would hold). (This example compiles only; the
// ledgers' own tests run the suite.)
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		ledgertest.Run(t, func(t *testing.T, n int) []worker.Ledger {
			shared := worker.NewMemLedger(time.Hour) // one process: every owner holds the same ledger
			owners := make([]worker.Ledger, n)
			for i := range owners {
				owners[i] = shared
			}
			return owners
		})
	}
}
