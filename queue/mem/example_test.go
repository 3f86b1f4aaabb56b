package mem_test

import (
	"context"
	"fmt"
	"time"

	"github.com/moetron/moetron/queue/mem"
)

func Example() {
	ctx := context.Background()
	q, err := mem.New("moetron", nil)
	if err != nil {
		panic(err)
	}
	if _, err := q.Enqueue(ctx, []byte(`{"msg_type":"tweet","respond_id":"1"}`), nil); err != nil {
		panic(err)
	}

	msgs, err := q.Receive(ctx, 16, 30*time.Second)
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Printf("%s (delivery %d)\n", m.Body, m.DequeueCount)
		// ... handle the job, then delete it with the receipt of this delivery.
		if err := q.Delete(ctx, m.ID, m.Receipt); err != nil {
			panic(err)
		}
	}
	n, _ := q.Len(ctx)
	fmt.Println("left:", n)
	// Output:
	// {"msg_type":"tweet","respond_id":"1"} (delivery 1)
	// left: 0
}
