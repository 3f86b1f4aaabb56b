// Package sqlite is the embedded, default queue.Queue: queues in one SQLite
// file on local disk, shared safely by the processes of one machine (the
// webhook and the worker).
//
// # Driver
//
// The driver is modernc.org/sqlite, SQLite translated to pure Go. It keeps
// cgo out of the webhook's build (static binaries, cross-compiling, no C
// toolchain in CI) at the cost of slower queries than the C library; the
// queue's cost is dominated by fsync, so the difference does not matter here.
//
// # Durability and concurrency
//
// The file is in WAL mode with synchronous=FULL: an Enqueue, Delete or
// Update that returns nil has been committed and the WAL fsynced. Every
// write of a Store goes through one connection and one goroutine, which
// practises group commit: writes that arrive while a commit is in progress
// wait, then all of them run in the next transaction (BEGIN IMMEDIATE) and
// share its single fsync; consecutive Enqueues of a batch are stored with
// one multi-row INSERT, and their dedup keys looked up and stored with one
// statement per 64 keys. EnqueueBatch hands the writer many messages as one
// write, all stored or none (intake's journal moves its jobs with it). Many concurrent Enqueue calls therefore cost about
// one fsync per batch, not one each. A write whose context ends before its
// batch starts is dropped with the context's error; once started, the call
// waits for the commit, so its result is always the truth. When a write fails
// for a reason other than its own answer (queue.ErrLeaseLost or
// queue.ErrQueueNotFound), for example a full disk, the whole batch is rolled
// back and every write in it returns an error saying so; nothing committed
// earlier is touched. Options.MaxBatch bounds a batch (1 turns group commit
// off).
//
// Several processes may open the same file: SQLite's locks serialise their
// transactions, and a writer waits up to Options.BusyTimeout for another
// process's transaction before failing with queue.ErrUnavailable. Reads for
// Len use other connections and do not wait for writers.
//
// # Change notification
//
// Queue implements queue.Notifier: Changes reports commits to the file by
// any process, so a queue.Consumer in the worker process takes a job the
// webhook process enqueued within milliseconds rather than at its next
// idle poll. On Linux it watches the file's directory with inotify for
// writes to the -wal file, which costs nothing while nothing is written;
// elsewhere, or when inotify fails, it polls PRAGMA data_version every
// Options.ChangePoll (10 ms). See notify.go, and bench/pickup for both.
//
// # Semantics
//
// The same as Azure Storage Queue's (see package queue and queue/mem):
// Receive takes up to 32 visible messages in one transaction, hides them,
// increments their dequeue counts and gives each a new random receipt;
// Update and Delete need the current receipt; a message whose visibility
// has passed but that nobody has received again can still be deleted with
// its receipt; Enqueue's receipt works until the first Receive. Expired
// messages are never delivered and are purged lazily, at most once a second
// per queue handle, by Receive. Message ids are the row ids, as decimal
// strings, never reused.
//
// A queue must be created once per file (Create, by either process) before
// use, as on Azure; until then its calls fail with queue.ErrQueueNotFound.
//
// # Schema
//
// The file carries PRAGMA application_id 0x6d6f6574 ("moet") and the schema
// version in PRAGMA user_version (now 1). Open creates the schema in a new or
// empty file, refuses a file that is not SQLite, is corrupt or belongs to
// another application (ErrNotQueueDB) and one with a schema version it does
// not know (ErrSchemaVersion), and changes nothing in those files. Disk-full
// errors wrap ErrFull; unwritable files and directories wrap ErrReadOnly.
//
// # Deduplication
//
// EnqueueOptions.DedupKey is honoured: the dedup table maps (queue, key) to
// the message first stored with the key until Options.DedupWindow (24 h by
// default) has passed, also after that message was deleted, so a second
// Enqueue with the key in that window stores nothing and returns the first
// message's id with Message.Duplicate set. The look-up and the insert run in
// the writer's transaction, so concurrent Enqueues (in one group commit or
// from several processes) store one message. Expired keys are purged with
// expired messages, by Receive. The table was added within schema version 1
// (Open creates it when missing; older code ignores it).
//
// # File permissions
//
// Rows hold DM text, user ids and names, so the file is owner-only: Open
// creates it 0600 itself before SQLite sees it (SQLite would create it 0644,
// and gives its -wal and -shm files the database file's mode), and narrows
// an existing file's, -wal's and -shm's mode to Options.FileMode (default
// 0600; 0660 for processes that share the file through a group). It never
// widens a mode; a mode it cannot change (another user's file) is logged.
// Open does not create the directory: a missing one gives ErrReadOnly, and
// the directory's own mode is the caller's choice (0700 is advised).
package sqlite
