// Package queueopen opens the job queue a binary is configured for, so that
// the webhook and the worker read the same settings the same way.
//
// The settings are environment variables (the README's table), each also a flag:
//
//	QUEUE_BACKEND                    sqlite (default), azure or mem
//	QUEUE_NAME                       the queue's name (default moetron)
//	QUEUE_PATH                       the SQLite file (default
//	                                 $XDG_STATE_HOME/moetron/queue.db, else
//	                                 ~/.local/state/moetron/queue.db)
//	AZURE_STORAGE_CONNECTION_STRING  for azure; also UseDevelopmentStorage=true
//
// Env holds them; FromEnv reads them from the environment and Env.Flags binds
// them to a flag.FlagSet with the environment's values as defaults (a flag
// given on the command line wins). Open validates the settings, opens the
// backend, creates the queue if it does not exist and returns a Queue with
// the PoisonFactory a queue.Consumer needs and a Close function.
//
// The default QUEUE_PATH is absolute (DefaultPath, see DefaultPathFor): a
// relative default would give a webhook and a worker started from different
// directories two different queues, and nothing would ever be answered.
// Open creates the default file's directory (mode 0700) if it is missing.
//
// Each backend is what its package documents: sqlite is one file shared by
// the webhook and the worker on one machine; azure lets workers on many
// machines compete for one queue; mem lives and dies with the process and only
// makes sense when the webhook and the worker run in one process.
//
// The Azure connection string holds an account key: it never appears in an
// error or a String result (String shows "set" or "unset").
package queueopen
