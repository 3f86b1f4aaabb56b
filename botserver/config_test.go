package botserver_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/botserver"
	"github.com/moetron/moetron/webhookserver"
)

func lookup(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// secrets are values that must never show in an error or in -h.
var secrets = map[string]string{
	"X_CONSUMER_SECRET": "cs-very-secret", "X_ACCESS_TOKEN": "at-very-secret",
	"X_ACCESS_TOKEN_SECRET": "ats-very-secret", "X_BEARER_TOKEN": "bearer-very-secret",
}

func env(extra map[string]string) map[string]string {
	m := map[string]string{"BOT_USER_ID": "1114259648326987776", "X_CONSUMER_KEY": "ck", "QUEUE_BACKEND": "mem"}
	for k, v := range secrets {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestValidateNamesEveryMissingVariable(t *testing.T) {
	err := botserver.FromLookup(lookup(nil)).Validate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, botserver.ErrConfig))
	assert.Contains(t, err.Error(), "missing BOT_USER_ID, X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET, X_BEARER_TOKEN")

	// Webhook delivery without a URL needs no bearer token.
	m := env(map[string]string{"DELIVERY": "webhook"})
	delete(m, "X_BEARER_TOKEN")
	require.NoError(t, botserver.FromLookup(lookup(m)).Validate())
}

func TestValidateReportsBadValuesOnceWithoutSecrets(t *testing.T) {
	err := botserver.FromLookup(lookup(env(map[string]string{
		"BOT_USER_ID": "@moetronbot", "DEVICE": "tpu", "STREAM_STALL_TIMEOUT": "soon", "QUEUE_BACKEND": "floppy",
	}))).Validate()
	require.Error(t, err)
	msg := err.Error()
	assert.Equal(t, 1, strings.Count(msg, `BOT_USER_ID "@moetronbot"`), "a shared value is reported once: %s", msg)
	assert.Contains(t, msg, "DEVICE")
	assert.Contains(t, msg, "STREAM_STALL_TIMEOUT")
	assert.Contains(t, msg, "floppy")
	for _, v := range secrets {
		assert.NotContains(t, msg, v)
	}
}

func TestDefaults(t *testing.T) {
	c := botserver.FromLookup(lookup(env(nil)))
	require.NoError(t, c.Validate())
	d := c.WithDefaults()
	assert.Equal(t, webhookserver.DeliveryStream, d.Webhook.Delivery)
	assert.Equal(t, botserver.DefaultInitialBackfill, d.Webhook.StreamInitialBackfill)
	assert.Equal(t, botserver.DefaultLocalAddr, d.Addr(), "stream delivery listens on loopback by default")
	both := botserver.FromLookup(lookup(env(map[string]string{"DELIVERY": "both", "X_CONSUMER_SECRET": "cs"})))
	assert.Equal(t, ":8080", both.Addr(), "a webhook must be reachable")
	assert.Equal(t, "1114259648326987776", d.Worker.BotUserID)
	assert.Equal(t, "ats-very-secret", d.Worker.AccessTokenSecret, "the worker answers with the shared credentials")

	c = botserver.FromLookup(lookup(env(map[string]string{"METRICS_ADDR": "127.0.0.1:9100", "STREAM_INITIAL_BACKFILL_MINUTES": "0"})))
	assert.Equal(t, "127.0.0.1:9100", c.Addr())
	assert.Equal(t, 0, c.Webhook.StreamInitialBackfill, "an explicit 0 turns the start-up backfill off")
	s := c.String()
	for _, v := range secrets {
		assert.NotContains(t, s, v)
	}
}

func TestFlags(t *testing.T) {
	c := botserver.FromLookup(lookup(env(nil)))
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	c.Flags(fs) // both halves' flags, without a "flag redefined" panic
	fs.PrintDefaults()
	for _, name := range []string{"-bot-user-id", "-x-bearer-token", "-delivery", "-model-path", "-device", "-worker-ledger", "-stream-stall-timeout", "-queue-path"} {
		assert.Contains(t, out.String(), name)
	}
	for _, v := range secrets {
		assert.NotContains(t, out.String(), v)
	}
	require.NoError(t, fs.Parse([]string{"-bot-user-id", "42", "-device", "cpu", "-delivery", "both"}))
	d := c.WithDefaults()
	assert.Equal(t, "42", d.Worker.BotUserID, "a shared flag reaches the worker")
	assert.Equal(t, "cpu", d.Worker.Device)
	assert.Equal(t, "both", d.Webhook.Delivery)
}
