package ledgertable_test

import (
	"context"
	"fmt"
	"os"

	"github.com/moetron/moetron/worker/ledgertable"
)

// The job ledger that workers on several machines share: one table of the
// queue's storage account, named after the queue. This example needs a
// storage account, so it compiles only; the package's tests run against
// Azurite.
func ExampleOpen() {
	ctx := context.Background()
	l, err := ledgertable.Open(ctx, os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), ledgertable.DefaultTableName("moetron"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	c, err := l.Claim(ctx, "tweet:1332557345071644672")
	fmt.Println(c.Done, err)
}

// The table is named after the queue, within Azure's table name rules.
func ExampleDefaultTableName() {
	fmt.Println(ledgertable.DefaultTableName("moetron"))
	// Output: ledgermoetron
}
