package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

// helperEnv, when set to a database path, turns the test binary into the
// second process of TestTwoProcesses (see TestMain).
const helperEnv = "MOETRON_SQLITE_HELPER_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		received, err := shareWork(path, "child")
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		for _, b := range received {
			fmt.Println(b)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const perProcess = 300

// shareWork is what each of the two processes does on the shared file: it
// enqueues perProcess messages tagged with its name while receiving and
// deleting messages (anyone's), until it has finished enqueueing and the
// queue is empty. It returns the bodies it received.
func shareWork(path, tag string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := sqlite.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	q, err := s.Queue("shared")
	if err != nil {
		return nil, err
	}
	if err := q.Create(ctx); err != nil {
		return nil, err
	}
	var (
		mu       sync.Mutex
		received []string
		errs     = make(chan error, 8)
		wg       sync.WaitGroup
		enqDone  = make(chan struct{})
		enqWG    sync.WaitGroup
	)
	for w := range 4 {
		enqWG.Go(func() {
			for i := w; i < perProcess; i += 4 {
				if _, err := q.Enqueue(ctx, fmt.Appendf(nil, "%s-%d", tag, i), nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { enqWG.Wait(); close(enqDone) }()
	for range 3 {
		wg.Go(func() {
			for {
				ms, err := q.Receive(ctx, 8, 5*time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if len(ms) == 0 {
					select {
					case <-enqDone:
						n, err := q.Len(ctx)
						if err != nil {
							errs <- err
							return
						}
						if n == 0 {
							return
						}
					default:
					}
					time.Sleep(time.Millisecond)
					continue
				}
				for _, m := range ms {
					mu.Lock()
					received = append(received, string(m.Body))
					mu.Unlock()
					if err := q.Delete(ctx, m.ID, m.Receipt); err != nil {
						errs <- fmt.Errorf("delete %s: %w", m.Body, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	enqWG.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	return received, nil
}

// TestTwoProcesses runs shareWork in this process and in a child process on
// the same file at the same time: every message must be received exactly
// once across both (the visibility is far longer than the test, so a second
// delivery would be a lease given to two processes).
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	// Create the file first so both processes open an existing schema
	// (creating it concurrently is also safe; TestConcurrentOpen covers it).
	s, err := sqlite.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())

	mine, err := shareWork(path, "parent")
	require.NoError(t, err)
	require.NoError(t, cmd.Wait(), "child failed: %s", stderr.String())

	var theirs []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		theirs = append(theirs, sc.Text())
	}
	require.NoError(t, sc.Err())

	seen := map[string]string{}
	for who, list := range map[string][]string{"parent": mine, "child": theirs} {
		for _, b := range list {
			if prev, dup := seen[b]; dup {
				t.Errorf("%s delivered to %s and to %s", b, prev, who)
			}
			seen[b] = who
		}
	}
	for _, tag := range []string{"parent", "child"} {
		for i := range perProcess {
			_, ok := seen[fmt.Sprintf("%s-%d", tag, i)]
			assert.True(t, ok, "%s-%d lost", tag, i)
		}
	}
	assert.Len(t, seen, 2*perProcess)
	t.Logf("parent received %d, child %d", len(mine), len(theirs))
	assert.False(t, strings.Contains(stderr.String(), "panic"))
}

// TestConcurrentOpen opens a new file from several stores at once: exactly
// one creates the schema and all of them work.
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(path, nil) })
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i])
		defer s.Close()
	}
	q0, _ := stores[0].Queue("jobs")
	require.NoError(t, q0.Create(ctx))
	_, err := q0.Enqueue(ctx, []byte("x"), nil)
	require.NoError(t, err)
	q3, _ := stores[3].Queue("jobs")
	got, err := q3.Receive(ctx, queue.MaxReceive, time.Minute)
	require.NoError(t, err)
	assert.Len(t, got, 1)
}
