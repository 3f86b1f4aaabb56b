package reply

import (
	"context"
	"fmt"
	"net/http"

	"github.com/moetron/moetron/internal/xapi"
)

// User is an X account as GET /2/users/me describes it.
type User struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

// Me returns the account the client's OAuth 1.0a user-context credentials
// belong to (GET /2/users/me). It is how a worker checks its tokens before
// taking jobs: wrong or revoked credentials give an error matching
// ErrUnauthorized; rate limits and 5xx are retried like every read, within
// Config.Retry. An answer without an id is ErrBadResponse.
func (c *Client) Me(ctx context.Context) (User, error) {
	var out struct {
		Data User `json:"data"`
	}
	o := c.newOp(ctx)
	r := &request{method: http.MethodGet, path: "/2/users/me", read: true}
	if err := o.do(r, &out); err != nil {
		return User{}, err
	}
	if !xapi.ValidID(out.Data.ID) {
		return User{}, fmt.Errorf("%w: GET /2/users/me: no decimal user id in the answer", ErrBadResponse)
	}
	return out.Data, nil
}
