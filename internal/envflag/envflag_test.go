package envflag

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrinted(t *testing.T) {
	key, secretValue := "from-env-key", "from-env-secret"
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	String(fs, &key, "X_CONSUMER_KEY", "consumer key")
	Secret(fs, &secretValue, "X_CONSUMER_SECRET", "consumer secret")
	fs.PrintDefaults()
	assert.Contains(t, out.String(), "-x-consumer-secret")
	assert.Contains(t, out.String(), `(default "from-env-key")`)
	assert.NotContains(t, out.String(), "from-env-secret")

	require.NoError(t, fs.Parse([]string{"-x-consumer-secret", "from-flag"}))
	assert.Equal(t, "from-flag", secretValue, "the flag wins over the environment")
}

func TestName(t *testing.T) {
	assert.Equal(t, "azure-storage-connection-string", Name("AZURE_STORAGE_CONNECTION_STRING"))
}

func TestProblems(t *testing.T) {
	kind := errors.New("config")
	var p Problems
	require.NoError(t, p.Err(kind), "nothing recorded")

	p.Need("", "BOT_USER_ID")
	p.Need("  ", "X_CONSUMER_SECRET")
	p.Need("set", "X_CONSUMER_KEY")
	p.UserID("@bot", "BOT_USER_ID")
	p.UserID("", "OTHER_ID")
	p.UserID("1114259648326987776", "GOOD_ID")
	p.URL("api.x.com", "X_API_BASE")
	p.URL("https://api.x.com", "GOOD_URL")
	p.Add("QUEUE_NAME \"A\" is not valid")
	err := p.Err(kind)
	require.ErrorIs(t, err, kind)
	assert.Equal(t, `config: missing BOT_USER_ID, X_CONSUMER_SECRET; BOT_USER_ID "@bot" is not a decimal user id; `+
		`X_API_BASE "api.x.com" is not an http(s) URL; QUEUE_NAME "A" is not valid`, err.Error())

	assert.True(t, IsDecimal("123"))
	assert.False(t, IsDecimal("12a"))
	assert.False(t, IsDecimal(""))
	assert.False(t, IsDecimal("123456789012345678901"))
}

func TestLogLevel(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvLogLevel {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		env  string
		args []string
		want slog.Level
	}{
		{"", nil, slog.LevelInfo},
		{"debug", nil, slog.LevelDebug},
		{"WARN", nil, slog.LevelWarn},
		{"error", nil, slog.LevelError},
		{"error", []string{"-log-level", "debug"}, slog.LevelDebug},
		{"", []string{"-debug"}, slog.LevelDebug},
		{"warn", []string{"-debug"}, slog.LevelDebug},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		got, err := parse(fs, c.args, env(c.env))
		require.NoError(t, err, "%q %v", c.env, c.args)
		assert.Equal(t, c.want, got, "%q %v", c.env, c.args)
	}

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	_, err := parse(fs, nil, env("verbose"))
	require.Error(t, err)
	assert.Equal(t, `LOG_LEVEL "verbose" is not debug, info, warn or error`, err.Error())
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	_, err = parse(fs, []string{"-log-level", "loud"}, env(""))
	assert.ErrorContains(t, err, `"loud"`)
}

func TestValues(t *testing.T) {
	env := map[string]string{"D": "90s", "N": "7", "BAD_D": "soon", "BAD_N": "7x"}
	v := Values{Getenv: func(k string) string { return env[k] }}
	d, n := time.Minute, 3
	v.Duration("UNSET", &d)
	v.Int("UNSET", &n)
	assert.Equal(t, time.Minute, d, "unset keeps the target")
	assert.Equal(t, 3, n)
	v.Duration("D", &d)
	v.Int("N", &n)
	assert.Equal(t, 90*time.Second, d)
	assert.Equal(t, 7, n)
	assert.Empty(t, v.Bad)
	v.Duration("BAD_D", &d)
	v.Int("BAD_N", &n)
	assert.Equal(t, []string{`BAD_D "soon" is not a duration such as 30s or 2m`, `BAD_N "7x" is not a whole number`}, v.Bad)

	assert.Equal(t, "set", SetOrUnset("s3cret"))
	assert.Equal(t, "unset", SetOrUnset(""))
}
