package reply

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewListsEveryMissingCredential(t *testing.T) {
	_, err := New(Config{ConsumerKey: "k", AccessTokenSecret: testTokenSecret})
	require.ErrorIs(t, err, ErrInvalidConfig)
	msg := err.Error()
	assert.Contains(t, msg, "ConsumerSecret (X_CONSUMER_SECRET)")
	assert.Contains(t, msg, "AccessToken (X_ACCESS_TOKEN)")
	assert.NotContains(t, msg, "ConsumerKey")
	assert.NotContains(t, msg, "AccessTokenSecret")
	assertNoSecrets(t, "config error", msg)
}

func TestNewRejectsBadValuesWithoutEchoing(t *testing.T) {
	good := Config{ConsumerKey: "k", ConsumerSecret: testConsumerSecret, AccessToken: "t", AccessTokenSecret: testTokenSecret}
	cases := map[string]func(*Config){
		"base url scheme":   func(c *Config) { c.BaseURL = "ftp://" + testConsumerSecret },
		"base url userinfo": func(c *Config) { c.BaseURL = "https://u:" + testTokenSecret + "@api.x.com" },
		"negative timeout":  func(c *Config) { c.Timeout = -time.Second },
		"negative attempts": func(c *Config) { c.Retry.MaxAttempts = -1 },
		"max below base":    func(c *Config) { c.Retry.BaseBackoff = time.Minute; c.Retry.MaxBackoff = time.Second },
		"chunk size":        func(c *Config) { c.ChunkSize = 10 },
		"bot id":            func(c *Config) { c.BotUserID = "@bot" },
		"template syntax":   func(c *Config) { c.Template = "{{.Seed" },
		"template field":    func(c *Config) { c.Template = "{{.Nope}}" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			mod(&cfg)
			_, err := New(cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assertNoSecrets(t, "config error", err.Error())
		})
	}
	_, err := New(good)
	require.NoError(t, err)
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{ConsumerKey: "k", ConsumerSecret: "s", AccessToken: "t", AccessTokenSecret: "ts",
		BaseURL: "https://api.example.com/", HTTPClient: &http.Client{Timeout: 7 * time.Second}})
	require.NoError(t, err)
	assert.Equal(t, "https://api.example.com", c.cfg.BaseURL)
	assert.Equal(t, 7*time.Second, c.http.Timeout)
	assert.Equal(t, DefaultMaxAttempts, c.cfg.Retry.MaxAttempts)
	assert.Equal(t, DefaultDeadline, c.cfg.Retry.Deadline)
	assert.Equal(t, DefaultChunkThreshold, c.cfg.ChunkThreshold)

	c, err = New(Config{ConsumerKey: "k", ConsumerSecret: "s", AccessToken: "t", AccessTokenSecret: "ts"})
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.cfg.BaseURL)
	assert.Equal(t, DefaultTimeout, c.http.Timeout)
	assert.False(t, errors.Is(err, ErrInvalidConfig))
}

func TestHalfJitterRange(t *testing.T) {
	for range 200 {
		d := halfJitter(10 * time.Second)
		require.GreaterOrEqual(t, d, 5*time.Second)
		require.LessOrEqual(t, d, 10*time.Second)
	}
}
