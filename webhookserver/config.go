package webhookserver

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/internal/xapi"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/stream"
)

// Environment variable names read by FromLookup (see the README's table).
const (
	EnvConsumerKey    = "X_CONSUMER_KEY"
	EnvConsumerSecret = "X_CONSUMER_SECRET"
	// EnvPreviousSecrets lists the consumer secrets still accepted for
	// POST signatures during a rotation, comma-separated.
	EnvPreviousSecrets   = "X_CONSUMER_SECRET_PREVIOUS"
	EnvAccessToken       = "X_ACCESS_TOKEN"
	EnvAccessTokenSecret = "X_ACCESS_TOKEN_SECRET"
	EnvBearerToken       = "X_BEARER_TOKEN"
	EnvAPIBase           = "X_API_BASE"
	EnvBotUserID         = "BOT_USER_ID"
	EnvAddr              = "WEBHOOK_ADDR"
	EnvPort              = "PORT"
	EnvPath              = "WEBHOOK_PATH"
	EnvURL               = "WEBHOOK_URL"
	EnvSpoolDir          = "SPOOL_DIR"
	EnvSpoolMaxBytes     = "SPOOL_MAX_BYTES"
	EnvMetricsAddr       = "METRICS_ADDR"
	EnvDelivery          = "DELIVERY"
	EnvUserRate          = "USER_RATE_LIMIT"
	// Tuning of the stream consumer (Go durations, and minutes).
	EnvStreamStallTimeout    = "STREAM_STALL_TIMEOUT"
	EnvStreamMinBackoff      = "STREAM_MIN_BACKOFF"
	EnvStreamMaxBackoff      = "STREAM_MAX_BACKOFF"
	EnvStreamInitialBackfill = "STREAM_INITIAL_BACKFILL_MINUTES"
	EnvCommandsFile          = commands.EnvFile
)

// Delivery modes (DELIVERY): how X's events reach the server.
const (
	// DeliveryWebhook serves the webhook path only (X POSTs events).
	DeliveryWebhook = "webhook"
	// DeliveryStream reads X's activity stream (GET /2/activity/stream)
	// with the Bearer token and serves no webhook: no public URL needed.
	DeliveryStream = "stream"
	// DeliveryBoth does both into the same intake; the filter drops what
	// arrives twice.
	DeliveryBoth = "both"
)

// Defaults of Config.
const (
	DefaultAddr    = ":8080"
	DefaultPath    = "/webhook"
	DefaultAPIBase = xapi.DefaultBaseURL
	// DefaultDelivery is the delivery mode when DELIVERY is unset.
	DefaultDelivery = DeliveryWebhook
)

// ErrConfig is wrapped by every error of Config.Validate.
var ErrConfig = errors.New("webhookserver: invalid configuration")

// Config is the configuration of a webhook server. The zero value of every
// field means its default; BotUserID is required, and ConsumerSecret
// (webhook) and/or BearerToken (stream) as Delivery needs.
type Config struct {
	// Delivery is how events arrive (DELIVERY): DeliveryWebhook, DeliveryStream
	// or DeliveryBoth. Empty means DefaultDelivery (webhook).
	Delivery string
	// ConsumerSecret is the app's consumer secret (X_CONSUMER_SECRET): it
	// answers CRC challenges and verifies POST signatures. Required unless
	// Delivery is DeliveryStream; a secret.
	ConsumerSecret string
	// PreviousSecrets are further consumer secrets accepted for POST
	// signatures during a rotation (X_CONSUMER_SECRET_PREVIOUS,
	// comma-separated; environment only, never a flag): regenerate the
	// secret at X, start with the new one in X_CONSUMER_SECRET and the old
	// one here, and drop it once X signs with the new one.
	PreviousSecrets []string
	// BotUserID is the bot's user id (BOT_USER_ID). Required.
	BotUserID string
	// UserRateLimit limits the commands of one user (USER_RATE_LIMIT,
	// "BURST/EVERY" such as "10/1m": ten back to back, then one more per
	// minute; "off" for none). Empty means DefaultUserRateLimit. Commands
	// over the limit are dropped with the decision rate_limited.
	UserRateLimit string
	// CommandsFile is the commands file (COMMANDS_FILE, see package
	// commands), the same file the worker reads. Empty means the default
	// table. New fails on a bad file, naming its line and field.
	CommandsFile string

	// Addr is the listen address (WEBHOOK_ADDR). Empty means ":$PORT" when
	// Port is set, else DefaultAddr.
	Addr string
	// Port is $PORT, as set by platforms such as Cloud Run or Heroku.
	Port string
	// Path is where X calls the webhook (WEBHOOK_PATH). Empty means
	// DefaultPath.
	Path string
	// MetricsAddr, if set, serves /metrics on its own listener
	// (METRICS_ADDR) instead of on Addr.
	MetricsAddr string
	// SpoolDir is the intake's journal with the SQLite queue (every job
	// waits there, fdatasynced, until it is moved into the queue) and,
	// with any queue, where jobs wait while the queue is unreachable
	// (SPOOL_DIR). Empty means "moetron-spool" next to the SQLite queue
	// file, or $XDG_STATE_HOME/moetron/spool (~/.local/state/moetron/spool)
	// for the other backends.
	SpoolDir string
	// SpoolMaxBytes bounds the spool on disk (SPOOL_MAX_BYTES); past it a
	// delivery the queue cannot take is answered 503 and /readyz says not
	// ready. Zero means intake.DefaultMaxSpoolBytes (1 GiB).
	SpoolMaxBytes int64

	// Queue selects and configures the queue backend (QUEUE_BACKEND,
	// QUEUE_NAME, QUEUE_PATH, AZURE_STORAGE_CONNECTION_STRING).
	Queue queueopen.Env

	// URL is the webhook's public URL (WEBHOOK_URL). When set, the server
	// registers it with X and subscribes the bot at start-up, then checks
	// it every MonitorInterval; that needs BearerToken and the four OAuth
	// values. Empty means the webhook is registered some other way.
	URL string
	// APIBase is X's API base URL (X_API_BASE). Empty means DefaultAPIBase.
	APIBase string
	// ConsumerKey, AccessToken, AccessTokenSecret (OAuth 1.0a, for the
	// subscription) and BearerToken (app-only, for webhook management) are
	// needed with URL; BearerToken also reads the stream (Delivery stream or
	// both). All are secrets but ConsumerKey.
	ConsumerKey       string
	AccessToken       string
	AccessTokenSecret string
	BearerToken       string

	// StreamStallTimeout, StreamMinBackoff and StreamMaxBackoff tune the
	// stream consumer (STREAM_STALL_TIMEOUT, STREAM_MIN_BACKOFF,
	// STREAM_MAX_BACKOFF, Go durations such as 30s): how long a silent
	// connection lives, and the bounds of the wait between failed
	// connects. Zero means package stream's defaults (30 s, 1 s, 64 s); a
	// non-zero field of Options.Stream wins.
	StreamStallTimeout time.Duration
	StreamMinBackoff   time.Duration
	StreamMaxBackoff   time.Duration
	// StreamInitialBackfill is the backfill_minutes asked for on the first
	// connection after start-up (STREAM_INITIAL_BACKFILL_MINUTES, 0 to 5),
	// so that events published while the process was down, or read but not
	// yet stored when it died, come back after a restart; the duplicates
	// among them are dropped by the queue's dedup key and the worker's
	// ledger. FromLookup makes it DefaultStreamInitialBackfill when the
	// variable is unset; zero means none (unless Options.Stream asks).
	StreamInitialBackfill int

	// envErrs are the environment values FromLookup could not parse;
	// Validate reports them.
	envErrs []string
}

// FromEnv reads a Config from the process environment.
func FromEnv() Config { return FromLookup(os.Getenv) }

// FromLookup reads a Config through getenv (os.Getenv, or a map in tests).
func FromLookup(getenv func(string) string) Config {
	c := Config{
		Delivery:          getenv(EnvDelivery),
		ConsumerSecret:    getenv(EnvConsumerSecret),
		BotUserID:         getenv(EnvBotUserID),
		Addr:              getenv(EnvAddr),
		Port:              getenv(EnvPort),
		Path:              getenv(EnvPath),
		MetricsAddr:       getenv(EnvMetricsAddr),
		SpoolDir:          getenv(EnvSpoolDir),
		SpoolMaxBytes:     parseBytes(getenv(EnvSpoolMaxBytes)),
		Queue:             queueopen.FromLookup(getenv),
		URL:               getenv(EnvURL),
		APIBase:           getenv(EnvAPIBase),
		ConsumerKey:       getenv(EnvConsumerKey),
		AccessToken:       getenv(EnvAccessToken),
		AccessTokenSecret: getenv(EnvAccessTokenSecret),
		BearerToken:       getenv(EnvBearerToken),
		PreviousSecrets:   splitSecrets(getenv(EnvPreviousSecrets)),
		UserRateLimit:     getenv(EnvUserRate),
		CommandsFile:      getenv(EnvCommandsFile),
	}
	v := envflag.Values{Getenv: getenv}
	v.Duration(EnvStreamStallTimeout, &c.StreamStallTimeout)
	v.Duration(EnvStreamMinBackoff, &c.StreamMinBackoff)
	v.Duration(EnvStreamMaxBackoff, &c.StreamMaxBackoff)
	c.StreamInitialBackfill = DefaultStreamInitialBackfill
	v.Int(EnvStreamInitialBackfill, &c.StreamInitialBackfill)
	c.envErrs = v.Bad
	return c
}

// DefaultStreamInitialBackfill is STREAM_INITIAL_BACKFILL_MINUTES when
// unset: the most X allows.
const DefaultStreamInitialBackfill = stream.MaxBackfillMinutes

// DefaultUserRateLimit is the default of Config.UserRateLimit: ten commands
// back to back, then one a minute, per user.
const DefaultUserRateLimit = "10/1m"

// RateLimit parses UserRateLimit ("BURST/EVERY" or "off").
func (c Config) RateLimit() (filter.RateLimit, error) {
	v := c.UserRateLimit
	if v == "" {
		v = DefaultUserRateLimit
	}
	if v == "off" {
		return filter.RateLimit{}, nil
	}
	b, e, ok := strings.Cut(v, "/")
	burst, err1 := strconv.Atoi(b)
	every, err2 := time.ParseDuration(e)
	if !ok || err1 != nil || err2 != nil || burst < 1 || every <= 0 {
		return filter.RateLimit{}, fmt.Errorf("%s %q is not BURST/EVERY (such as 10/1m) or off", EnvUserRate, c.UserRateLimit)
	}
	return filter.RateLimit{Burst: burst, Every: every}, nil
}

// parseBytes reads a byte count; a value that is not a positive whole
// number gives -1, which Validate reports.
func parseBytes(v string) int64 {
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return -1
	}
	return n
}

// splitSecrets splits a comma-separated list, dropping empty items.
func splitSecrets(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Flags binds c's fields to flags of fs named after the environment variables
// in lower case with dashes (-x-consumer-secret, -bot-user-id, -webhook-addr,
// ...). The current values of c are the defaults, so call FromEnv first and
// let the command line win. Secrets are better passed in the environment:
// flags show up in process listings.
func (c *Config) Flags(fs *flag.FlagSet) {
	s := func(p *string, env, usage string) { envflag.String(fs, p, env, usage) }
	secret := func(p *string, env, usage string) { envflag.Secret(fs, p, env, usage) }
	s(&c.Delivery, EnvDelivery, "how events arrive: webhook (X POSTs to WEBHOOK_PATH), stream (read X's activity stream with X_BEARER_TOKEN; no public URL) or both (default webhook)")
	secret(&c.ConsumerSecret, EnvConsumerSecret, "X app consumer secret (required for webhook delivery; secret, prefer the environment)")
	s(&c.BotUserID, EnvBotUserID, "the bot's X user id (required)")
	s(&c.CommandsFile, EnvCommandsFile, "commands file (YAML; default: moerand, moemess, moename)")
	s(&c.UserRateLimit, EnvUserRate, "commands per user: BURST/EVERY or off (default "+DefaultUserRateLimit+")")
	s(&c.Addr, EnvAddr, "listen address (default :8080, or :$PORT when PORT is set)")
	s(&c.Port, EnvPort, "port to listen on when -webhook-addr is not set")
	s(&c.Path, EnvPath, "webhook path (default "+DefaultPath+")")
	s(&c.MetricsAddr, EnvMetricsAddr, "separate listen address for /metrics (default: serve it on the main listener)")
	s(&c.SpoolDir, EnvSpoolDir, "directory of the journal (SQLite queue) and of the spool used while the queue is down (default next to the queue file)")
	fs.Func(envflag.Name(EnvSpoolMaxBytes), "most bytes the spool may hold on disk (default 1073741824, 1 GiB)", func(v string) error {
		if c.SpoolMaxBytes = parseBytes(v); c.SpoolMaxBytes < 0 {
			return fmt.Errorf("%q is not a positive number of bytes", v)
		}
		return nil
	})
	s(&c.URL, EnvURL, "public webhook URL; when set, register and subscribe at start-up and self-check every 15 minutes")
	s(&c.APIBase, EnvAPIBase, "X API base URL (default "+DefaultAPIBase+")")
	s(&c.ConsumerKey, EnvConsumerKey, "X app consumer key (for registration)")
	secret(&c.AccessToken, EnvAccessToken, "bot's OAuth access token (for registration; secret)")
	secret(&c.AccessTokenSecret, EnvAccessTokenSecret, "bot's OAuth access token secret (for registration; secret)")
	secret(&c.BearerToken, EnvBearerToken, "app-only bearer token (for registration and stream delivery; secret)")
	fs.DurationVar(&c.StreamStallTimeout, envflag.Name(EnvStreamStallTimeout), c.StreamStallTimeout,
		"stream: reconnect after this long without a byte from X (default 30s; X sends a keep-alive every ~20s)")
	fs.DurationVar(&c.StreamMinBackoff, envflag.Name(EnvStreamMinBackoff), c.StreamMinBackoff,
		"stream: first wait after a failed connect, doubling (default 1s)")
	fs.DurationVar(&c.StreamMaxBackoff, envflag.Name(EnvStreamMaxBackoff), c.StreamMaxBackoff,
		"stream: longest wait between failed connects (default 64s)")
	fs.IntVar(&c.StreamInitialBackfill, envflag.Name(EnvStreamInitialBackfill), c.StreamInitialBackfill,
		"stream: backfill_minutes asked for on the first connection, 0 to 5, to read what arrived while the process was down (default 0)")
	c.Queue.Flags(fs)
}

// WithDefaults returns c with every empty field that has a default filled in.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		if c.Port != "" {
			c.Addr = ":" + c.Port
		} else {
			c.Addr = DefaultAddr
		}
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	if c.Delivery == "" {
		c.Delivery = DefaultDelivery
	}
	c.Queue = c.Queue.WithDefaults()
	if c.SpoolDir == "" {
		c.SpoolDir = defaultSpoolDir(c.Queue)
	}
	return c
}

func defaultSpoolDir(q queueopen.Env) string {
	if q.Backend == queueopen.BackendSQLite {
		return filepath.Join(filepath.Dir(q.Path), "moetron-spool")
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "moetron", "spool")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "moetron", "spool")
	}
	return filepath.Join(os.TempDir(), "moetron-spool")
}

// Registers reports whether the server registers its webhook with X at
// start-up (URL is set).
func (c Config) Registers() bool { return c.URL != "" }

// ManagesSubscriptions reports whether the server keeps the bot's X
// Activity API subscriptions itself: with a URL (linked to the registered
// webhook), or with stream delivery when the OAuth 1.0a user credentials
// are set (subscriptions without a webhook, which is what feeds the
// stream). Without either, `register xaa ensure` makes them once.
func (c Config) ManagesSubscriptions() bool {
	return c.Registers() || (c.Stream() && c.ConsumerKey != "" && c.ConsumerSecret != "" &&
		c.AccessToken != "" && c.AccessTokenSecret != "" && c.BearerToken != "")
}

// Webhook reports whether the server serves the webhook path (Delivery
// webhook or both).
func (c Config) Webhook() bool { return c.WithDefaults().Delivery != DeliveryStream }

// Stream reports whether the server reads X's activity stream (Delivery
// stream or both).
func (c Config) Stream() bool {
	d := c.WithDefaults().Delivery
	return d == DeliveryStream || d == DeliveryBoth
}

// Validate reports every problem of c at once in one error wrapping
// ErrConfig: first the missing required variables, by name, then the
// malformed ones. It never shows a secret's value.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var p envflag.Problems
	validDelivery := c.Delivery == DeliveryWebhook || c.Delivery == DeliveryStream || c.Delivery == DeliveryBoth
	if c.Delivery != DeliveryStream {
		p.Need(c.ConsumerSecret, EnvConsumerSecret)
	}
	p.Need(c.BotUserID, EnvBotUserID)
	if validDelivery && c.Stream() && c.URL == "" {
		p.Need(c.BearerToken, EnvBearerToken)
	}
	if c.URL != "" {
		p.Need(c.ConsumerKey, EnvConsumerKey)
		p.Need(c.AccessToken, EnvAccessToken)
		p.Need(c.AccessTokenSecret, EnvAccessTokenSecret)
		p.Need(c.BearerToken, EnvBearerToken)
	}
	p.UserID(c.BotUserID, EnvBotUserID)
	if _, err := c.RateLimit(); err != nil {
		p.Bad("%v", err)
	}
	if c.SpoolMaxBytes < 0 {
		p.Bad("%s is not a positive number of bytes", EnvSpoolMaxBytes)
	}
	if !validDelivery {
		p.Bad("%s %q is not one of %s, %s, %s", EnvDelivery, c.Delivery, DeliveryWebhook, DeliveryStream, DeliveryBoth)
	} else if c.Delivery == DeliveryStream && c.URL != "" {
		p.Bad("%s is set but %s=%s serves no webhook; unset one of them", EnvURL, EnvDelivery, DeliveryStream)
	}
	if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " ?#{}") {
		p.Bad("%s %q must be a path starting with / (no spaces, ? or #)", EnvPath, c.Path)
	} else if reserved[c.Path] {
		p.Bad("%s %q collides with the server's own endpoints", EnvPath, c.Path)
	}
	p.Add(c.envErrs...)
	if c.StreamStallTimeout < 0 || c.StreamMinBackoff < 0 || c.StreamMaxBackoff < 0 {
		p.Bad("%s, %s and %s must not be negative", EnvStreamStallTimeout, EnvStreamMinBackoff, EnvStreamMaxBackoff)
	} else if minB := cmp.Or(c.StreamMinBackoff, stream.DefaultMinBackoff); c.StreamMaxBackoff != 0 && c.StreamMaxBackoff < minB {
		p.Bad("%s %v is below %s %v", EnvStreamMaxBackoff, c.StreamMaxBackoff, EnvStreamMinBackoff, minB)
	}
	if c.StreamInitialBackfill < 0 || c.StreamInitialBackfill > 5 {
		p.Bad("%s %d is not within 0..5", EnvStreamInitialBackfill, c.StreamInitialBackfill)
	}
	if c.Port != "" && !envflag.IsDecimal(c.Port) {
		p.Bad("%s %q is not a port number", EnvPort, c.Port)
	}
	if c.URL != "" {
		p.URL(c.URL, EnvURL)
	}
	p.URL(c.APIBase, EnvAPIBase)
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
		p.Bad("%s equals %s (%s); leave it empty to serve /metrics on the main listener", EnvMetricsAddr, EnvAddr, c.Addr)
	}
	if err := c.Queue.Validate(); err != nil {
		p.Add(strings.TrimPrefix(err.Error(), queueopen.ErrConfig.Error()+": "))
	}
	return p.Err(ErrConfig)
}

var reserved = map[string]bool{"/": true, "/healthz": true, "/readyz": true, "/metrics": true}

// String describes c for a start-up log line. Secrets show only as "set" or
// "unset".
func (c Config) String() string {
	c = c.WithDefaults()
	set := envflag.SetOrUnset
	metrics := c.MetricsAddr
	if metrics == "" {
		metrics = c.Addr
	}
	return fmt.Sprintf("delivery=%s addr=%s path=%s metrics=%s bot_user_id=%s consumer_secret=%s bearer_token=%s queue={%s} spool=%s url=%q api_base=%s",
		c.Delivery, c.Addr, c.Path, metrics, c.BotUserID, set(c.ConsumerSecret), set(c.BearerToken), c.Queue, c.SpoolDir, c.URL, c.APIBase)
}
