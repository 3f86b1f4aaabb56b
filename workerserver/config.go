package workerserver

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker/ledgertable"
	"github.com/moetron/moetron/workerserver/opspage"
)

// Environment variable names read by FromLookup (see the README's table):
// the bot's, then the worker's own tuning.
const (
	EnvBotUserID         = "BOT_USER_ID"
	EnvConsumerKey       = "X_CONSUMER_KEY"
	EnvConsumerSecret    = "X_CONSUMER_SECRET"
	EnvAccessToken       = "X_ACCESS_TOKEN"
	EnvAccessTokenSecret = "X_ACCESS_TOKEN_SECRET"
	EnvAPIBase           = "X_API_BASE"
	EnvModelPath         = "MODEL_PATH"
	EnvORTLib            = "ORT_LIB"
	EnvCUDAPlugin        = "ORT_CUDA_PLUGIN"
	EnvDevice            = "DEVICE"
	EnvMetricsAddr       = "METRICS_ADDR"
	EnvConcurrency       = "WORKER_CONCURRENCY"
	EnvDrainTimeout      = "WORKER_DRAIN_TIMEOUT"
	EnvVisibility        = "WORKER_VISIBILITY"
	EnvMaxDequeue        = "WORKER_MAX_DEQUEUE"
	EnvImageFormat       = "IMAGE_FORMAT"
	EnvLedger            = "WORKER_LEDGER"
	EnvCommandsFile      = commands.EnvFile
)

// LedgerMem is the WORKER_LEDGER value that keeps the job ledger in the
// process only (no file): duplicates are still caught while the process
// runs, and by X read-back on redelivery after a restart.
const LedgerMem = "mem"

// LedgerAzure is the WORKER_LEDGER value that keeps the job ledger in an
// Azure Storage table (package worker/ledgertable) of the account in
// AZURE_STORAGE_CONNECTION_STRING, named after the queue
// (ledgertable.DefaultTableName); "azure:<table>" names the table.
const LedgerAzure = "azure"

// Defaults of Config.
const (
	DefaultAPIBase      = reply.DefaultBaseURL
	DefaultDevice       = imagegen.DeviceAuto
	DefaultFormat       = imagegen.FormatPNG
	DefaultDrainTimeout = queue.DefaultDrainTimeout
	DefaultVisibility   = queue.DefaultVisibility
	// DefaultMetricsAddr is where the health and metrics endpoints listen
	// when METRICS_ADDR is not set: loopback only, so that a probe or a
	// scraper on the machine reaches them and nothing else does.
	DefaultMetricsAddr = "127.0.0.1:9091"
)

// MetricsOff is the METRICS_ADDR value that turns the listener off.
const MetricsOff = "off"

// Errors of New.
var (
	// ErrConfig is wrapped by every error of Config.Validate.
	ErrConfig = errors.New("workerserver: invalid configuration")
	// ErrCredentials means X refused the OAuth 1.0a credentials at
	// start-up (GET /2/users/me answered 401 or 403).
	ErrCredentials = errors.New("workerserver: X refused the OAuth 1.0a credentials")
	// ErrWrongAccount means the OAuth 1.0a tokens are valid but belong to
	// another account than BOT_USER_ID.
	ErrWrongAccount = errors.New("workerserver: the OAuth 1.0a tokens are not the bot's")
)

// Config is the configuration of a worker server. The zero value of every
// field means its default; BotUserID and the four OAuth 1.0a values are
// required.
type Config struct {
	// BotUserID is the bot's user id (BOT_USER_ID). Required, decimal.
	BotUserID string
	// ConsumerKey, ConsumerSecret, AccessToken and AccessTokenSecret are
	// the bot's OAuth 1.0a user-context credentials (X_CONSUMER_KEY,
	// X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET). Required;
	// all but ConsumerKey are secrets and never shown.
	ConsumerKey       string
	ConsumerSecret    string
	AccessToken       string
	AccessTokenSecret string
	// APIBase is X's API base URL (X_API_BASE). Empty means DefaultAPIBase.
	APIBase string

	// Queue selects and configures the queue backend (QUEUE_BACKEND,
	// QUEUE_NAME, QUEUE_PATH, AZURE_STORAGE_CONNECTION_STRING). Ignored
	// when Options.Queue is given.
	Queue queueopen.Env

	// ModelPath is the ONNX model file or a bundled reference such as
	// bundled:cppn (MODEL_PATH); it replaces the bundled models the
	// commands name. Empty means each command's bundled model (see
	// commands.Command.ModelFor).
	ModelPath string
	// ORTLib is the ONNX Runtime shared library (ORT_LIB). Empty means
	// imagegen.FallbackLibraryPath(): imagegen.DefaultLibraryPath(), where
	// examples/ortfetch (make ort) puts it, else the system's
	// libonnxruntime.so.
	ORTLib string
	// CUDAPlugin is the CUDA plugin execution provider library
	// (ORT_CUDA_PLUGIN); empty means the classic CUDA provider.
	CUDAPlugin string
	// Device is auto, cpu or cuda (DEVICE). Empty means DefaultDevice.
	Device string
	// MetricsAddr is where Run serves /metrics, /healthz and /readyz
	// (METRICS_ADDR, host:port). FromLookup sets DefaultMetricsAddr when
	// the variable is unset; MetricsOff turns the listener off. Empty (a
	// Config built in code) also means no listener: mount Handler yourself
	// if you want the endpoints, or set an address.
	MetricsAddr string

	// Concurrency is the most jobs handled at once (WORKER_CONCURRENCY).
	// Zero means the generator's batch size, so that concurrent jobs share
	// one session run.
	Concurrency int
	// DrainTimeout is how long Run waits for the jobs in flight once its
	// context ends before it releases them to the queue
	// (WORKER_DRAIN_TIMEOUT, a Go duration). Zero means DefaultDrainTimeout;
	// negative means release at once.
	DrainTimeout time.Duration
	// Visibility is the lease taken on each job, renewed while it runs
	// (WORKER_VISIBILITY). It bounds how long a crashed worker keeps a job
	// hidden. Zero means DefaultVisibility; at least 1 s otherwise.
	Visibility time.Duration
	// MaxDequeue is how many deliveries a job gets before it goes to the
	// poison queue (WORKER_MAX_DEQUEUE). Every delivery counts, also one
	// whose worker crashed. Zero means queue.DefaultMaxDequeueCount (5).
	MaxDequeue int
	// Format is the image format sent to X, png or jpeg (IMAGE_FORMAT).
	// Empty means DefaultFormat.
	Format string
	// Ledger is the job ledger (WORKER_LEDGER), which makes two messages
	// with the same job id get one answer: a file path (package
	// worker/ledgerfile: across restarts and the worker processes of one
	// machine), LedgerAzure or "azure:<table>" (package worker/ledgertable:
	// a table of the account in AZURE_STORAGE_CONNECTION_STRING, shared by
	// the workers of every machine), or LedgerMem (this process only).
	// Empty means the table ledger with QUEUE_BACKEND=azure (its workers
	// may run on several machines; the table is named after the queue),
	// moetron-ledger.db beside the SQLite queue file, or
	// $XDG_STATE_HOME/moetron/ledger-<queue name>.db for other backends.
	Ledger string
	// CommandsFile is the commands file (COMMANDS_FILE, see package
	// commands), the same file the webhook reads. Empty means the default
	// table. New fails on a bad file, naming its line and field.
	CommandsFile string
	// Ops configures the operator page at /ops/ (OPS_PAGE, OPS_TOKEN; see
	// package workerserver/opspage). The zero value serves it to loopback
	// connections only.
	Ops opspage.Env

	// envErrs are the environment values FromLookup could not parse;
	// Validate reports them.
	envErrs []string
}

// FromEnv reads a Config from the process environment.
func FromEnv() Config { return FromLookup(os.Getenv) }

// FromLookup reads a Config through getenv (os.Getenv, or a map in tests).
// Values that do not parse (a concurrency that is not a number, a timeout
// that is not a duration) are kept aside and reported by Validate.
func FromLookup(getenv func(string) string) Config {
	c := Config{
		BotUserID:         getenv(EnvBotUserID),
		ConsumerKey:       getenv(EnvConsumerKey),
		ConsumerSecret:    getenv(EnvConsumerSecret),
		AccessToken:       getenv(EnvAccessToken),
		AccessTokenSecret: getenv(EnvAccessTokenSecret),
		APIBase:           getenv(EnvAPIBase),
		Queue:             queueopen.FromLookup(getenv),
		ModelPath:         getenv(EnvModelPath),
		ORTLib:            getenv(EnvORTLib),
		CUDAPlugin:        getenv(EnvCUDAPlugin),
		Device:            getenv(EnvDevice),
		MetricsAddr:       cmp.Or(getenv(EnvMetricsAddr), DefaultMetricsAddr),
		Format:            getenv(EnvImageFormat),
		Ledger:            getenv(EnvLedger),
		CommandsFile:      getenv(EnvCommandsFile),
		Ops:               opspage.FromLookup(getenv),
	}
	v := envflag.Values{Getenv: getenv}
	v.Int(EnvConcurrency, &c.Concurrency)
	v.Int(EnvMaxDequeue, &c.MaxDequeue)
	v.Duration(EnvDrainTimeout, &c.DrainTimeout)
	v.Duration(EnvVisibility, &c.Visibility)
	c.envErrs = v.Bad
	return c
}

// Flags binds c's fields to flags of fs named after the environment variables
// in lower case with dashes (-bot-user-id, -x-consumer-key, -model-path,
// -worker-concurrency, ...). The current values of c are the defaults, so
// call FromEnv first and let the command line win. Secrets are better
// passed in the environment: flags show up in process listings.
func (c *Config) Flags(fs *flag.FlagSet) {
	s := func(p *string, env, usage string) { envflag.String(fs, p, env, usage) }
	secret := func(p *string, env, usage string) { envflag.Secret(fs, p, env, usage) }
	s(&c.BotUserID, EnvBotUserID, "the bot's X user id (required)")
	s(&c.ConsumerKey, EnvConsumerKey, "X app consumer key (required)")
	secret(&c.ConsumerSecret, EnvConsumerSecret, "X app consumer secret (required; secret, prefer the environment)")
	secret(&c.AccessToken, EnvAccessToken, "bot's OAuth access token (required; secret, prefer the environment)")
	secret(&c.AccessTokenSecret, EnvAccessTokenSecret, "bot's OAuth access token secret (required; secret, prefer the environment)")
	s(&c.APIBase, EnvAPIBase, "X API base URL (default "+DefaultAPIBase+")")
	s(&c.ModelPath, EnvModelPath, "ONNX model file or bundled:portrait|bundled:cppn (default: the bundled model of each command)")
	s(&c.ORTLib, EnvORTLib, "ONNX Runtime library (default "+imagegen.DefaultLibraryPath()+", else the system's "+imagegen.SystemLibrary+")")
	s(&c.CUDAPlugin, EnvCUDAPlugin, "CUDA plugin execution provider library")
	s(&c.Device, EnvDevice, "auto, cpu or cuda (default "+DefaultDevice+")")
	s(&c.MetricsAddr, EnvMetricsAddr, "address serving /metrics, /healthz and /readyz, or \""+MetricsOff+"\" (default "+DefaultMetricsAddr+")")
	s(&c.Format, EnvImageFormat, "image format sent to X: png or jpeg (default png)")
	s(&c.Ledger, EnvLedger, "job ledger file, \"azure\" or \"azure:TABLE\" (an Azure Storage table), or \"mem\" (default: the table with the azure queue, a file beside the SQLite queue, else in $XDG_STATE_HOME/moetron)")
	s(&c.CommandsFile, EnvCommandsFile, "commands file (YAML; default: moerand, moemess, moename)")
	fs.IntVar(&c.Concurrency, envflag.Name(EnvConcurrency), c.Concurrency, "jobs handled at once (default: the generator's batch size)")
	fs.DurationVar(&c.DrainTimeout, envflag.Name(EnvDrainTimeout), c.DrainTimeout,
		"how long a shutdown waits for jobs in flight before releasing them (default "+DefaultDrainTimeout.String()+")")
	fs.IntVar(&c.MaxDequeue, envflag.Name(EnvMaxDequeue), c.MaxDequeue, "deliveries a job gets before it is poisoned (default 5)")
	fs.DurationVar(&c.Visibility, envflag.Name(EnvVisibility), c.Visibility,
		"lease on each job, renewed while it runs (default "+DefaultVisibility.String()+")")
	c.Queue.Flags(fs)
	c.Ops.Flags(fs)
}

// WithDefaults returns c with every empty field that has a default filled
// in. Concurrency stays zero: its default is the generator's batch size,
// known only once the model is loaded.
func (c Config) WithDefaults() Config {
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	if c.ORTLib == "" {
		c.ORTLib = imagegen.FallbackLibraryPath()
	}
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.Format == "" {
		c.Format = string(DefaultFormat)
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Visibility == 0 {
		c.Visibility = DefaultVisibility
	}
	c.Queue = c.Queue.WithDefaults()
	if c.Ledger == "" {
		c.Ledger = defaultLedger(c.Queue)
	}
	return c
}

// defaultLedger is the Azure table ledger with the azure queue, the ledger
// file beside the SQLite queue, or one in the user's state directory, one
// per queue name.
func defaultLedger(q queueopen.Env) string {
	if q.Backend == queueopen.BackendAzure {
		return LedgerAzure
	}
	if q.Backend == queueopen.BackendSQLite {
		return filepath.Join(filepath.Dir(q.Path), "moetron-ledger.db")
	}
	name := "ledger-" + q.Name + ".db"
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "moetron", name)
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "moetron", name)
	}
	return filepath.Join(os.TempDir(), "moetron-"+name)
}

// ledgerTable returns the table of an Azure table ledger, and whether
// c.Ledger (with defaults) names one.
func (c Config) ledgerTable() (string, bool) {
	c = c.WithDefaults()
	if c.Ledger == LedgerAzure {
		return ledgertable.DefaultTableName(c.Queue.Name), true
	}
	if t, ok := strings.CutPrefix(c.Ledger, LedgerAzure+":"); ok {
		return t, true
	}
	return "", false
}

// Validate reports every problem of c at once in one error wrapping
// ErrConfig: first the missing required variables, by name, then the
// malformed ones. It never shows a secret's value.
func (c Config) Validate() error {
	var p envflag.Problems
	p.Add(c.envErrs...)
	c = c.WithDefaults()
	p.Need(c.BotUserID, EnvBotUserID)
	p.Need(c.ConsumerKey, EnvConsumerKey)
	p.Need(c.ConsumerSecret, EnvConsumerSecret)
	p.Need(c.AccessToken, EnvAccessToken)
	p.Need(c.AccessTokenSecret, EnvAccessTokenSecret)
	p.UserID(c.BotUserID, EnvBotUserID)
	p.URL(c.APIBase, EnvAPIBase)
	switch c.Device {
	case imagegen.DeviceAuto, imagegen.DeviceCPU, imagegen.DeviceCUDA:
	default:
		p.Bad("%s %q is not auto, cpu or cuda", EnvDevice, c.Device)
	}
	switch imagegen.Format(c.Format) {
	case imagegen.FormatPNG, imagegen.FormatJPEG:
	default:
		p.Bad("%s %q is not png or jpeg", EnvImageFormat, c.Format)
	}
	if c.Concurrency < 0 {
		p.Bad("%s %d is negative", EnvConcurrency, c.Concurrency)
	}
	if a := c.MetricsAddr; a != "" && a != MetricsOff {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			p.Bad("%s %q is not host:port (such as %s or :9091) or %s", EnvMetricsAddr, a, DefaultMetricsAddr, MetricsOff)
		}
	}
	if c.MaxDequeue < 0 {
		p.Bad("%s %d is negative", EnvMaxDequeue, c.MaxDequeue)
	}
	if c.Visibility < time.Second || c.Visibility > queue.MaxVisibility {
		p.Bad("%s %s is not between 1s and %s", EnvVisibility, c.Visibility, queue.MaxVisibility)
	}
	if err := c.Queue.Validate(); err != nil {
		p.Add(strings.TrimPrefix(err.Error(), queueopen.ErrConfig.Error()+": "))
	}
	p.Add(c.Ops.Problems()...)
	if table, ok := c.ledgerTable(); ok {
		if c.Queue.ConnectionString == "" && c.Queue.Backend != queueopen.BackendAzure { // the queue reports it otherwise
			p.Bad("%s %q needs %s", EnvLedger, c.Ledger, queueopen.EnvConnectionString)
		}
		if err := ledgertable.CheckTableName(table); err != nil {
			p.Bad("%s %q: %v", EnvLedger, c.Ledger, err)
		}
	}
	return p.Err(ErrConfig)
}

// String describes c for a start-up log line. Secrets show only as "set" or
// "unset"; so does Printf's %v, which calls it.
func (c Config) String() string {
	c = c.WithDefaults()
	set := envflag.SetOrUnset
	model := c.ModelPath
	if model == "" {
		model = "bundled"
	}
	ledger := c.Ledger
	if table, ok := c.ledgerTable(); ok {
		ledger = LedgerAzure + ":" + table
	}
	conc := "batch"
	if c.Concurrency > 0 {
		conc = strconv.Itoa(c.Concurrency)
	}
	return fmt.Sprintf("bot_user_id=%s consumer_key=%s consumer_secret=%s access_token=%s access_token_secret=%s "+
		"api_base=%s queue={%s} model=%s ort_lib=%s device=%s metrics=%q concurrency=%s drain=%s visibility=%s format=%s ledger=%s ops={%s}",
		c.BotUserID, set(c.ConsumerKey), set(c.ConsumerSecret), set(c.AccessToken), set(c.AccessTokenSecret),
		c.APIBase, c.Queue, model, c.ORTLib, c.Device, c.MetricsAddr, conc, c.DrainTimeout, c.Visibility, c.Format, ledger, c.Ops)
}
