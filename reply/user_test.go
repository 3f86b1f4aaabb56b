package reply_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/xfake"
)

func TestMe(t *testing.T) {
	fx, c, _ := startFake(t)
	u, err := c.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, fx.Bot().UserID, u.ID)
	assert.Equal(t, fx.Bot().ScreenName, u.Username)
	reqs := fx.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, xfake.EndpointUsersMe, reqs[0].Endpoint)
	assert.Equal(t, "oauth1", reqs[0].Auth)

	// Wrong token secret: 401, ErrUnauthorized, and no secret in the text.
	_, bad, _ := startFake(t, func(cfg *reply.Config) { cfg.AccessTokenSecret = "wrong-SECRET-value" })
	_, err = bad.Me(context.Background())
	require.ErrorIs(t, err, reply.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "wrong-SECRET-value")
}

func TestMeRetriesServerErrors(t *testing.T) {
	fx, c, _ := startFake(t)
	_, err := fx.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointUsersMe, Times: 1})
	require.NoError(t, err)
	u, err := c.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, fx.Bot().UserID, u.ID)
	assert.Len(t, fx.Requests(), 2)
}
