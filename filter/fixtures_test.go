package filter_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/fixture_jobs.golden")

// outcome is what a test expects of one event.
type outcome struct {
	reason  filter.Reason
	command string
	args    string
}

func job(command, args string) outcome {
	return outcome{reason: filter.ReasonJob, command: command, args: args}
}
func skip(reason filter.Reason) outcome { return outcome{reason: reason} }
func outcomes(o ...outcome) []outcome   { return o }
func none() []outcome                   { return nil }

// fixtureOutcomes says, for every fixture of events/eventstest, which
// events become which jobs with the default table, and why the others do
// not. A fixture added to eventstest fails TestFixturesAllCovered until it
// is listed here.
var fixtureOutcomes = map[string][]outcome{
	"mention_moerand":            outcomes(job("rand", "")),
	"mention_moemess":            outcomes(job("mess", "please")),
	"mention_moename":            outcomes(job("name", "hello & goodbye <3")),
	"mention_unicode":            outcomes(job("name", "桜🌸 ＭＯＥ")),
	"reply_no_mention":           outcomes(job("name", "kitty")),
	"reply_prefix_mention":       outcomes(job("rand", "")),
	"truncated_extended_mention": outcomes(job("name", "sakura under the moonlight, please draw her with long silver hair and a calm smile, thank you so much!")),
	"quote_with_command":         outcomes(job("rand", "like this")),
	"quote_of_command":           outcomes(skip(filter.ReasonNotAddressed)),
	"retweet_of_command":         outcomes(skip(filter.ReasonRetweet)),
	"bot_echo_tweet":             outcomes(skip(filter.ReasonOwnEvent)),
	"blocked_bool":               outcomes(skip(filter.ReasonBlocked)),
	"blocked_string":             outcomes(skip(filter.ReasonBlocked)),
	"large_ids":                  outcomes(job("name", "42")),
	"dm_moerand":                 outcomes(job("rand", "")),
	"dm_image":                   outcomes(job("name", "sakura & moon")),
	"dm_bot_echo":                outcomes(skip(filter.ReasonOwnEvent)),
	"xaa_post_mention_create":    outcomes(job("name", "hello!")),
	"xaa_dm_received":            outcomes(job("mess", "")),
	// A reply to the bot's post: the reply prefix is outside the visible text.
	"xaa_post_reply_create": outcomes(job("rand", "again")),
	// A quote of the bot's post summons it without an @mention.
	"xaa_post_quote_create":           outcomes(job("name", "sakura & moon, please")),
	"xaa_post_repost_create":          outcomes(skip(filter.ReasonRetweet)),
	"xaa_post_create":                 outcomes(skip(filter.ReasonOwnEvent)),
	"xaa_post_mention_spec_spellings": outcomes(job("name", "a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name a very long name end")),
	"xaa_replay_mention":              outcomes(job("mess", "")),
	"xaa_data_array":                  outcomes(job("rand", ""), job("name", "bob")),
	"xaa_dm_sent":                     outcomes(skip(filter.ReasonOwnEvent)),
	"xaa_chat_received":               outcomes(skip(filter.ReasonEncrypted)),
	"xaa_post_delete":                 none(),
	"xaa_oauth_revoke":                none(),
	"xaa_unknown_event":               none(),
	// No tweet or DM events: nothing to decide.
	"dm_typing_read":    none(),
	"favorite":          none(),
	"follow":            none(),
	"block_mute":        none(),
	"tweet_delete":      none(),
	"user_event_revoke": none(),
	"replay_job_status": none(),
	"unknown_kind":      none(),
}

var fixtureAt = time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)

func TestFixtures(t *testing.T) {
	table := filter.DefaultTable()
	for name, want := range fixtureOutcomes {
		t.Run(name, func(t *testing.T) {
			p := eventstest.Payload(t, name)
			res := table.Evaluate(eventstest.BotUserID, p, fixtureAt)
			require.Len(t, res, len(want))
			for i, r := range res {
				assert.Equal(t, want[i].reason, r.Reason, "event %d (%s %s)", i, r.Kind, r.EventID)
				if want[i].reason != filter.ReasonJob {
					assert.Nil(t, r.Job)
					continue
				}
				require.NotNil(t, r.Job)
				assert.Equal(t, want[i].command, r.Job.Command)
				assert.Equal(t, want[i].args, r.Job.Args)
				assert.Equal(t, eventstest.BotUserID, r.Job.ForUserID)
				assert.Equal(t, r.EventID, r.Job.RespondID)
				assert.Equal(t, string(r.Kind)+":"+r.EventID, r.Job.ID)
				assert.NotEqual(t, eventstest.BotUserID, r.Job.UserID)
			}
		})
	}
}

func TestFixturesAllCovered(t *testing.T) {
	for _, name := range eventstest.Names() {
		_, ok := fixtureOutcomes[name]
		assert.True(t, ok, "fixture %q has no expected outcome in fixtureOutcomes", name)
	}
	for name := range fixtureOutcomes {
		assert.NotNil(t, eventstest.Fixture(name), "fixtureOutcomes lists %q, which eventstest does not have", name)
	}
}

// TestFixtureJobsGolden pins the exact queue messages made from the
// fixtures, one per line, in fixture order.
func TestFixtureJobsGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, name := range eventstest.Names() {
		for _, r := range filter.DefaultTable().Evaluate(eventstest.BotUserID, eventstest.Payload(t, name), fixtureAt) {
			if r.Job == nil {
				continue
			}
			b, err := r.Job.Body()
			require.NoError(t, err, name)
			buf.WriteString(name + " ")
			buf.Write(b)
			buf.WriteByte('\n')
			back, err := filter.ParseJob(b)
			require.NoError(t, err, name)
			assert.Equal(t, *r.Job, back, "%s: ParseJob(Body()) round trip", name)
		}
	}
	path := filepath.Join("testdata", "fixture_jobs.golden")
	if *updateFixtures {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), buf.String(), "go test -update-fixtures rewrites %s", path)
}

// The Filter over the fixtures: a second delivery of every fixture is a
// duplicate, so each command is answered once.
func TestFixturesThroughFilter(t *testing.T) {
	f, err := filter.New(filter.Config{BotUserID: eventstest.BotUserID, Now: func() time.Time { return fixtureAt }})
	require.NoError(t, err)
	first := 0
	for _, name := range eventstest.Names() {
		first += len(f.Jobs(eventstest.Payload(t, name)))
	}
	wantJobs := 0
	for _, o := range fixtureOutcomes {
		for _, e := range o {
			if e.reason == filter.ReasonJob {
				wantJobs++
			}
		}
	}
	assert.Equal(t, wantJobs, first)
	for _, name := range eventstest.Names() {
		for _, r := range f.Results(eventstest.Payload(t, name)) {
			assert.NotEqual(t, filter.ReasonJob, r.Reason, "%s redelivered", name)
		}
	}
}
