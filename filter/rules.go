package filter

import (
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/internal/xapi"
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
	// ReasonNotAddressed: a post that neither mentions the bot, nor
	// replies to it, nor came as an X Activity API quote or reply of the
	// bot's post; or a DM to somebody else.
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
	// ReasonEncrypted: an XChat (end-to-end encrypted) message to the bot.
	// The bot cannot read it, so it makes no job; a caller may log once
	// that encrypted DMs are not answered.
	ReasonEncrypted Reason = "encrypted"
)

// Reasons returns every Reason, ReasonJob first, for callers that
// pre-register one counter per reason.
func Reasons() []Reason {
	return []Reason{ReasonJob, ReasonNotACommand, ReasonOwnEvent, ReasonRetweet, ReasonNotAddressed,
		ReasonBlocked, ReasonNotForBot, ReasonInvalid, ReasonTooLarge, ReasonDuplicate, ReasonRateLimited,
		ReasonEncrypted}
}

// Result is what became of one tweet, DM or chat event of a payload.
type Result struct {
	// Kind is KindTweet, KindDM or KindChat.
	Kind Kind
	// EventID is the tweet id, DM event id or chat message id (may be
	// empty or malformed when Reason is ReasonInvalid).
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

// Evaluate applies the stateless rules below to every tweet, DM
// and chat event in p, for the bot with user id botUserID, and returns one
// Result per event: tweets first, then DMs, then chats, each in payload
// order. Other kinds of event (likes, follows, deletes, ...) never become
// jobs and get no Result. Jobs carry receivedAt as ReceivedAt.
//
// A tweet becomes a job when it is not the bot's own post, not a retweet
// (nor an X Activity API post.repost.create), the payload does not have
// user_has_blocked, it is addressed to the bot, and its visible text holds
// a keyword (Match). Addressed means: it mentions the bot, or replies to
// it (in_reply_to_user_id), or X delivered it as post.quote.create or
// post.reply.create for the bot, that is a quote of or a direct reply to
// one of the bot's posts; X counts a quote as summoning the quoted
// account even without an @mention. A DM
// becomes a job when its sender is not the bot, its recipient is the bot
// (or not given), the payload does not have user_has_blocked, and its
// visible text holds a keyword. A chat (XChat) event never becomes a
// job: it is ReasonOwnEvent when the bot sent it, else ReasonEncrypted.
// A payload whose for_user_id names another
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
	out := make([]Result, 0, len(p.TweetCreateEvents)+len(p.DirectMessageEvents)+len(p.ChatEvents))
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
	for i := range p.ChatEvents {
		out = append(out, chat(botUserID, forUser, &p.ChatEvents[i]))
	}
	return out
}

// addressed reports whether tw is for the bot: it mentions or replies to
// the bot, or X delivered it as a quote of or a direct reply to one of the
// bot's posts (the caller has checked that the delivery is for the bot).
func addressed(bot string, tw *events.Tweet) bool {
	switch {
	case tw.InReplyToUserID == bot, tw.Mentions(bot):
		return true
	}
	return tw.XAAEventType == events.XAAPostQuoteCreate || tw.XAAEventType == events.XAAPostReplyCreate
}

// chat decides an XChat event: never a job, since its text is encrypted.
func chat(bot, forUser string, c *events.ChatEvent) Result {
	r := Result{Kind: KindChat, EventID: c.ID, UserID: c.SenderID, Reason: ReasonEncrypted}
	switch {
	case c.ID == "" || !xapi.ValidID(c.SenderID):
		r.Reason = ReasonInvalid
	case forUser != bot:
		r.Reason = ReasonNotForBot
	case c.SenderID == bot:
		r.Reason = ReasonOwnEvent
	}
	return r
}

func (t *Table) tweet(bot, forUser string, p *events.Payload, tw *events.Tweet, at time.Time) Result {
	r := Result{Kind: KindTweet, EventID: tw.ID, UserID: tw.User.ID}
	switch {
	case !xapi.ValidID(tw.ID) || !xapi.ValidID(tw.User.ID):
		r.Reason = ReasonInvalid
	case forUser != bot:
		r.Reason = ReasonNotForBot
	case tw.User.ID == bot:
		r.Reason = ReasonOwnEvent
	case tw.IsRetweet():
		r.Reason = ReasonRetweet
	case p.UserHasBlocked:
		r.Reason = ReasonBlocked
	case !xapi.ValidID(bot) || !addressed(bot, tw):
		r.Reason = ReasonNotAddressed
	default:
		text := tw.VisibleText()
		m, ok := t.MatchIn(KindTweet, text)
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
	case !xapi.ValidID(d.ID) || !xapi.ValidID(d.SenderID):
		r.Reason = ReasonInvalid
	case forUser != bot:
		r.Reason = ReasonNotForBot
	case d.SenderID == bot:
		r.Reason = ReasonOwnEvent
	case p.UserHasBlocked:
		r.Reason = ReasonBlocked
	case !xapi.ValidID(bot) || (d.RecipientID != "" && d.RecipientID != bot):
		r.Reason = ReasonNotAddressed
	default:
		text := d.VisibleText()
		m, ok := t.MatchIn(KindDM, text)
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
