package webhookserver_test

import (
	"errors"
	"flag"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/webhookserver"
)

func queueEnvMem() queueopen.Env { return queueopen.Env{Backend: queueopen.BackendMem} }

func lookup(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestValidateNamesEveryMissingValue(t *testing.T) {
	err := webhookserver.Config{}.Validate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, webhookserver.ErrConfig))
	assert.Contains(t, err.Error(), "missing X_CONSUMER_SECRET, BOT_USER_ID")

	err = webhookserver.Config{ConsumerSecret: "s3cr3t-value", BotUserID: "12", URL: "https://bot.example.com/webhook"}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing X_CONSUMER_KEY, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET, X_BEARER_TOKEN")
	assert.NotContains(t, err.Error(), "s3cr3t-value")
}

func TestValidateMalformed(t *testing.T) {
	good := webhookserver.Config{ConsumerSecret: "s3cr3t-value", BotUserID: "12", Queue: queueEnvMem()}
	require.NoError(t, good.Validate())
	for name, c := range map[string]func(*webhookserver.Config){
		"BOT_USER_ID":  func(c *webhookserver.Config) { c.BotUserID = "@moetronbot" },
		"WEBHOOK_PATH": func(c *webhookserver.Config) { c.Path = "webhook" },
		"collides":     func(c *webhookserver.Config) { c.Path = "/healthz" },
		"PORT":         func(c *webhookserver.Config) { c.Port = "eighty" },
		"WEBHOOK_URL": func(c *webhookserver.Config) {
			c.URL = "ftp://x"
			c.ConsumerKey, c.AccessToken, c.AccessTokenSecret, c.BearerToken = "a", "b", "c", "d"
		},
		"X_API_BASE":    func(c *webhookserver.Config) { c.APIBase = "api.x.com" },
		"METRICS_ADDR":  func(c *webhookserver.Config) { c.Addr, c.MetricsAddr = ":9000", ":9000" },
		"QUEUE_BACKEND": func(c *webhookserver.Config) { c.Queue.Backend = "redis" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			c(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.True(t, errors.Is(err, webhookserver.ErrConfig))
			assert.NotContains(t, err.Error(), "s3cr3t-value")
			if name != "collides" {
				assert.Contains(t, err.Error(), name)
			}
		})
	}
}

func TestDefaultsAndPort(t *testing.T) {
	c := webhookserver.FromLookup(lookup(nil)).WithDefaults()
	assert.Equal(t, ":8080", c.Addr)
	assert.Equal(t, "/webhook", c.Path)
	assert.Equal(t, "https://api.x.com", c.APIBase)
	assert.Equal(t, "sqlite", c.Queue.Backend)
	assert.Equal(t, queueopen.DefaultPath, c.Queue.Path)
	assert.True(t, filepath.IsAbs(c.Queue.Path), "the default queue is not relative to the working directory")
	assert.Equal(t, filepath.Join(filepath.Dir(queueopen.DefaultPath), "moetron-spool"), c.SpoolDir)

	c = webhookserver.FromLookup(lookup(map[string]string{"PORT": "9999"})).WithDefaults()
	assert.Equal(t, ":9999", c.Addr)
	c = webhookserver.FromLookup(lookup(map[string]string{"PORT": "9999", "WEBHOOK_ADDR": "127.0.0.1:1"})).WithDefaults()
	assert.Equal(t, "127.0.0.1:1", c.Addr, "WEBHOOK_ADDR wins over PORT")
	c = webhookserver.FromLookup(lookup(map[string]string{"QUEUE_PATH": "/var/lib/bot/q.db"})).WithDefaults()
	assert.Equal(t, "/var/lib/bot/moetron-spool", c.SpoolDir)
	c = webhookserver.FromLookup(lookup(map[string]string{"QUEUE_BACKEND": "azure", "XDG_STATE_HOME": "/x"}))
	t.Setenv("XDG_STATE_HOME", "/state")
	assert.Equal(t, "/state/moetron/spool", c.WithDefaults().SpoolDir)
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c := webhookserver.FromLookup(lookup(map[string]string{
		"X_CONSUMER_SECRET": "from-env", "BOT_USER_ID": "1", "WEBHOOK_PATH": "/env", "QUEUE_NAME": "envq",
	}))
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Flags(fs)
	require.NoError(t, fs.Parse([]string{"-bot-user-id", "42", "-webhook-path", "/flag", "-queue-backend", "mem", "-metrics-addr", ":9100",
		"-spool-max-bytes", "4096"}))
	assert.Equal(t, "from-env", c.ConsumerSecret)
	assert.Equal(t, "42", c.BotUserID)
	assert.Equal(t, "/flag", c.Path)
	assert.Equal(t, "envq", c.Queue.Name)
	assert.Equal(t, "mem", c.Queue.Backend)
	assert.Equal(t, ":9100", c.MetricsAddr)
	assert.Equal(t, int64(4096), c.SpoolMaxBytes)
	bad := flag.NewFlagSet("t", flag.ContinueOnError)
	bad.SetOutput(io.Discard)
	c.Flags(bad)
	assert.ErrorContains(t, bad.Parse([]string{"-spool-max-bytes", "1GiB"}), `"1GiB" is not a positive number of bytes`)
	for _, name := range []string{"x-consumer-secret", "webhook-addr", "port", "webhook-url", "spool-dir", "x-api-base", "x-bearer-token", "queue-path"} {
		assert.NotNil(t, fs.Lookup(name), name)
	}
}

func TestStringHidesSecrets(t *testing.T) {
	c := webhookserver.Config{ConsumerSecret: "s3cr3t-value", BotUserID: "12", BearerToken: "b34r3r",
		AccessTokenSecret: "ats-value", Queue: queueopen.Env{Backend: "azure", ConnectionString: "AccountKey=k3y"}}
	s := c.String()
	for _, secret := range []string{"s3cr3t-value", "b34r3r", "ats-value", "k3y"} {
		assert.NotContains(t, s, secret)
	}
	assert.Contains(t, s, "consumer_secret=set")
}

func TestUserRateLimit(t *testing.T) {
	c := webhookserver.Config{}
	rl, err := c.RateLimit()
	require.NoError(t, err)
	assert.Equal(t, 10, rl.Burst, "on by default")
	assert.Equal(t, time.Minute, rl.Every)
	c.UserRateLimit = "off"
	rl, err = c.RateLimit()
	require.NoError(t, err)
	assert.Zero(t, rl.Every)
	c.UserRateLimit = "3/30s"
	rl, err = c.RateLimit()
	require.NoError(t, err)
	assert.Equal(t, 3, rl.Burst)
	for _, bad := range []string{"3", "0/1m", "3/soon", "x/1m", "3/-1s"} {
		c := webhookserver.Config{BotUserID: "12", ConsumerSecret: "s", UserRateLimit: bad, Queue: queueEnvMem()}
		assert.ErrorContains(t, c.Validate(), "USER_RATE_LIMIT", bad)
	}
}

func TestStreamTuningFromEnv(t *testing.T) {
	c := webhookserver.FromLookup(lookup(map[string]string{
		"DELIVERY": "stream", "X_BEARER_TOKEN": "b", "BOT_USER_ID": "12", "QUEUE_BACKEND": "mem",
		"STREAM_STALL_TIMEOUT": "2s", "STREAM_MIN_BACKOFF": "100ms", "STREAM_MAX_BACKOFF": "1s",
		"STREAM_INITIAL_BACKFILL_MINUTES": "5",
	}))
	require.NoError(t, c.Validate())
	assert.Equal(t, 2*time.Second, c.StreamStallTimeout)
	assert.Equal(t, 100*time.Millisecond, c.StreamMinBackoff)
	assert.Equal(t, time.Second, c.StreamMaxBackoff)
	assert.Equal(t, 5, c.StreamInitialBackfill)

	bad := webhookserver.FromLookup(lookup(map[string]string{
		"DELIVERY": "stream", "X_BEARER_TOKEN": "b", "BOT_USER_ID": "12", "QUEUE_BACKEND": "mem",
		"STREAM_STALL_TIMEOUT": "soon", "STREAM_MAX_BACKOFF": "500ms", "STREAM_INITIAL_BACKFILL_MINUTES": "9",
	}))
	err := bad.Validate()
	require.Error(t, err)
	for _, want := range []string{`STREAM_STALL_TIMEOUT "soon" is not a duration`, "STREAM_MAX_BACKOFF 500ms is below STREAM_MIN_BACKOFF 1s",
		"STREAM_INITIAL_BACKFILL_MINUTES 9 is not within 0..5"} {
		assert.Contains(t, err.Error(), want)
	}
}
