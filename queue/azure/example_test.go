package azure_test

import (
	"context"
	"fmt"
	"os"

	"github.com/moetron/moetron/queue/azure"
)

// The job queue on Azure Storage (or Azurite: UseDevelopmentStorage=true).
// This example needs a storage account, so it compiles only; the package's
// tests run against Azurite.
func ExampleNew() {
	q, err := azure.New(azure.Config{ConnectionString: os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), Name: "moetron"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := q.Create(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := q.Enqueue(ctx, []byte(`{"msg_type":"tweet"}`), nil); err != nil {
		fmt.Println(err)
	}
}
