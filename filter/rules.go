package filter

import (
	"time"

	"github.com/moetron/moetron/events"
)

// Reason says what became of one event. ReasonJob means it became a job;
// every other value names why it did not, for logs and metrics.
type Reason string

// Reasons. Evaluate gives all but ReasonDuplicate and ReasonRateLimited,
// which only a Filter gives.
const (
	// ReasonJob: the event is a command for the bot; Result.Job is set.
	ReasonJob Reason = "job"
	// ReasonNotACommand: addressed to the bot, but no keyword in the text.
	ReasonNotACommand Reason = "not_a_command"
	// ReasonOwnEvent: the bot's own post or DM, which X echoes back.
	ReasonOwnEvent Reason = "own_event"
	// ReasonRetweet: a retweet (even of a command) is never a command.
	ReasonRetweet Reason = "retweet"
	// ReasonNotAddressed: a post that neither mentions the bot nor
	// replies to it, or a DM to somebody else.
	ReasonNotAddressed Reason = "not_addressed"
	// ReasonBlocked: the payload has user_has_blocked true.
	ReasonBlocked Reason = "blocked"
	// ReasonNotForBot: the payload's for_user_id is another user.
	ReasonNotForBot Reason = "not_for_bot"
	// ReasonInvalid: the event lacks an id or author, or an id is not a
	// decimal string.
	ReasonInvalid Reason = "invalid_event"
	// ReasonTooLarge: the job message would exceed MaxMessageSize.
	ReasonTooLarge Reason = "too_large"
	// ReasonDuplicate: a job with this id was produced before, within the
	// Filter's duplicate window.
	ReasonDuplicate Reason = "duplicate"
	// ReasonRateLimited: the author is over the Filter's per-user limit.
	ReasonRateLimited Reason = "rate_limited"
)

// Reasons returns every Reason, ReasonJob first, for callers that
// pre-register one counter per reason.
func Reasons() []Reason {
	return []Reason{ReasonJob, ReasonNotACommand, ReasonOwnEvent, ReasonRetweet, ReasonNotAddressed,
		ReasonBlocked, ReasonNotForBot, ReasonInvalid, ReasonTooLarge, ReasonDuplicate, ReasonRateLimited}
}

// Result is what became of one tweet or DM event of a payload.
type Result struct {
	// Kind is KindTweet or KindDM.
	Kind Kind
	// EventID is the tweet id or DM event id (may be empty or malformed
	// when Reason is ReasonInvalid).
	EventID string
	// UserID is the author or sender.
	UserID string
	// Reason is ReasonJob or why the event is skipped.
	Reason Reason
	// Job is set when Reason is ReasonJob.
	Job *Job
}

// Skipped reports whether the event did not become a job.
func (r Result) Skipped() bool { return r.Reason != ReasonJob }

// Evaluate applies the stateless rules of the design to every tweet and DM
// event in p, for the bot with user id botUserID, and returns one Result
// per event: tweets first, then DMs, each in payload order. Other kinds of
// event (likes, follows, ...) never become jobs and get no Result. Jobs
// carry receivedAt as ReceivedAt.
//
// A tweet becomes a job when it is not the bot's own post, not a retweet,
// the payload does not have user_has_blocked, it mentions the bot or
// replies to it, and its visible text holds a keyword (Match). A DM
// becomes a job when its sender is not the bot, its recipient is the bot
// (or not given), the payload does not have user_has_blocked, and its
// visible text holds a keyword. A payload whose for_user_id names another
// user gives ReasonNotForBot for every event; an empty for_user_id is
// taken to be the bot. An empty or malformed botUserID addresses nothing:
// no event becomes a job.
//
// Evaluate keeps no state: it neither suppresses duplicates nor rate
// limits (Filter does). It is what a test of a command table calls.
func (t *Table) Evaluate(botUserID string, p *events.Payload, receivedAt time.Time) []Result {
	if p == nil {
		return nil
	}
	out := make([]Result, 0, len(p.TweetCreateEvents)+len(p.DirectMessageEvents))
	forUser := p.ForUserID
	if forUser == "" {
		forUser = botUserID
	}
	for i := range p.TweetCreateEvents {
		out = append(out, t.tweet(botUserID, forUser, p, &p.TweetCreateEvents[i], receivedAt))
	}
	for i := range p.DirectMessageEvents {
		out = append(out, t.dm(botUserID, forUser, p, &p.DirectMessageEvents[i], receivedAt))
	}
	return out
}

func (t *Table) tweet(bot, forUser string, p *events.Payload, tw *events.Tweet, at time.Time) Result {
	r := Result{Kind: KindTweet, EventID: tw.ID, UserID: tw.User.ID}
	switch {
	case !isDecimalID(tw.ID) || !isDecimalID(tw.User.ID):
		r.Reason = ReasonInvalid
	case forUser != bot:
		r.Reason = ReasonNotForBot
	case tw.User.ID == bot:
		r.Reason = ReasonOwnEvent
	case tw.IsRetweet():
		r.Reason = ReasonRetweet
	case p.UserHasBlocked:
		r.Reason = ReasonBlocked
	case !isDecimalID(bot) || (tw.InReplyToUserID != bot && !tw.Mentions(bot)):
		r.Reason = ReasonNotAddressed
	default:
		text := tw.VisibleText()
		m, ok := t.Match(text)
		if !ok {
			r.Reason = ReasonNotACommand
			break
		}
		r.Reason, r.Job = finish(Job{
			MsgType: KindTweet, RespondID: tw.ID, Text: text, UserID: tw.User.ID,
			ID: JobID(KindTweet, tw.ID), Command: m.Command, Args: m.Args,
			ForUserID: forUser, ScreenName: tw.User.ScreenName, ReceivedAt: at,
		})
	}
	return r
}

func (t *Table) dm(bot, forUser string, p *events.Payload, d *events.DirectMessage, at time.Time) Result {
	r := Result{Kind: KindDM, EventID: d.ID, UserID: d.SenderID}
	switch {
	case !isDecimalID(d.ID) || !isDecimalID(d.SenderID):
		r.Reason = ReasonInvalid
	case forUser != bot:
		r.Reason = ReasonNotForBot
	case d.SenderID == bot:
		r.Reason = ReasonOwnEvent
	case p.UserHasBlocked:
		r.Reason = ReasonBlocked
	case !isDecimalID(bot) || (d.RecipientID != "" && d.RecipientID != bot):
		r.Reason = ReasonNotAddressed
	default:
		text := d.VisibleText()
		m, ok := t.Match(text)
		if !ok {
			r.Reason = ReasonNotACommand
			break
		}
		r.Reason, r.Job = finish(Job{
			MsgType: KindDM, RespondID: d.ID, Text: text, UserID: d.SenderID,
			ID: JobID(KindDM, d.ID), Command: m.Command, Args: m.Args,
			ForUserID: forUser, ScreenName: p.Users[d.SenderID].ScreenName, ReceivedAt: at,
		})
	}
	return r
}

// finish checks that j fits in a queue message.
func finish(j Job) (Reason, *Job) {
	// Cheap bound first: JSON escaping at most sextuples a byte, plus the
	// fixed part; only texts near the limit need the exact size.
	if 6*(len(j.Text)+len(j.Args)+len(j.ScreenName))+512 > MaxMessageSize {
		if b, err := j.MarshalJSON(); err != nil || len(b) > MaxMessageSize {
			return ReasonTooLarge, nil
		}
	}
	return ReasonJob, &j
}
