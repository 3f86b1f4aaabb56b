package queueopen_test

import (
	"context"
	"fmt"

	"github.com/moetron/moetron/queue/queueopen"
)

// The queue named by QUEUE_BACKEND and QUEUE_NAME (here given through a
// map instead of the environment), opened and ready for jobs.
func ExampleOpen() {
	env := queueopen.FromLookup(func(k string) string {
		return map[string]string{"QUEUE_BACKEND": "mem", "QUEUE_NAME": "jobs"}[k]
	})
	o, err := queueopen.Open(context.Background(), env, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Close()
	if _, err := o.Queue.Enqueue(context.Background(), []byte(`{"msg_type":"tweet"}`), nil); err != nil {
		fmt.Println(err)
		return
	}
	n, _ := o.Queue.Len(context.Background())
	fmt.Println(o.Env, n)
	// Output: backend=mem name=jobs 1
}

// Bad settings are one error that names them all.
func ExampleEnv_Validate() {
	env := queueopen.FromLookup(func(k string) string {
		return map[string]string{"QUEUE_BACKEND": "azure", "QUEUE_NAME": "Jobs"}[k]
	})
	fmt.Println(env.Validate())
	// Output: queueopen: invalid queue settings: AZURE_STORAGE_CONNECTION_STRING is required for QUEUE_BACKEND=azure; QUEUE_NAME "Jobs" is not a valid queue name (3-63 lowercase letters, digits and single hyphens)
}
