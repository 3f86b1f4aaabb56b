package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

func TestOpenRejectsNonSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	content := []byte("these are my notes, not a database\n" + string(make([]byte, 4096)))
	require.NoError(t, os.WriteFile(path, content, 0o600))
	_, err := sqlite.Open(path, nil)
	require.ErrorIs(t, err, sqlite.ErrNotQueueDB)
	assert.Contains(t, err.Error(), path)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, content, after, "the file must be left untouched")
}

func TestOpenRejectsCorruptDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := sqlite.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	// Keep the SQLite header, overwrite the pages behind it.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	junk := make([]byte, 8192)
	for i := range junk {
		junk[i] = 0xA5
	}
	_, err = f.WriteAt(junk, 100)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = sqlite.Open(path, nil)
	require.ErrorIs(t, err, sqlite.ErrNotQueueDB)
}

func TestOpenRejectsForeignDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE users (name TEXT)")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = sqlite.Open(path, nil)
	require.ErrorIs(t, err, sqlite.ErrNotQueueDB)
	assert.NoFileExists(t, path+"-wal", "a foreign database must not be switched to WAL")
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := sqlite.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 99")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = sqlite.Open(path, nil)
	require.ErrorIs(t, err, sqlite.ErrSchemaVersion)
	assert.Contains(t, err.Error(), "99")
}

func TestOpenBadArguments(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:q.db", "q.db?mode=ro", "a#b"} {
		_, err := sqlite.Open(path, nil)
		assert.ErrorIs(t, err, queue.ErrInvalidArgument, "path %q", path)
	}
	dir := t.TempDir()
	_, err := sqlite.Open(filepath.Join(dir, "q.db"), &sqlite.Options{MaxBatch: -1})
	assert.ErrorIs(t, err, queue.ErrInvalidArgument)
	_, err = sqlite.Open(filepath.Join(dir, "q.db"), &sqlite.Options{BusyTimeout: -time.Second})
	assert.ErrorIs(t, err, queue.ErrInvalidArgument)

	s, err := sqlite.Open(filepath.Join(dir, "q.db"), nil)
	require.NoError(t, err)
	defer s.Close()
	for _, name := range []string{"", "ab", "Jobs", "jobs_1", "-jobs", "jo--bs"} {
		_, err := s.Queue(name)
		assert.ErrorIs(t, err, queue.ErrInvalidArgument, "name %q", name)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "q.db")
	_, err := sqlite.Open(path, nil)
	require.ErrorIs(t, err, sqlite.ErrReadOnly)
	assert.Contains(t, err.Error(), path)
}

// TestOpenUnwritableDirectory makes the directory unwritable (chmod for a
// normal user; the immutable attribute for root, whom chmod does not stop).
func TestOpenUnwritableDirectory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses Linux permissions")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	require.NoError(t, os.Mkdir(dir, 0o755))
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("running as root and cannot make %s immutable: %v %s", dir, err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
	} else {
		require.NoError(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	_, err := sqlite.Open(filepath.Join(dir, "q.db"), nil)
	require.ErrorIs(t, err, sqlite.ErrReadOnly)
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	require.NoError(t, err)
	q, err := s.Queue("jobs")
	require.NoError(t, err)
	require.NoError(t, q.Create(ctx))
	m, err := q.Enqueue(ctx, []byte("x"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice is fine")

	assert.ErrorIs(t, q.Create(ctx), queue.ErrClosed)
	_, err = q.Enqueue(ctx, []byte("x"), nil)
	assert.ErrorIs(t, err, queue.ErrClosed)
	_, err = q.Receive(ctx, 1, time.Second)
	assert.ErrorIs(t, err, queue.ErrClosed)
	assert.ErrorIs(t, q.Delete(ctx, m.ID, m.Receipt), queue.ErrClosed)
	_, err = q.Update(ctx, m.ID, m.Receipt, 0, nil)
	assert.ErrorIs(t, err, queue.ErrClosed)
	_, err = q.Len(ctx)
	assert.ErrorIs(t, err, queue.ErrClosed)
}

// TestReopenKeepsMessages checks that what Enqueue committed is on disk.
func TestReopenKeepsMessages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := sqlite.Open(path, nil)
	require.NoError(t, err)
	q, _ := s.Queue("jobs")
	require.NoError(t, q.Create(ctx))
	sent, err := q.Enqueue(ctx, []byte("persisted"), nil)
	require.NoError(t, err)
	other, _ := s.Queue("other")
	require.NoError(t, other.Create(ctx))
	_, err = other.Enqueue(ctx, []byte("elsewhere"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s2, err := sqlite.Open(path, nil)
	require.NoError(t, err)
	defer s2.Close()
	q2, _ := s2.Queue("jobs")
	got, err := q2.Receive(ctx, queue.MaxReceive, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 1, "queues in one file are separate")
	assert.Equal(t, sent.ID, got[0].ID)
	assert.Equal(t, "persisted", string(got[0].Body))
}
