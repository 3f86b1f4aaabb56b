package fakexui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/xfake"
	"github.com/moetron/moetron/xfake/fakexui"
)

func TestControlPage(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	secret := x.Config().ConsumerSecret
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("crc_token"); tok != "" {
			json.NewEncoder(w).Encode(map[string]string{"response_token": crc.ResponseToken(secret, tok)})
			return
		}
		b, _ := io.ReadAll(r.Body)
		if crc.Verify(b, r.Header.Get(crc.SignatureHeader), secret) != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	ui := httptest.NewServer(fakexui.Handler(x))
	defer ui.Close()

	// Without a webhook, a delivery says what is missing.
	resp, err := http.PostForm(ui.URL+"/mention", url.Values{"text": {"@moetronbot moerand"}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, string(b), "WEBHOOK_URL")

	req, _ := http.NewRequest(http.MethodPost, x.URL()+"/2/webhooks", strings.NewReader(`{"url":"`+hook.URL+`"}`))
	req.Header.Set("Authorization", "Bearer "+x.Config().BearerToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	for _, c := range []struct{ path, text string }{{"/mention", "@moetronbot moerand"}, {"/dm", "moename sakura"}} {
		resp, err = http.PostForm(ui.URL+c.path, url.Values{"text": {c.text}, "user": {"alice"}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		assert.Contains(t, string(b), "the webhook answered 200")
	}
	mu.Lock()
	require.Len(t, got, 2)
	assert.Contains(t, got[0], `"tweet_create_events"`)
	assert.Contains(t, got[0], `@moetronbot moerand`)
	assert.Contains(t, got[1], `"direct_message_events"`)
	assert.Contains(t, got[1], `moename sakura`)
	mu.Unlock()

	x.SeedPost(xfake.Post{AuthorID: x.Config().BotUserID, Text: "@alice Here's your generated image!", InReplyToTweetID: "42"})
	resp, err = http.Get(ui.URL + "/ledger")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Regexp(t, `^post \d+ in reply to 42 media=0: @alice Here's your generated image!\n$`, string(b))

	resp, err = http.Get(ui.URL + "/")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), "export X_API_BASE="+x.URL())
	assert.Contains(t, string(b), `action="mention"`)
	assert.Contains(t, string(b), "Here&#39;s your generated image!")

	env := fakexui.Env(x)
	for _, k := range []string{"X_API_BASE", "BOT_USER_ID", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET", "X_BEARER_TOKEN"} {
		assert.Contains(t, env, "export "+k+"=")
	}
}
