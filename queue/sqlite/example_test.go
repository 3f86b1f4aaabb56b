package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moetron/moetron/queue/sqlite"
)

func Example() {
	dir, err := os.MkdirTemp("", "moetron")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The webhook and the worker each open the same file.
	store, err := sqlite.Open(filepath.Join(dir, "queue.db"), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	q, err := store.Queue("moetron")
	if err != nil {
		panic(err)
	}
	if err := q.Create(ctx); err != nil { // idempotent; either process may do it
		panic(err)
	}

	// Webhook side: Enqueue returns once the job is fsynced.
	if _, err := q.Enqueue(ctx, []byte(`{"msg_type":"dm","respond_id":"42"}`), nil); err != nil {
		panic(err)
	}

	// Worker side: take a batch, handle each job, delete it.
	msgs, err := q.Receive(ctx, 32, time.Minute)
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Printf("job %s, delivery %d\n", m.Body, m.DequeueCount)
		if err := q.Delete(ctx, m.ID, m.Receipt); err != nil {
			panic(err)
		}
	}
	// Output:
	// job {"msg_type":"dm","respond_id":"42"}, delivery 1
}
