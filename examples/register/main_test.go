package main

import (
	"bytes"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setup starts a fake X and a webhook endpoint answering its CRC, and
// returns the environment the CLI reads.
func setup(t *testing.T) (*xfake.Server, map[string]string) {
	t.Helper()
	x := xfake.Start(t, xfake.Config{})
	fc := x.Config()
	h, err := crc.NewHandler(crc.HandlerConfig{Secrets: []string{fc.ConsumerSecret}})
	require.NoError(t, err)
	endpoint := httptest.NewServer(h)
	t.Cleanup(endpoint.Close)
	return x, map[string]string{
		"X_BEARER_TOKEN": fc.BearerToken, "X_CONSUMER_KEY": fc.ConsumerKey, "X_CONSUMER_SECRET": fc.ConsumerSecret,
		"X_ACCESS_TOKEN": fc.AccessToken, "X_ACCESS_TOKEN_SECRET": fc.AccessTokenSecret,
		"X_API_BASE": x.URL(), "WEBHOOK_URL": endpoint.URL + "/webhook",
	}
}

func cli(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

var idRe = regexp.MustCompile(`(?m)^([0-9]+)\s`)

func TestRegisterTwiceThenStatus(t *testing.T) {
	x, env := setup(t)
	code, out1, stderr := cli(env, "register")
	require.Equal(t, 0, code, stderr)
	code, out2, stderr := cli(env, "register")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, out1, out2, "register is idempotent")
	m := idRe.FindStringSubmatch(out1)
	require.NotNil(t, m, out1)
	id := m[1]
	hooks := x.Webhooks()
	require.Len(t, hooks, 1)
	assert.Equal(t, id, hooks[0].ID)
	assert.Equal(t, []string{x.Bot().UserID}, hooks[0].Subscriptions)

	code, out, stderr := cli(env, "status")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Regexp(t, `^ID\s+URL\s+VALID\s+BOT SUBSCRIBED\s+SUBSCRIBERS$`, lines[0])
	assert.Equal(t, []string{id, env["WEBHOOK_URL"], "true", "true", x.Bot().UserID}, strings.Fields(lines[1]))

	// X marks it invalid; status shows it, validate (found by WEBHOOK_URL)
	// fixes it.
	require.NoError(t, x.MarkInvalid(id))
	_, out, _ = cli(env, "list")
	assert.Regexp(t, id+`\s+\S+\s+false`, out)
	code, out, stderr = cli(env, "validate")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "validate ok")
	assert.True(t, x.Webhooks()[0].Valid)

	code, _, stderr = cli(env, "subscribe", id)
	require.Equal(t, 0, code, stderr)

	code, out, stderr = cli(env, "-from", "30m", "replay")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^`+id+`\s+[0-9]+\s`, out)
	x.WaitReplays()
	assert.Len(t, x.Replays(), 1)

	code, _, stderr = cli(env, "delete", id)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, x.Webhooks())
	code, _, stderr = cli(env, "delete")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "run register first")
}

func TestMissingConfig(t *testing.T) {
	_, env := setup(t)
	code, out, stderr := cli(map[string]string{}, "register")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	for _, v := range []string{"X_BEARER_TOKEN", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN",
		"X_ACCESS_TOKEN_SECRET", "WEBHOOK_URL"} {
		assert.Contains(t, stderr, v)
	}
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one error line: %q", stderr)

	// list needs only the bearer token; flags stand in for variables.
	code, _, stderr = cli(map[string]string{"X_API_BASE": env["X_API_BASE"]}, "-x-bearer-token", env["X_BEARER_TOKEN"], "list")
	assert.Equal(t, 0, code, stderr)

	code, _, stderr = cli(map[string]string{"X_BEARER_TOKEN": "b"}, "replay")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "WEBHOOK_URL (-webhook-url) or a webhook id argument")
	assert.Contains(t, stderr, "-from")

	code, _, _ = cli(env, "frobnicate")
	assert.Equal(t, 2, code)
	code, _, _ = cli(env)
	assert.Equal(t, 2, code)
}

func TestErrorsHideSecrets(t *testing.T) {
	_, env := setup(t)
	env["X_BEARER_TOKEN"] = "wrong-bearer-5521"
	code, out, stderr := cli(env, "list")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, "401")
	assert.NotContains(t, stderr, "wrong-bearer-5521")

	env["X_ACCESS_TOKEN_SECRET"] = "bad secret with spaces"
	code, _, stderr = cli(env, "register")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "AccessTokenSecret")
	assert.NotContains(t, stderr, "bad secret")
}

func TestParseTime(t *testing.T) {
	_, env := setup(t)
	code, _, stderr := cli(env, "-from", "yesterday", "replay", "123")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "-from: want RFC 3339")
}

func TestHelpNeverPrintsSecrets(t *testing.T) {
	env := map[string]string{"X_CONSUMER_SECRET": "consumer-secret-value", "X_BEARER_TOKEN": "bearer-token-value",
		"X_ACCESS_TOKEN_SECRET": "token-secret-value"}
	code, out, stderr := cli(env, "-h")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-x-consumer-secret", "flags are named after their environment variables")
	for _, v := range env {
		assert.NotContains(t, out+stderr, v)
	}
}
