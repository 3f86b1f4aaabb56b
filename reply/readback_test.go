package reply

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindReplyPaginatesWithinBound(t *testing.T) {
	var queries []string
	env := newEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/2/users/"+testBotID+"/tweets", r.URL.Path)
		q := r.URL.Query()
		queries = append(queries, q.Get("pagination_token"))
		assert.Equal(t, "referenced_tweets,created_at", q.Get("tweet.fields"))
		assert.Equal(t, "2026-11-26T16:00:00Z", q.Get("start_time"))
		page := len(queries)
		// Each page holds a reply to another tweet; tweet 42 is on page 2.
		target := "7"
		if page == 2 {
			target = "42"
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[{"id":"%d","created_at":"2026-11-26T16:30:00Z","referenced_tweets":[{"type":"quoted","id":"42"},{"type":"replied_to","id":%q}]}],"meta":{"result_count":1,"next_token":"tok%d"}}`, 100+page, target, page))
	}))
	since := time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)
	id, found, err := env.c.FindReply(context.Background(), "", "42", since)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "102", id)
	assert.Equal(t, []string{"", "tok1"}, queries)

	queries = nil
	_, found, err = env.c.FindReply(context.Background(), testBotID, "55", since)
	require.NoError(t, err)
	assert.False(t, found, "a quoted reference is not a reply")
	assert.Equal(t, []string{"", "tok1", "tok2"}, queries, "stops after maxReadPages")
}

func TestFindReplyErrors(t *testing.T) {
	env := newEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"errors":[{"title":"Not Found Error","detail":"Could not find user with id: [999].","type":"https://api.twitter.com/2/problems/resource-not-found","resource_type":"user","resource_id":"999"}]}`)
	}), func(c *Config) { c.BotUserID = "" })
	_, _, err := env.c.FindReply(context.Background(), "", "42", time.Time{})
	require.ErrorIs(t, err, ErrInvalidInput, "no bot id configured or given")
	_, _, err = env.c.FindReply(context.Background(), testBotID, "4x2", time.Time{})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, _, err = env.c.FindReply(context.Background(), testBotID, "42", time.Time{})
	require.ErrorIs(t, err, ErrNotFound, "200 with only errors")
	_, _, err = env.c.FindDM(context.Background(), "42", time.Time{}, SameText("x"))
	require.ErrorIs(t, err, ErrInvalidConfig, "FindDM needs BotUserID")
}

func TestFindDMChecksSenderAndTime(t *testing.T) {
	env := newEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/2/dm_conversations/with/42/dm_events", r.URL.Path)
		assert.Equal(t, "created_at,sender_id,text,attachments", r.URL.Query().Get("dm_event.fields"))
		writeJSON(w, 200, `{"data":[
			{"id":"5","event_type":"MessageCreate","text":"your image https://t.co/xyz","sender_id":"42","created_at":"2026-11-26T17:00:00Z"},
			{"id":"4","event_type":"MessageCreate","text":"your image https://t.co/abc","sender_id":"`+testBotID+`","created_at":"2026-11-26T16:59:00Z"},
			{"id":"3","event_type":"MessageCreate","text":"old image","sender_id":"`+testBotID+`","created_at":"2026-11-25T10:00:00Z"}
		],"meta":{"result_count":3,"next_token":"more"}}`)
	}))
	since := time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)
	id, found, err := env.c.FindDM(context.Background(), "42", since, SameText("your image"))
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "4", id, "the participant's own DM with the same text does not count")
	_, found, err = env.c.FindDM(context.Background(), "42", since, SameText("old image"))
	require.NoError(t, err)
	assert.False(t, found, "older than since")
	assert.Equal(t, int32(2), env.calls.Load(), "no page past events older than since")
}

func TestSameText(t *testing.T) {
	m := SameText("Here's your image (seed 1)")
	assert.True(t, m("Here's your image (seed 1)"))
	assert.True(t, m("  Here's your image (seed 1) https://t.co/AbC123 "))
	assert.False(t, m("Here's your image (seed 1) and more"))
	assert.False(t, m("Here's your image (seed 12)"))
	assert.True(t, SameText("cafe\u0301")("café"), "NFC")
}
