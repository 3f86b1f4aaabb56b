package filter

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "golden file %s (go test -update to rewrite)", path)
}

// designJob is the example message of Job's documentation (job.go).
func designJob() Job {
	return Job{
		MsgType: KindTweet, RespondID: "1332557345071644672", Text: "@bot moename hello",
		UserID: "1247048165561270272", ID: "tweet:1332557345071644672", Command: "name",
		Args: "hello", ForUserID: "1114259648326987776", ScreenName: "alice",
		ReceivedAt: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC),
	}
}

func TestJobGolden(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	dm := Job{
		MsgType: KindDM, RespondID: "1333350987364319236", Text: `moemess <3 & "quotes" 日本`,
		UserID: "1247048165561270272", ID: "dm:1333350987364319236", Command: "mess",
		Args: `<3 & "quotes" 日本`, ForUserID: "1114259648326987776", ScreenName: "bob",
		// Not UTC, with a fraction: written in UTC, whole seconds.
		ReceivedAt: time.Date(2026, 11, 27, 2, 0, 0, 999_000_000, tokyo),
	}
	for name, j := range map[string]Job{"job_tweet.json": designJob(), "job_dm.json": dm} {
		b, err := j.Body()
		require.NoError(t, err, name)
		golden(t, name, b)
		viaJSON, err := json.Marshal(j)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(viaJSON), "json.Marshal and Body must agree")
		back, err := ParseJob(b)
		require.NoError(t, err, name)
		want := j
		want.ReceivedAt = j.ReceivedAt.UTC().Truncate(time.Second)
		assert.Equal(t, want, back, "round trip of %s", name)
	}
}

func TestJobDesignBytes(t *testing.T) {
	// The exact message of Job's documentation, written out here as well so that a
	// regenerated golden file cannot drift from the contract unnoticed.
	const want = `{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moename hello",` +
		`"user_id":"1247048165561270272","id":"tweet:1332557345071644672","command":"name",` +
		`"args":"hello","for_user_id":"1114259648326987776","screen_name":"alice",` +
		`"received_at":"2026-11-26T17:00:00Z"}`
	b, err := designJob().Body()
	require.NoError(t, err)
	assert.Equal(t, want, string(b))
}

func TestJobZeroTimeOmitted(t *testing.T) {
	j := designJob()
	j.ReceivedAt = time.Time{}
	b, err := j.Body()
	require.NoError(t, err)
	assert.NotContains(t, string(b), "received_at")
	assert.True(t, strings.HasSuffix(string(b), `"screen_name":"alice"}`), string(b))
}

func TestJobBodyErrors(t *testing.T) {
	mod := func(f func(*Job)) Job { j := designJob(); f(&j); return j }
	cases := map[string]struct {
		job  Job
		want error
	}{
		"bad msg_type":     {mod(func(j *Job) { j.MsgType = "post" }), ErrMsgType},
		"no respond_id":    {mod(func(j *Job) { j.RespondID = "" }), ErrMissingField},
		"dm w/o user":      {mod(func(j *Job) { j.MsgType, j.ID, j.UserID = KindDM, "dm:1332557345071644672", "" }), ErrMissingField},
		"no command":       {mod(func(j *Job) { j.Command = "" }), ErrMissingField},
		"hex respond_id":   {mod(func(j *Job) { j.RespondID = "0x12" }), ErrInvalidID},
		"neg user_id":      {mod(func(j *Job) { j.UserID = "-1" }), ErrInvalidID},
		"long for_user_id": {mod(func(j *Job) { j.ForUserID = strings.Repeat("9", 21) }), ErrInvalidID},
		"id mismatch":      {mod(func(j *Job) { j.ID = "tweet:1" }), ErrInvalidID},
		"id wrong kind":    {mod(func(j *Job) { j.ID = "dm:1332557345071644672" }), ErrInvalidID},
		"too large":        {mod(func(j *Job) { j.Text = strings.Repeat("<", MaxMessageSize/6+10) }), ErrTooLarge},
	}
	for name, c := range cases {
		b, err := c.job.Body()
		assert.ErrorIs(t, err, ErrInvalidJob, name)
		assert.ErrorIs(t, err, c.want, name)
		assert.Nil(t, b, name)
	}
}

func TestParseJobForms(t *testing.T) {
	full, err := designJob().Body()
	require.NoError(t, err)
	want := designJob()

	t.Run("full", func(t *testing.T) {
		got, err := ParseJob(full)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("full with surrounding space", func(t *testing.T) {
		got, err := ParseJob([]byte("\n  " + string(full) + "\r\n"))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("base64", func(t *testing.T) {
		got, err := ParseJob([]byte(base64.StdEncoding.EncodeToString(full)))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("original bot", func(t *testing.T) {
		legacy := `{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot MoeName  hello ","user_id":"1247048165561270272"}`
		got, err := ParseJob([]byte(legacy))
		require.NoError(t, err)
		assert.Equal(t, Job{
			MsgType: KindTweet, RespondID: "1332557345071644672", Text: "@bot MoeName  hello ",
			UserID: "1247048165561270272", ID: "tweet:1332557345071644672", Command: "name", Args: "hello",
		}, got)
	})
	t.Run("original bot dm, base64", func(t *testing.T) {
		legacy := `{"msg_type": "dm", "respond_id": "1333350987364319236", "text": "moerand", "user_id": "1247048165561270272"}`
		got, err := ParseJob([]byte(base64.StdEncoding.EncodeToString([]byte(legacy))))
		require.NoError(t, err)
		assert.Equal(t, "dm:1333350987364319236", got.ID)
		assert.Equal(t, "rand", got.Command)
		assert.Equal(t, "", got.Args)
	})
	t.Run("unknown command is kept", func(t *testing.T) {
		msg := strings.Replace(string(full), `"command":"name"`, `"command":"sketch"`, 1)
		got, err := ParseJob([]byte(msg))
		require.NoError(t, err)
		assert.Equal(t, "sketch", got.Command)
	})
	t.Run("unknown fields ignored, fractional time", func(t *testing.T) {
		msg := strings.Replace(string(full), `"2026-11-26T17:00:00Z"`, `"2026-11-27T02:00:00.5+09:00","extra":[1,2]`, 1)
		got, err := ParseJob([]byte(msg))
		require.NoError(t, err)
		assert.Equal(t, time.Date(2026, 11, 26, 17, 0, 0, 500_000_000, time.UTC), got.ReceivedAt)
		assert.Equal(t, time.UTC, got.ReceivedAt.Location())
	})
	t.Run("custom table", func(t *testing.T) {
		cmds := append(DefaultCommands(), Command{Name: "gen", Keywords: []string{"moegen"}})
		tab := MustTable(cmds...)
		legacy := []byte(`{"msg_type":"tweet","respond_id":"5","text":"moegen now","user_id":"7"}`)
		got, err := tab.ParseJob(legacy)
		require.NoError(t, err)
		assert.Equal(t, "gen", got.Command)
		assert.Equal(t, "now", got.Args)
		_, err = ParseJob(legacy)
		assert.ErrorIs(t, err, ErrNoCommand, "the default table does not know moegen")
	})
}

func TestParseJobErrors(t *testing.T) {
	ok := `{"msg_type":"tweet","respond_id":"1","text":"moerand","user_id":"2"}`
	with := func(old, new string) string { return strings.Replace(ok, old, new, 1) }
	cases := map[string]struct {
		msg  string
		want error
	}{
		"empty":              {"", ErrMalformed},
		"spaces":             {"   \n", ErrMalformed},
		"garbage":            {"hello there", ErrMalformed},
		"truncated json":     {ok[:30], ErrMalformed},
		"json array":         {`[1,2]`, ErrMalformed},
		"json string":        {`"moerand"`, ErrMalformed},
		"json null":          {`null`, ErrMalformed},
		"base64 of array":    {base64.StdEncoding.EncodeToString([]byte("[1]")), ErrMalformed},
		"base64 of garbage":  {base64.StdEncoding.EncodeToString([]byte("\x00\x01")), ErrMalformed},
		"raw url base64":     {base64.RawURLEncoding.EncodeToString([]byte(ok + "??")), ErrMalformed},
		"trailing data":      {ok + `{}`, ErrMalformed},
		"numeric respond_id": {with(`"1"`, `1`), ErrMalformed},
		"numeric user_id":    {with(`"2"`, `2`), ErrMalformed},
		"text not string":    {with(`"moerand"`, `{"a":1}`), ErrMalformed},
		"no msg_type":        {with(`"msg_type":"tweet",`, ``), ErrMsgType},
		"wrong msg_type":     {with(`"tweet"`, `"Tweet"`), ErrMsgType},
		"msg_type post":      {with(`"tweet"`, `"post"`), ErrMsgType},
		"no respond_id":      {with(`"respond_id":"1",`, ``), ErrMissingField},
		"empty respond_id":   {with(`"1"`, `""`), ErrMissingField},
		"dm without user":    {`{"msg_type":"dm","respond_id":"1","text":"moerand"}`, ErrMissingField},
		"hex respond_id":     {with(`"1"`, `"0x1f"`), ErrInvalidID},
		"float respond_id":   {with(`"1"`, `"1.5e3"`), ErrInvalidID},
		"spaced respond_id":  {with(`"1"`, `" 1"`), ErrInvalidID},
		"huge respond_id":    {with(`"1"`, `"123456789012345678901"`), ErrInvalidID},
		"bad user_id":        {with(`"2"`, `"alice"`), ErrInvalidID},
		"bad for_user_id":    {with(`"user_id":"2"`, `"user_id":"2","for_user_id":"me"`), ErrInvalidID},
		"id mismatch":        {with(`"user_id":"2"`, `"user_id":"2","id":"tweet:9"`), ErrInvalidID},
		"id other kind":      {with(`"user_id":"2"`, `"user_id":"2","id":"dm:1"`), ErrInvalidID},
		"no command in text": {with(`"moerand"`, `"moerandom"`), ErrNoCommand},
		"no text":            {with(`"text":"moerand",`, ``), ErrNoCommand},
		"bad time":           {with(`"user_id":"2"`, `"user_id":"2","received_at":"yesterday"`), ErrInvalidTime},
		"date only":          {with(`"user_id":"2"`, `"user_id":"2","received_at":"2026-11-26"`), ErrInvalidTime},
		"over 48 KiB":        {with(`"moerand"`, `"moerand `+strings.Repeat("x", MaxMessageSize)+`"`), ErrTooLarge},
	}
	for name, c := range cases {
		got, err := ParseJob([]byte(c.msg))
		if assert.Error(t, err, name) {
			assert.ErrorIs(t, err, ErrInvalidJob, name)
			assert.ErrorIs(t, err, c.want, "%s: %v", name, err)
		}
		assert.Equal(t, Job{}, got, name)
	}
	_, err := ParseJob([]byte(ok))
	require.NoError(t, err, "the base message of the error cases must parse")
}

func TestParseJobErrorTextIsBounded(t *testing.T) {
	msg := `{"msg_type":"` + strings.Repeat("é", 1000) + `","respond_id":"1"}`
	_, err := ParseJob([]byte(msg))
	require.ErrorIs(t, err, ErrMsgType)
	assert.Less(t, len(err.Error()), 300, "a huge field must not make a huge error: %v", err)
	assert.True(t, strings.Contains(err.Error(), "é..."), err.Error())
}
