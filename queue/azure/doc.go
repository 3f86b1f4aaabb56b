// Package azure is the Azure Storage Queue backend of queue.Queue, built on
// the azqueue v2 SDK (github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/v2).
//
// Use it when the webhook and the worker run on different machines, or when
// several GPU workers compete for one queue.
//
//	q, err := azure.New(azure.Config{
//		ConnectionString: os.Getenv("AZURE_STORAGE_CONNECTION_STRING"),
//		Name:             "moetron",
//	})
//
// What it does about the SDK's and the service's traps:
//
//   - "UseDevelopmentStorage=true", which the SDK's parser rejects, is mapped
//     to Azurite's well-known account on 127.0.0.1:10001
//     (ExpandConnectionString).
//   - Bodies are written as plain text by default (what the original bot
//     wrote); Encoding Base64 writes what Azure Functions expects. The SDK
//     sends text inside XML and the service replaces characters XML cannot
//     carry, so Text mode refuses such bodies (queue.ErrInvalidBody) instead
//     of storing something else. Base64 mode reads plain texts too.
//   - Sizes are checked before sending: queue.MaxBodySize (48 KiB) of body,
//     and at most 64 KiB of text on the wire.
//   - Update Message always sends a body and an empty one erases the
//     message, so a visibility-only Update re-sends the text this client
//     received; and the visibility is always sent explicitly, because the
//     SDK's default of 0 makes the message visible at once.
//   - Every call runs under a deadline (Config.CallTimeout, 30 s by
//     default): a stalled service otherwise holds a call for minutes.
//   - Service errors map to the queue package's: PopReceiptMismatch and
//     MessageNotFound to queue.ErrLeaseLost (another consumer owns the
//     message), MessageTooLarge and Azurite's 413 RequestBodyTooLarge to
//     queue.ErrTooLarge, QueueNotFound to queue.ErrQueueNotFound, 5xx and
//     transport failures to queue.ErrUnavailable. 409 on Create means the
//     queue exists and is not an error.
//   - EnqueueOptions.DedupKey is ignored (after its length check): Azure
//     Storage Queue has no unique key or conditional enqueue, and a side
//     table would need a second service and a transaction across the two.
//     Deduplication on Azure is best effort: the caller's duplicate filter
//     and the worker's idempotency ledger catch what the queue lets through.
//
// Tests run against Azurite (npm package azurite), which `make test` installs
// and starts; see scripts/azurite.sh.
package azure
