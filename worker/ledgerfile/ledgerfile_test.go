package ledgerfile_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/worker/ledgerfile"
	"github.com/moetron/moetron/worker/ledgertest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, path string, o *ledgerfile.Options) *ledgerfile.Ledger {
	t.Helper()
	l, err := ledgerfile.Open(path, o)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// The shared suite, with owners on one file (worker processes of one
// machine).
func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T, n int) []worker.Ledger {
		path := filepath.Join(t.TempDir(), "ledger.db")
		ls := make([]worker.Ledger, n)
		for i := range ls {
			ls[i] = open(t, path, nil)
		}
		return ls
	})
}

// What a restart must keep: answered jobs, and claims that a killed
// process never finished.
func TestSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "ledger.db")
	clk := &clock{t: time.Now()}
	opts := &ledgerfile.Options{Heartbeat: time.Hour, Now: clk.now}
	l, err := ledgerfile.Open(path, opts)
	require.NoError(t, err)
	_, err = l.Claim(ctx, "tweet:1")
	require.NoError(t, err)
	require.NoError(t, l.Done(ctx, "tweet:1", "11"))
	_, err = l.Claim(ctx, "tweet:2") // the process dies holding this one
	require.NoError(t, err)
	require.NoError(t, l.Close())

	l2 := open(t, path, opts)
	c, err := l2.Claim(ctx, "tweet:1")
	require.NoError(t, err)
	assert.Equal(t, "11", c.Done)
	_, err = l2.Claim(ctx, "tweet:2")
	require.ErrorIs(t, err, worker.ErrClaimed, "a fresh claim of another owner is live")
	clk.add(4*time.Hour + time.Second)
	c, err = l2.Claim(ctx, "tweet:2")
	require.NoError(t, err)
	assert.True(t, c.Unfinished, "a stale claim reads back")

	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
	}
	fi, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

// The heartbeat keeps a long job's claim live for other owners.
func TestHeartbeatKeepsClaimLive(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	a := open(t, path, &ledgerfile.Options{Heartbeat: 20 * time.Millisecond})
	b := open(t, path, &ledgerfile.Options{Heartbeat: 20 * time.Millisecond})
	_, err := a.Claim(ctx, "tweet:9")
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // 10 heartbeats, 2.5 stale periods
	_, err = b.Claim(ctx, "tweet:9")
	require.ErrorIs(t, err, worker.ErrClaimed)
	require.NoError(t, a.Close()) // the owner stops beating
	require.Eventually(t, func() bool {
		c, err := b.Claim(ctx, "tweet:9")
		return err == nil && c.Unfinished
	}, 5*time.Second, 10*time.Millisecond)
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "file:x.db", "a.db?mode=ro"} {
		_, err := ledgerfile.Open(p, nil)
		assert.Error(t, err, p)
	}
	_, err := ledgerfile.Open(filepath.Join(t.TempDir(), "l.db"), &ledgerfile.Options{Heartbeat: time.Second, StaleAfter: time.Second})
	assert.Error(t, err)
}

func BenchmarkClaimDone(b *testing.B) {
	ctx := context.Background()
	l, err := ledgerfile.Open(filepath.Join(b.TempDir(), "ledger.db"), nil)
	require.NoError(b, err)
	defer l.Close()
	for i := 0; b.Loop(); i++ {
		id := "tweet:" + time.Now().Format("150405.000000000")
		if _, err := l.Claim(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := l.Done(ctx, id, "1"); err != nil {
			b.Fatal(err)
		}
	}
}

// A claim whose process is gone is taken over at once, without waiting for
// its heartbeat to go stale.
func TestDeadOwnerTakenOver(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run()) // a pid that no longer runs
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	l := open(t, path, nil) // creates the schema
	_, err = db.Exec(`INSERT INTO jobs(job_id, state, owner, at_ms) VALUES('tweet:5', 1, ?, ?)`,
		strconv.Itoa(cmd.Process.Pid)+"-00", time.Now().UnixMilli())
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO jobs(job_id, state, owner, at_ms) VALUES('tweet:6', 1, ?, ?)`,
		strconv.Itoa(os.Getpid())+"-00", time.Now().UnixMilli())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	c, err := l.Claim(ctx, "tweet:5")
	require.NoError(t, err)
	assert.True(t, c.Unfinished)
	_, err = l.Claim(ctx, "tweet:6")
	require.ErrorIs(t, err, worker.ErrClaimed, "a live process's fresh claim holds")
}
