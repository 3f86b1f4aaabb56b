package ledgerfile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moetron/moetron/worker/ledgerfile"
)

// One answer per job id: once a job is done, a second claim (a redelivered
// message, another worker process of the machine) learns the reply id
// instead of answering again, also after a restart.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "ledger")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "moetron-ledger.db")
	ctx := context.Background()

	l, err := ledgerfile.Open(path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := l.Claim(ctx, "tweet:1332557345071644672")
	fmt.Printf("first claim: done=%q unfinished=%t\n", c.Done, c.Unfinished)
	l.Done(ctx, "tweet:1332557345071644672", "1332557345071644999")
	l.Close()

	l, _ = ledgerfile.Open(path, nil) // a restart
	defer l.Close()
	c, _ = l.Claim(ctx, "tweet:1332557345071644672")
	fmt.Printf("after a restart: done=%q\n", c.Done)
	fi, _ := os.Stat(path)
	fmt.Println(fi.Mode().Perm())
	// Output:
	// first claim: done="" unfinished=false
	// after a restart: done="1332557345071644999"
	// -rw-------
}
