package sqlite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

// withUmask runs the test under umask 022, the usual default, under which
// SQLite creates files 0644. The umask is process-wide: these tests are not
// parallel.
func withUmask(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("uses Unix permissions")
	}
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// openAndWrite opens the store at path and enqueues one message, so the
// -wal and -shm files exist while the store is open.
func openAndWrite(t *testing.T, path string, opts *sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	q, err := s.Queue("jobs")
	require.NoError(t, err)
	require.NoError(t, q.Create(context.Background()))
	_, err = q.Enqueue(context.Background(), []byte(`{"text":"a DM"}`), nil)
	require.NoError(t, err)
	return s
}

func TestNewFilesAreOwnerOnly(t *testing.T) {
	withUmask(t)
	path := filepath.Join(t.TempDir(), "queue.db")
	openAndWrite(t, path, nil)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		assert.Equal(t, fs.FileMode(0o600), perm(t, p), p)
	}
}

func TestExistingFilesAreNarrowed(t *testing.T) {
	withUmask(t)
	path := filepath.Join(t.TempDir(), "queue.db")
	openAndWrite(t, path, nil) // another process keeps the file open
	files := []string{path, path + "-wal", path + "-shm"}
	for _, p := range files {
		require.NoError(t, os.Chmod(p, 0o644)) // as an older version left them
	}
	openAndWrite(t, path, nil)
	for _, p := range files {
		assert.Equal(t, fs.FileMode(0o600), perm(t, p), p)
	}
}

func TestFileModeOption(t *testing.T) {
	withUmask(t)
	dir := t.TempDir()
	// A group-shared file keeps its group bits but loses the world's.
	path := filepath.Join(dir, "shared.db")
	require.NoError(t, os.WriteFile(path, nil, 0o664))
	require.NoError(t, os.Chmod(path, 0o664))
	openAndWrite(t, path, &sqlite.Options{FileMode: 0o660})
	assert.Equal(t, fs.FileMode(0o660), perm(t, path))
	assert.Equal(t, fs.FileMode(0o660), perm(t, path+"-wal"))

	// A narrower existing file is never widened.
	path = filepath.Join(dir, "narrow.db")
	openAndWrite(t, path, nil)
	openAndWrite(t, path, &sqlite.Options{FileMode: 0o660})
	assert.Equal(t, fs.FileMode(0o600), perm(t, path))

	for _, m := range []fs.FileMode{0o400, 0o044, fs.ModeDir | 0o600} {
		_, err := sqlite.Open(filepath.Join(dir, "bad.db"), &sqlite.Options{FileMode: m})
		assert.ErrorIs(t, err, queue.ErrInvalidArgument, "mode %v", m)
	}
}
