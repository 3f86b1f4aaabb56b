// Package filter decides which webhook events are commands for the bot
// and turns them into queue jobs.
//
// It has two layers.
//
// A Table is a validated, immutable command table (DefaultCommands: rand
// = moerand, mess = moemess, name = moename). Its methods are pure:
//
//   - Match finds the first keyword in a text, by position, as a whole
//     word and ignoring case; Args is the rest of the text, trimmed.
//   - Evaluate applies the bot's rules (below) to a decoded
//     events.Payload and returns one Result per tweet or DM event: a Job,
//     or a Reason why not (not_a_command, own_event, retweet,
//     not_addressed, blocked, not_for_bot, invalid_event, too_large,
//     encrypted).
//   - ParseJob reads a queue message, including those of the original
//     bot and base64-wrapped ones; it needs the table to find the command
//     of a message that carries only text.
//
// Test your own command table by calling Evaluate on the payloads of
// events/eventstest: one call per fixture, no clock, no state.
//
// # X Activity API events
//
// The rules read the normalized payload, so XAA deliveries need little
// of their own. A post delivered as post.quote.create or
// post.reply.create for the bot is addressed to it even without an
// @mention: X sends those only for quotes of and direct replies to the
// bot's posts, and counts a quote as summoning the bot. post.repost.create
// is a retweet; post.create and dm.sent echo the bot's own acts and give
// own_event. XChat messages (chat.received) cannot be read without the
// bot's XChat keys: each gives a Result of KindChat with ReasonEncrypted
// (own_event for chat.sent), never a job, so that a caller can count them
// and say once that encrypted DMs are not answered. XAA has no
// user_has_blocked, so ReasonBlocked never fires for it.
//
// The job id is tweet:<post id> or dm:<DM event id> whatever brought the
// event: one post seen as post.mention.create and post.reply.create, by
// webhook and by stream, replayed, or by AAA and XAA during the parallel
// run, makes one job within the duplicate window. The event_uuid is not
// used for this: X documents it per delivery, not per post.
//
// A Filter adds the state a webhook needs around a Table: suppression of
// duplicate deliveries by job id (bounded: at most Config.DedupSize ids,
// each for Config.DedupTTL) and an optional per-user token-bucket rate
// limit. Both use an injectable clock. A Filter is safe for concurrent
// use. Filter.Results remembers a job id as soon as it hands the job out;
// when the job cannot be queued, Filter.Forget undoes that, so that X's
// retry of the delivery is not dropped as a duplicate.
//
// # Words
//
// A keyword matches only a whole word. Word characters are Unicode's \w
// class (UTS #18): letters, marks, decimal digits, connector punctuation
// (which includes '_') and the zero-width joiners. Case is compared with
// Unicode simple case folding. Keywords must consist of word characters,
// so "moerand" matches in "@bot moerand!", "#moerand" and "(MoeRand)" but
// not in "moerandom", "moerand_2" or "画像moerand" (Han letters are
// letters; put a space between). A keyword right after '@' also matches:
// the visible text of a reply has its leading mentions cut off already.
//
// # The job message
//
// Job's JSON form is the queue message (the contract between webhook and
// worker, see Job), fields in the
// documented order, ids as decimal strings, received_at in UTC with whole
// seconds (omitted when zero). Job.Body validates and checks the 48 KiB
// limit. encoding/json's default escaping of '<', '>' and '&' is kept so
// that json.Marshal(job) and Job.Body give the same bytes.
//
// The package calls neither X nor a queue, and logs only through an
// optional *slog.Logger (one debug record per skipped event).
package filter
