package sqlite

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWatcherRunsWhileSomeoneListens(t *testing.T) {
	want := "inotify"
	if runtime.GOOS != "linux" {
		want = "poll"
	}
	for _, o := range []struct {
		opts Options
		mode string
	}{{Options{}, want}, {Options{Watch: WatchPoll}, "poll"}} {
		s, err := Open(filepath.Join(t.TempDir(), "q.db"), &o.opts)
		require.NoError(t, err)
		require.Equal(t, "", s.watchMode(), "no watcher before Changes")
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		s.Changes(ctx1)
		s.Changes(ctx2)
		require.Equal(t, o.mode, s.watchMode())
		cancel1()
		time.Sleep(50 * time.Millisecond) // give a wrong stop the chance to happen
		require.Equal(t, o.mode, s.watchMode(), "one subscriber is left")
		cancel2()
		deadline := time.Now().Add(10 * time.Second)
		for s.watchMode() != "" {
			require.True(t, time.Now().Before(deadline), "watcher still running 10 s after the last subscriber left")
			time.Sleep(5 * time.Millisecond)
		}
		s.Changes(context.Background()) // starts again
		require.Equal(t, o.mode, s.watchMode())
		require.NoError(t, s.Close())
		require.Equal(t, "", s.watchMode(), "Close stops the watcher")
	}
}

func TestOpenRejectsBadWatchOptions(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "q.db"), &Options{Watch: WatchMode(7)})
	require.Error(t, err)
	_, err = Open(filepath.Join(t.TempDir(), "q.db"), &Options{ChangePoll: -time.Second})
	require.Error(t, err)
}
