package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/moetron/moetron/queue"
)

// Errors of this package, besides the queue package's. Test with errors.Is.
var (
	// ErrNotQueueDB means the file is not a SQLite database, is corrupt, or
	// is a SQLite database that some other program owns.
	ErrNotQueueDB = errors.New("sqlite: not a moetron queue database")
	// ErrSchemaVersion means the file was written by a newer version of this
	// package, whose schema this version does not know.
	ErrSchemaVersion = errors.New("sqlite: unsupported schema version")
	// ErrFull means the disk (or the database's size limit) is full. The
	// write that met it was rolled back; nothing already stored is lost.
	ErrFull = errors.New("sqlite: database or disk is full")
	// ErrReadOnly means the file or its directory cannot be opened for
	// writing: no permission, a read-only file system, a missing directory.
	ErrReadOnly = errors.New("sqlite: database file cannot be opened for writing")
)

const (
	// applicationID marks a file as a moetron queue ("moet").
	applicationID = 0x6d6f6574
	// schemaVersion is the PRAGMA user_version this code writes and reads.
	schemaVersion = 1
	// neverExpires is the expires_at of a message without a TTL.
	neverExpires = int64(1<<63 - 1)
)

// schema is version 1. Times are Unix nanoseconds.
const schema = `
CREATE TABLE queues (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
CREATE TABLE messages (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	queue_id      INTEGER NOT NULL REFERENCES queues(id),
	body          BLOB NOT NULL,
	inserted_at   INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	visible_at    INTEGER NOT NULL,
	dequeue_count INTEGER NOT NULL DEFAULT 0,
	receipt       TEXT NOT NULL
);
CREATE INDEX messages_visible ON messages (queue_id, visible_at);
CREATE INDEX messages_expires ON messages (queue_id, expires_at);
`

// dedupSchema is the table of EnqueueOptions.DedupKey, added within schema
// version 1: Open creates it when missing, and code that predates it
// ignores it, so files and processes of either age keep working together.
// A key names the message first enqueued with it until expires_at, also
// after that message is deleted.
const dedupSchema = `
CREATE TABLE IF NOT EXISTS dedup (
	queue_id   INTEGER NOT NULL REFERENCES queues(id),
	key        TEXT NOT NULL,
	message_id INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (queue_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_expires ON dedup (queue_id, expires_at);
`

// Options configure a Store. nil means the zero value, whose fields each say
// what zero means.
type Options struct {
	// BusyTimeout is how long a write waits for another process that holds
	// the write lock before failing with queue.ErrUnavailable. 0 means 10 s.
	BusyTimeout time.Duration
	// MaxBatch is the most writes one group commit carries. 0 means 256; 1
	// turns group commit off (one transaction and fsync per write).
	MaxBatch int
	// Logger receives rolled-back batches (Error) and schema creation
	// (Info). nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Two processes that
	// share a file must both use the real clock.
	Now func() time.Time
	// FileMode is the permission of the database file and of its -wal and
	// -shm files (SQLite gives those the database file's mode). 0 means
	// DefaultFileMode (0600). Open creates a new file with it and narrows an
	// existing file's mode to it; it never widens one. It must include owner
	// read and write.
	FileMode fs.FileMode
	// DedupWindow is how long an EnqueueOptions.DedupKey is remembered,
	// counted from the Enqueue that stored the message. 0 means
	// queue.DefaultDedupWindow.
	DedupWindow time.Duration
	// Watch is how Changes learns of writes (notify.go): WatchAuto, the
	// zero value, uses inotify on Linux and polls elsewhere; WatchPoll
	// always polls PRAGMA data_version.
	Watch WatchMode
	// ChangePoll is the data_version poll interval of Changes when it
	// polls. 0 means DefaultChangePoll (10 ms).
	ChangePoll time.Duration
}

// Store is one SQLite file holding any number of named queues. It is safe
// for concurrent use, and several processes may open the same file.
type Store struct {
	path     string
	db       *sql.DB
	w        *writer
	now      func() time.Time
	log      *slog.Logger
	maxBatch int
	dedup    time.Duration // DedupWindow

	watch      WatchMode     // Options.Watch
	changePoll time.Duration // Options.ChangePoll
	hub        hub           // subscribers of Changes (notify.go)

	closeOnce sync.Once
	closeErr  error
}

// Open opens the queue database at path, creating the file and the schema
// when they do not exist. The file must be on a local disk (WAL needs shared
// memory, which network file systems do not give).
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("%w: sqlite path %q: need the path of a file on disk", queue.ErrInvalidArgument, path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: sqlite path %q must not contain ? or #", queue.ErrInvalidArgument, path)
	}
	if o.BusyTimeout < 0 || o.MaxBatch < 0 || o.DedupWindow < 0 || o.ChangePoll < 0 {
		return nil, fmt.Errorf("%w: negative BusyTimeout, MaxBatch, DedupWindow or ChangePoll", queue.ErrInvalidArgument)
	}
	if o.Watch != WatchAuto && o.Watch != WatchPoll {
		return nil, fmt.Errorf("%w: unknown Watch mode %d", queue.ErrInvalidArgument, o.Watch)
	}
	if o.ChangePoll == 0 {
		o.ChangePoll = DefaultChangePoll
	}
	if o.DedupWindow == 0 {
		o.DedupWindow = queue.DefaultDedupWindow
	}
	if o.FileMode == 0 {
		o.FileMode = DefaultFileMode
	}
	if o.FileMode&^fs.ModePerm != 0 || o.FileMode&0o600 != 0o600 {
		return nil, fmt.Errorf("%w: FileMode %v must be permission bits with owner read and write", queue.ErrInvalidArgument, o.FileMode)
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 256
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := secureFiles(path, o.FileMode, o.Logger); err != nil {
		return nil, err
	}
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)",
		path, o.BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s := &Store{path: path, db: db, now: o.Now, log: o.Logger, maxBatch: o.MaxBatch, dedup: o.DedupWindow,
		watch: o.Watch, changePoll: o.ChangePoll}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err == nil {
		// Switching to WAL and creating the schema can meet SQLITE_BUSY at
		// once, without the busy handler, while another process opens the
		// same new file: retry until the busy timeout.
		deadline := time.Now().Add(o.BusyTimeout)
		for {
			err = s.initSchema(ctx, conn)
			if !isBusy(err) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
		}
		if err == nil {
			s.w, err = newWriter(ctx, conn, o.MaxBatch, o.Logger)
		}
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, classify(err))
	}
	return s, nil
}

// initSchema checks that the file is ours, switches it to WAL and creates
// the schema when the file is new.
func (s *Store) initSchema(ctx context.Context, conn *sql.Conn) error {
	// Look before changing anything, so a foreign database is left as it is.
	// The three reads share one read transaction: another process may be
	// creating the schema right now, and reads from different snapshots
	// would see its application_id unset but its tables present.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	err := checkIdentity(ctx, conn)
	if _, cerr := conn.ExecContext(ctx, "COMMIT"); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, errEmpty) {
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("%w: cannot switch to WAL (journal_mode is %s)", ErrReadOnly, mode)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err = checkIdentity(ctx, conn) // again, under the write lock
	if errors.Is(err, errEmpty) {
		_, err = conn.ExecContext(ctx, schema+fmt.Sprintf("PRAGMA application_id=%d; PRAGMA user_version=%d;", applicationID, schemaVersion))
		if err == nil {
			s.log.Info("sqlite: created queue schema", "path", s.path, "version", schemaVersion)
		}
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, dedupSchema)
	}
	if err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// errEmpty means a database with nothing in it: a new file.
var errEmpty = errors.New("empty database")

func checkIdentity(ctx context.Context, conn *sql.Conn) error {
	var appID, version, objects int64
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects); err != nil {
		return err
	}
	switch {
	case appID == 0 && version == 0 && objects == 0:
		return errEmpty
	case appID != applicationID:
		return fmt.Errorf("%w: the file is a SQLite database of another application (application_id %#x)", ErrNotQueueDB, appID)
	case version != schemaVersion:
		return fmt.Errorf("%w: the file has schema version %d, this package knows %d", ErrSchemaVersion, version, schemaVersion)
	}
	return nil
}

// Queue returns the queue called name in this store. The queue must be
// created (Create) before it is used, once per file by any process. The name
// follows Azure's rules: 3 to 63 lowercase letters, digits and single
// hyphens, starting and ending with a letter or digit.
func (s *Store) Queue(name string) (*Queue, error) {
	if err := queue.ValidateName(name); err != nil {
		return nil, err
	}
	return &Queue{s: s, name: name}, nil
}

// Close waits for the writes in flight, then closes the file. Later calls on
// the store's queues fail with queue.ErrClosed, and the channels of
// Changes are closed. Close is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.hub.close()
		werr := s.w.close()
		derr := s.db.Close()
		s.closeErr = errors.Join(werr, derr)
	})
	return s.closeErr
}

// classify wraps SQLite errors that callers may act on in this package's and
// the queue package's sentinels, keeping the original text.
// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%w: %w", ErrNotQueueDB, err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: %w", ErrFull, err)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: database locked by another connection: %w", queue.ErrUnavailable, err)
	}
	return err
}
