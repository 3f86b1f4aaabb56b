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
		"X_API_BASE": x.URL(), "WEBHOOK_URL": endpoint.URL + "/webhook", "BOT_USER_ID": fc.BotUserID,
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
	assert.Empty(t, hooks[0].Subscriptions, "no AAA subscription unless -aaa")
	subs := x.ActivitySubscriptions()
	require.Len(t, subs, 4)
	for _, s := range subs {
		assert.Equal(t, id, s.WebhookID)
	}

	code, _, stderr = cli(env, "register", "-aaa")
	require.Equal(t, 0, code, stderr)
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
	assert.Regexp(t, `(?m)^`+id+`\s+ok$`, out)
	assert.True(t, x.Webhooks()[0].Valid)

	code, _, stderr = cli(env, "subscribe", id)
	require.Equal(t, 0, code, stderr)

	code, out, stderr = cli(env, "replay", "-from", "30m")
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
		"X_ACCESS_TOKEN_SECRET", "WEBHOOK_URL", "BOT_USER_ID"} {
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
	code, _, stderr := cli(env, "replay", "-from", "yesterday", "123")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "-from: want RFC 3339")
}

func TestHelpNeverPrintsSecrets(t *testing.T) {
	env := map[string]string{"X_CONSUMER_SECRET": "consumer-secret-value", "X_BEARER_TOKEN": "bearer-token-value",
		"X_ACCESS_TOKEN_SECRET": "token-secret-value"}
	for _, args := range [][]string{{"-h"}, {"replay", "-h"}, {"xaa", "ensure", "-h"}, {"migrate", "-help"}} {
		code, out, stderr := cli(env, args...)
		assert.Equal(t, 0, code, "%v exits 0", args)
		assert.Contains(t, stderr, "-x-consumer-secret", "flags are named after their environment variables")
		for _, v := range env {
			assert.NotContains(t, out+stderr, v)
		}
	}
	_, _, stderr := cli(env, "-h")
	for _, c := range []string{"xaa list", "xaa ensure", "xaa delete", "migrate", "replay"} {
		assert.Contains(t, stderr, c)
	}
	_, _, stderr = cli(env, "replay", "-h")
	assert.Contains(t, stderr, "-from")
	code, _, _ := cli(env, "replay", "-nosuchflag")
	assert.Equal(t, 2, code)
}

// Config flags may also follow the command.
func TestFlagsAfterCommand(t *testing.T) {
	_, env := setup(t)
	bearer := env["X_BEARER_TOKEN"]
	code, out, stderr := cli(map[string]string{"X_API_BASE": env["X_API_BASE"]}, "xaa", "list", "-x-bearer-token", bearer)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^ID\s+EVENT TYPE\s+USER\s+WEBHOOK\s+TAG\n$`, out)
}

func TestXAACommands(t *testing.T) {
	x, env := setup(t)
	bot := x.Bot().UserID
	code, _, stderr := cli(env, "register")
	require.Equal(t, 0, code, stderr)
	hook := x.Webhooks()[0].ID
	writes := func() int {
		n := 0
		for _, r := range x.Requests() {
			switch r.Endpoint {
			case xfake.EndpointActivityCreate, xfake.EndpointActivityUpdate, xfake.EndpointActivityDelete, xfake.EndpointActivityBulkDelete:
				n++
			}
		}
		return n
	}
	before := writes()

	code, out, stderr := cli(env, "xaa", "ensure")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		assert.Equal(t, []string{"existing", hook, "moetron:" + f[0]}, []string{f[1], f[3], f[4]}, l)
	}
	assert.Equal(t, before, writes(), "ensure after register writes nothing")

	code, out, stderr = cli(env, "xaa", "ensure", "-stream", "-events", "post.mention.create,dm.received", "-dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^post\.mention\.create\s+would-create\s+-\s+-\s+moetron:post\.mention\.create$`, out)
	assert.Equal(t, before, writes())
	code, out, stderr = cli(env, "xaa", "ensure", "-stream", "-events", "post.mention.create")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^post\.mention\.create\s+created\s+[0-9]+\s+-\s+`, out)

	code, out, stderr = cli(env, "xaa", "list")
	require.Equal(t, 0, code, stderr)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6, out)
	assert.Regexp(t, `^[0-9]+\s+post\.mention\.create\s+`+bot+`\s+`+hook+`\s+moetron:post\.mention\.create$`, lines[1])
	assert.Regexp(t, `^[0-9]+\s+post\.mention\.create\s+`+bot+`\s+-\s+moetron:post\.mention\.create$`, lines[5])

	first := idRe.FindStringSubmatch(lines[1])[1]
	code, out, stderr = cli(env, "xaa", "delete", first, "12345")
	assert.Equal(t, 1, code, "one id failed")
	assert.Regexp(t, `(?m)^`+first+`\s+deleted$`, out)
	assert.Regexp(t, `(?m)^12345\s+failed`, out)
	assert.Contains(t, stderr, "1 of 2 not deleted")
	assert.Len(t, x.ActivitySubscriptions(), 4)

	code, _, stderr = cli(env, "xaa", "delete", "../x")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "subscription id")
	code, _, stderr = cli(env, "xaa", "delete")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-all-moetron")
	code, out, stderr = cli(env, "xaa", "delete", "-all-moetron")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 5, len(strings.Split(strings.TrimSpace(out), "\n")), out)
	assert.Empty(t, x.ActivitySubscriptions())
}

func TestMigrate(t *testing.T) {
	x, env := setup(t)
	bot := x.Bot().UserID
	// A bot on the AAA: webhook registered and subscribed the old way.
	code, _, stderr := cli(env, "register", "-events", "dm.sent", "-aaa")
	require.Equal(t, 0, code, stderr)
	x.RemoveActivitySubscription(x.ActivitySubscriptions()[0].ID)
	hook := x.Webhooks()[0].ID
	require.Equal(t, []string{bot}, x.Webhooks()[0].Subscriptions)

	code, out, stderr := cli(env, "migrate", "-dry-run", "-drop-aaa")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "dry run: nothing written")
	assert.Contains(t, out, "bot AAA-subscribed: true")
	assert.Equal(t, 4, strings.Count(out, "would-create"), out)
	assert.Contains(t, out, "would remove the bot's AAA subscription")
	assert.Empty(t, x.ActivitySubscriptions())
	assert.Equal(t, []string{bot}, x.Webhooks()[0].Subscriptions)

	code, out, stderr = cli(env, "migrate", hook)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 4, strings.Count(out, "created"), out)
	assert.Contains(t, out, "verified: X lists every XAA subscription")
	assert.Contains(t, out, "AAA subscription kept")
	assert.Equal(t, []string{bot}, x.Webhooks()[0].Subscriptions)
	assert.Len(t, x.ActivitySubscriptions(), 4)

	code, out, stderr = cli(env, "migrate", "-drop-aaa")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 4, strings.Count(out, "existing"), out)
	assert.Contains(t, out, "AAA subscription removed")
	assert.Empty(t, x.Webhooks()[0].Subscriptions)
	assert.Len(t, x.ActivitySubscriptions(), 4)

	env2 := map[string]string{}
	for k, v := range env {
		env2[k] = v
	}
	delete(env2, "BOT_USER_ID")
	code, _, stderr = cli(env2, "migrate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "BOT_USER_ID (-bot-user-id)")
}
