// Package mem is an in-process queue.Queue with Azure Storage Queue
// semantics, for tests and for the one-process demo.
//
// Nothing is persisted: the messages live in the process's memory and are
// gone when it exits. Everything else behaves as on Azure:
//
//   - Receive hides each message for the visibility timeout, increments its
//     dequeue count and gives it a fresh receipt; when the timeout passes
//     without a Delete the message is delivered again.
//   - Enqueue also returns a receipt (Azure's pop receipt), which works with
//     Delete and Update until the message is first received.
//   - Update and Delete need the current receipt. A superseded receipt, an
//     unknown id or a deleted or expired message give queue.ErrLeaseLost. As
//     on Azure, a receipt stays current after its visibility timeout has
//     passed, until someone receives the message again.
//   - Messages expire after their time-to-live (queue.DefaultTTL unless the
//     EnqueueOptions say otherwise); expired messages are never delivered and
//     are dropped lazily.
//   - Enqueue with a Delay keeps the message invisible for that long.
//
// Ordering is oldest-visible-first, but callers must not rely on it: other
// backends do not promise any order.
//
// The clock and the randomness behind ids and receipts are injectable
// through Options, so tests can step time instead of sleeping.
//
// Unlike Azure, a queue returned by New already exists: Create only checks
// that the queue is open. The queue name follows Azure's rules (3 to 63
// lowercase letters, digits and single hyphens, starting and ending with a
// letter or digit), so a name that works here works on every backend.
//
// EnqueueOptions.DedupKey is honoured as on SQLite: a key is remembered for
// Options.DedupWindow (24 h by default) from the Enqueue that stored its
// message, also after that message is deleted; expired keys are swept at
// most once a minute by Enqueue.
package mem
