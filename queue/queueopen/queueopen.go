package queueopen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/azure"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/queue/sqlite"
)

// Backends.
const (
	BackendSQLite = "sqlite"
	BackendAzure  = "azure"
	BackendMem    = "mem"
)

// Defaults of Env.
const (
	DefaultBackend = BackendSQLite
	DefaultName    = "moetron"
)

// DefaultPath is the SQLite queue file used when QUEUE_PATH is empty:
// DefaultPathFor(os.Getenv), worked out once when the program starts. It is
// absolute, so that a webhook and a worker started from different working
// directories (systemd units, containers) share one queue.
var DefaultPath = DefaultPathFor(os.Getenv)

// DefaultPathFor is the default SQLite queue file for the environment read
// through getenv: $XDG_STATE_HOME/moetron/queue.db, else
// ~/.local/state/moetron/queue.db (the XDG default), the same directory the
// webhook's spool uses. A relative XDG_STATE_HOME is ignored, as the XDG
// specification asks. Without a home directory it falls back to the system
// temporary directory.
func DefaultPathFor(getenv func(string) string) string {
	const dir, file = "moetron", "queue.db"
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, dir, file)
	}
	home := getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
			home = h
		} else {
			home = ""
		}
	}
	if home != "" {
		return filepath.Join(home, ".local", "state", dir, file)
	}
	return filepath.Join(os.TempDir(), dir, file)
}

// Environment variable names.
const (
	EnvBackend          = "QUEUE_BACKEND"
	EnvName             = "QUEUE_NAME"
	EnvPath             = "QUEUE_PATH"
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
)

// ErrConfig is wrapped by every settings error of Open.
var ErrConfig = errors.New("queueopen: invalid queue settings")

// Env is the queue configuration of a binary. The zero value of each field
// means its default.
type Env struct {
	// Backend is BackendSQLite (empty means this), BackendAzure or BackendMem.
	Backend string
	// Name is the queue's name; empty means DefaultName. The poison queue
	// is Name + queue.PoisonSuffix.
	Name string
	// Path is the SQLite file; empty means DefaultPath. Ignored by the other
	// backends.
	Path string
	// ConnectionString is the Azure Storage connection string; required
	// for BackendAzure, ignored by the others. A secret.
	ConnectionString string
}

// FromEnv reads Env from the process environment.
func FromEnv() Env { return FromLookup(os.Getenv) }

// FromLookup reads Env through getenv (os.Getenv, or a map in tests).
func FromLookup(getenv func(string) string) Env {
	return Env{
		Backend:          getenv(EnvBackend),
		Name:             getenv(EnvName),
		Path:             getenv(EnvPath),
		ConnectionString: getenv(EnvConnectionString),
	}
}

// Flags binds e's fields to flags of fs named after the environment
// variables in lower case with dashes (-queue-backend, -queue-name,
// -queue-path, -azure-storage-connection-string). The current values of e
// are the flags' defaults, so call FromEnv first and let the command line win.
func (e *Env) Flags(fs *flag.FlagSet) {
	fs.StringVar(&e.Backend, envflag.Name(EnvBackend), e.Backend, "queue backend: sqlite, azure or mem (default sqlite)")
	fs.StringVar(&e.Name, envflag.Name(EnvName), e.Name, "queue name (default "+DefaultName+")")
	fs.StringVar(&e.Path, envflag.Name(EnvPath), e.Path, "SQLite queue file (default "+DefaultPath+")")
	envflag.Secret(fs, &e.ConnectionString, EnvConnectionString,
		"Azure Storage connection string (secret; prefer the environment variable)")
}

// WithDefaults returns e with its zero fields filled: DefaultBackend,
// DefaultName and, for the SQLite backend, DefaultPath.
func (e Env) WithDefaults() Env {
	if e.Backend == "" {
		e.Backend = DefaultBackend
	}
	if e.Name == "" {
		e.Name = DefaultName
	}
	if e.Path == "" && e.Backend == BackendSQLite {
		e.Path = DefaultPath
	}
	return e
}

// Validate reports every problem of e at once, in an error wrapping
// ErrConfig. It never shows the connection string.
func (e Env) Validate() error {
	e = e.WithDefaults()
	var probs []string
	switch e.Backend {
	case BackendSQLite, BackendMem:
	case BackendAzure:
		if e.ConnectionString == "" {
			probs = append(probs, EnvConnectionString+" is required for "+EnvBackend+"=azure")
		}
	default:
		probs = append(probs, fmt.Sprintf("%s %q is not sqlite, azure or mem", EnvBackend, e.Backend))
	}
	if err := queue.ValidateName(e.Name); err != nil {
		probs = append(probs, fmt.Sprintf("%s %q is not a valid queue name (3-63 lowercase letters, digits and single hyphens)", EnvName, e.Name))
	} else if len(e.Name)+len(queue.PoisonSuffix) > 63 {
		probs = append(probs, fmt.Sprintf("%s %q is too long to have a poison queue (at most %d characters)", EnvName, e.Name, 63-len(queue.PoisonSuffix)))
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(probs, "; "))
	}
	return nil
}

// String describes e for a log line, without the connection string.
func (e Env) String() string {
	e = e.WithDefaults()
	switch e.Backend {
	case BackendSQLite:
		return fmt.Sprintf("backend=sqlite name=%s path=%s", e.Name, e.Path)
	case BackendAzure:
		cs := "unset"
		if e.ConnectionString != "" {
			cs = "set"
		}
		return fmt.Sprintf("backend=azure name=%s connection_string=%s", e.Name, cs)
	default:
		return fmt.Sprintf("backend=%s name=%s", e.Backend, e.Name)
	}
}

// Options are optional settings of Open; nil means the zero value.
type Options struct {
	// Logger is passed to the backends that take one. nil discards.
	Logger *slog.Logger
	// StartUnavailable lets Open succeed when the backend cannot be reached
	// to create the queue (an error wrapping queue.ErrUnavailable): the
	// queue is returned wrapped so that it creates itself on first use
	// once the backend answers. The webhook uses it, since its spool keeps
	// jobs while the queue is away; a worker has nothing to do without the
	// queue and should fail instead.
	StartUnavailable bool
}

// Opened is an open queue.
type Opened struct {
	// Queue is the job queue, created if it did not exist.
	Queue queue.Queue
	// PoisonFactory opens a sibling queue by name on the same backend (for
	// queue.ConsumerConfig.PoisonFactory); the Consumer creates it.
	PoisonFactory func(name string) (queue.Queue, error)
	// Env is the configuration used, defaults filled in.
	Env Env

	close func() error
	once  sync.Once
	err   error
}

// Close releases the backend (the SQLite file, the in-memory queues). It is
// safe to call more than once.
func (o *Opened) Close() error {
	o.once.Do(func() {
		if o.close != nil {
			o.err = o.close()
		}
	})
	return o.err
}

// Open validates e, opens its backend and creates the queue if missing.
// Settings errors wrap ErrConfig; backend errors wrap the backend's (for
// example sqlite.ErrNotQueueDB or queue.ErrUnavailable).
func Open(ctx context.Context, e Env, opts *Options) (*Opened, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	e = e.WithDefaults()
	if opts == nil {
		opts = &Options{}
	}
	o := &Opened{Env: e}
	switch e.Backend {
	case BackendSQLite:
		if e.Path == DefaultPath { // the state directory may not exist yet
			if err := os.MkdirAll(filepath.Dir(e.Path), 0o700); err != nil {
				return nil, fmt.Errorf("queueopen: creating the directory of the default queue file (set %s to choose another): %w", EnvPath, err)
			}
		}
		st, err := sqlite.Open(e.Path, &sqlite.Options{Logger: opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("queueopen: opening SQLite queue file %s: %w", e.Path, err)
		}
		q, err := st.Queue(e.Name)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("queueopen: %w", err)
		}
		o.Queue, o.close = q, st.Close
		o.PoisonFactory = func(name string) (queue.Queue, error) { return st.Queue(name) }
	case BackendAzure:
		newQ := func(name string) (queue.Queue, error) {
			q, err := azure.New(azure.Config{ConnectionString: e.ConnectionString, Name: name})
			if err != nil {
				return nil, fmt.Errorf("queueopen: azure queue %q: %w", name, err)
			}
			return q, nil
		}
		q, err := newQ(e.Name)
		if err != nil {
			return nil, err
		}
		o.Queue, o.PoisonFactory = q, newQ
	case BackendMem:
		var mu sync.Mutex
		qs := map[string]*mem.Queue{}
		get := func(name string) (*mem.Queue, error) {
			mu.Lock()
			defer mu.Unlock()
			if q, ok := qs[name]; ok {
				return q, nil
			}
			q, err := mem.New(name, nil)
			if err != nil {
				return nil, fmt.Errorf("queueopen: %w", err)
			}
			qs[name] = q
			return q, nil
		}
		q, err := get(e.Name)
		if err != nil {
			return nil, err
		}
		o.Queue = q
		o.PoisonFactory = func(name string) (queue.Queue, error) { return get(name) }
		o.close = func() error {
			mu.Lock()
			defer mu.Unlock()
			for _, q := range qs {
				q.Close()
			}
			return nil
		}
	}
	if err := o.Queue.Create(ctx); err != nil {
		if opts.StartUnavailable && errors.Is(err, queue.ErrUnavailable) && ctx.Err() == nil {
			if opts.Logger != nil {
				opts.Logger.Warn("queueopen: queue unreachable at start; it will be created on first use", "queue", e.Name, "backend", e.Backend, "err", err)
			}
			o.Queue = &createOnUse{Queue: o.Queue}
			return o, nil
		}
		o.Close()
		return nil, fmt.Errorf("queueopen: creating queue %q (%s): %w", e.Name, e.Backend, err)
	}
	return o, nil
}

// createOnUse is a queue that could not be created at start: an Enqueue
// that finds it missing creates it and tries once more.
type createOnUse struct {
	queue.Queue
}

func (c *createOnUse) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	m, err := c.Queue.Enqueue(ctx, body, opts)
	if errors.Is(err, queue.ErrQueueNotFound) {
		if cerr := c.Queue.Create(ctx); cerr != nil {
			return nil, cerr
		}
		m, err = c.Queue.Enqueue(ctx, body, opts)
	}
	return m, err
}
