package xfake

import "net/http"

// me answers GET /2/users/me: the account the OAuth 1.0a user-context
// credentials of the request belong to, in X's shape
// {"data":{"id","name","username"}}. The fake keeps no display names, so
// name is the screen name. Wrong or unknown credentials get the 401 of every
// user-context route.
func (s *Server) me(c *call) {
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]string{
		"id": c.user.UserID, "name": c.user.ScreenName, "username": c.user.ScreenName,
	}})
}
