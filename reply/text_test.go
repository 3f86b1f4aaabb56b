package reply

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultTextVariesAndNamesRequester(t *testing.T) {
	env := newEnv(t, newMiniX(t))
	a, err := env.c.Text(Fields{Seed: 12345, ScreenName: "@alice", JobID: "tweet:1332557345071644672"})
	require.NoError(t, err)
	assert.Equal(t, "@alice Here's your generated image! (seed 12345, #"+RequestID("tweet:1332557345071644672")+")", a)
	b, err := env.c.Text(Fields{Seed: 12345, ScreenName: "alice", JobID: "tweet:1332557345071644673"})
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "same seed, different job: different text")
	d, err := env.c.Text(Fields{MsgType: MsgDM, Seed: 7, ScreenName: "alice", JobID: "dm:9"})
	require.NoError(t, err)
	assert.Equal(t, "Here's your generated image! (seed 7, #"+RequestID("dm:9")+")", d, "no handle in DMs")
	n, err := env.c.Text(Fields{Seed: 3, JobID: "tweet:5"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(n, "Here's"), n)
}

func TestRequestID(t *testing.T) {
	id := RequestID("tweet:1")
	assert.Len(t, id, 6)
	assert.Equal(t, id, RequestID("tweet:1"))
	assert.NotEqual(t, id, RequestID("tweet:2"))
}

func TestTextRefusals(t *testing.T) {
	env := newEnv(t, newMiniX(t), func(c *Config) { c.Template = `{{.Args}} {{.Command}} {{.Seed}}` })
	_, err := env.c.Text(Fields{ScreenName: "bad handle!"})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = env.c.Text(Fields{MsgType: "email"})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = env.c.Text(Fields{Args: strings.Repeat("字", 140), Command: "name"})
	require.ErrorIs(t, err, ErrTextTooLong)
	s, err := env.c.Text(Fields{Args: "hello", Command: "name", Seed: 4})
	require.NoError(t, err)
	assert.Equal(t, "hello name 4", s)

	empty := newEnv(t, newMiniX(t), func(c *Config) { c.Template = `{{if .ScreenName}}x{{end}}` })
	_, err = empty.c.Text(Fields{})
	require.ErrorIs(t, err, ErrInvalidInput)
}

// No secret reaches an error text or a log record, on any path.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch n % 3 {
		case 0:
			writeJSON(w, 503, `{"title":"Service Unavailable","status":503}`)
		case 1:
			writeJSON(w, 401, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`)
		default:
			hangUp(t, w)
		}
		return true
	}
	env := newEnv(t, x)
	ctx := context.Background()
	var errs []error
	_, err := env.c.ReplyWithImage(ctx, "5", "hi", pngBytes(t, 8))
	errs = append(errs, err)
	_, err = env.c.DMWithImage(ctx, "5", "hi", pngBytes(t, 8))
	errs = append(errs, err)
	for range 3 {
		_, err = env.c.Reply(ctx, "5", "hi")
		errs = append(errs, err)
		_, err = env.c.SendDM(ctx, "5", "hi", "")
		errs = append(errs, err)
		_, _, err = env.c.FindReply(ctx, "", "5", time.Time{})
		errs = append(errs, err)
	}
	for _, err := range errs {
		require.Error(t, err)
		assertNoSecrets(t, "error", err.Error())
		assertNoSecrets(t, "error %+v", fmt.Sprintf("%+v", err))
		assert.NotContains(t, err.Error(), "oauth_signature")
	}
	logs := env.logs.String()
	require.NotEmpty(t, logs, "the client logged the retries")
	assertNoSecrets(t, "logs", logs)
	assert.NotContains(t, logs, "oauth_signature")
	assert.NotContains(t, logs, testAccessToken)
}
