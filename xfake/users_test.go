package xfake

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUsersMeAnswersTheSigningAccount(t *testing.T) {
	f := start(t, Config{})
	r := f.do(f.bot, http.MethodGet, "/2/users/me", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	data, ok := r.Body["data"].(map[string]any)
	require.True(t, ok, r.Raw)
	assert.Equal(t, DefaultBotUserID, data["id"])
	assert.Equal(t, DefaultBotScreenName, data["username"])
	assert.Equal(t, DefaultBotScreenName, data["name"])

	other := Account{UserID: "1247048165561270272", ScreenName: "alice", AccessToken: "alice-token", AccessTokenSecret: "alice-secret"}
	require.NoError(t, f.srv.AddAccount(other))
	r = f.do(userClient(f.srv, other), http.MethodGet, "/2/users/me", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, other.UserID, r.Body["data"].(map[string]any)["id"])

	wrong := other
	wrong.AccessTokenSecret = "not-the-secret"
	r = f.do(userClient(f.srv, wrong), http.MethodGet, "/2/users/me", "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "a bad signature is refused like on every user route")
	r = f.do(nil, http.MethodGet, "/2/users/me", "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "no credentials")
	assert.True(t, isEndpoint(EndpointUsersMe))
}
