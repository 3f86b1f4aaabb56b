package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one child process (a binary under test or Azurite). Its stdout
// and stderr go to a log file that is shown when the test fails; every
// generation of a restarted process appends to the same file.
type proc struct {
	t    testing.TB
	name string
	path string
	args []string
	env  []string
	log  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	start   int   // how many times it was started
	lastErr error // exit error of the last generation stopped
}

// newProc prepares a process; Start runs it. The process is killed when
// the test ends, and its log is printed if the test failed.
func newProc(t testing.TB, name, path string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, path: path, args: args, env: env,
		log: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("---- %s log (last 60 lines) ----\n%s", name, tail(p.log, 60))
		}
	})
	return p
}

// Start runs the process (again, after a Kill or Stop).
func (p *proc) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("%s: started twice", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.start++
	fmt.Fprintf(f, "==== %s start #%d at %s\n", p.name, p.start, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: start: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// Pid is the running process's id (0 when not running).
func (p *proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited reports whether the running generation has exited on its own,
// and how.
func (p *proc) Exited() (bool, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false, nil
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *proc) Kill() { p.signal(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It returns the exit error of a process that exited in time.
func (p *proc) Stop(grace time.Duration) error {
	if !p.signal(syscall.SIGTERM, grace) {
		p.signal(syscall.SIGKILL, 10*time.Second)
		return fmt.Errorf("%s: did not exit within %v of SIGTERM", p.name, grace)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// signal sends sig and waits up to d for the exit. It reports whether the
// process is gone (or was not running).
func (p *proc) signal(sig syscall.Signal, d time.Duration) bool {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return true
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(d):
		return false
	}
	p.mu.Lock()
	p.lastErr = p.err
	p.cmd, p.done, p.err = nil, nil, nil
	p.mu.Unlock()
	return true
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// eventually polls cond every interval until it returns nil or timeout
// passes, then fails t with cond's last error. A process in procs that
// exits on its own fails t at once.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error, procs ...*proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		for _, p := range procs {
			if gone, perr := p.Exited(); gone {
				t.Fatalf("%s: %s exited (%v) while waiting; last check: %v", what, p.name, perr, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// withEnv returns os.Environ() with kv ("K=V") set, replacing earlier values.
func withEnv(kv ...string) []string {
	keys := map[string]bool{}
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		keys[k] = true
	}
	var env []string
	for _, s := range os.Environ() {
		k, _, _ := strings.Cut(s, "=")
		if !keys[k] {
			env = append(env, s)
		}
	}
	return append(env, kv...)
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
