// Package reply writes the bot's answers to X through the X API v2 as one
// user (OAuth 1.0a user context, signed by github.com/dghubble/oauth1):
// image upload, reply posts and direct messages, with X's error shapes,
// rate limits and retries handled in one place.
//
// # Calls
//
// New validates a Config (all four OAuth values; a missing one is named in
// the error, its value never shown) and returns a Client. Then:
//
//   - UploadImage: POST /2/media/upload (multipart: media_category, media)
//     for images up to Config.ChunkThreshold (1 MiB by default), else
//     /2/media/upload/initialize → /{id}/append → /{id}/finalize, then
//     GET /2/media/upload?command=STATUS while processing is pending or
//     in_progress (check_after_secs honoured). The one-shot form sends no
//     media_type field (the current spec does not list it; X detects it);
//     initialize sends the type detected from the bytes. Images over 5 MB
//     (MaxImageBytes) or not PNG/JPEG/GIF/WebP are refused before sending.
//   - Reply: POST /2/tweets {"text","reply":{"in_reply_to_tweet_id"},
//     "media":{"media_ids"}}. Text over 280 weighted characters
//     (WeightedLength) is refused before sending.
//   - SendDM: POST /2/dm_conversations/with/:participant_id/messages
//     {"text","attachments":[{"media_id"}]}.
//   - ReplyWithImage, DMWithImage: check text and image, upload
//     (tweet_image or dm_image), then post. Two requests on the happy path.
//   - FindReply, FindDM: read-back (see below).
//   - Me: GET /2/users/me, the account the credentials belong to; a
//     worker calls it at start-up to check its tokens (ErrUnauthorized
//     when they are wrong or revoked) and the account (User.ID against
//     BOT_USER_ID).
//   - Text renders the reply template (DefaultTemplate: "@alice Here's your
//     generated image! (seed 12345, #a1b2c3)"). The seed and RequestID make
//     every reply text distinct, which matters: X refuses a post whose text
//     duplicates a recent one with 403, and this package relies on that
//     refusal as a second guard against double posting. The handle is kept
//     on posts because v2 does not add it; it is left out of DMs.
//
// # Errors
//
// Local refusals wrap a sentinel (ErrInvalidInput, ErrImageTooLarge,
// ErrTextTooLong, ...). Answers from X become *APIError, parsed from both
// body shapes (problem JSON and {"errors":[{"code","message"}]}), and
// classified:
//
//	status / signal                                  Kind             sentinel             retry
//	network error before the request was written     (TransportError) -                    yes
//	network error after it was written               (TransportError) -                    yes; create: read-back first
//	5xx                                              KindServer       ErrServer            yes; create: read-back first
//	429, or code 88                                  KindRateLimited  ErrRateLimited       after RetryAt, if it fits the deadline
//	429 with type …/usage-capped (or UsageCapExceeded) KindUsageCapped ErrUsageCapped      no (until the cap resets)
//	403 duplicate content, or code 187               KindDuplicate    ErrDuplicateContent  no (vary the text)
//	403 other (not summoned, DM not allowed, media)  KindNotAllowed   ErrNotAllowed        no
//	401, codes 32/89                                 KindUnauthorized ErrUnauthorized      no
//	404, 200 whose only content is resource-not-found KindNotFound    ErrNotFound          no
//	400 and other 4xx (expired media id included)    KindBadRequest   ErrBadRequest        no
//
// RetryAt for a rate limit is the latest of the resets of the exhausted
// windows (x-rate-limit-reset, x-user-limit-24hour-reset,
// x-app-limit-24hour-reset, each when its remaining count is 0 or was not
// sent) and Retry-After (seconds or an HTTP date); a usage cap leaves the
// 15-minute window out; zero when X gave no time, and then the Client
// backs off as for a 5xx (the rule is internal/xapi's, shared with
// webhooks and stream). IsRetryable, IsDuplicate and RateLimitReset answer
// the usual questions; a worker that gets a rate limit it could not wait
// out extends the job's visibility to RateLimitReset(err).
//
// Error texts and log records hold method, path, status and X's message,
// never a header, a credential or a signature.
//
// # Retries and not posting twice
//
// Every HTTP step is retried at most Retry.MaxAttempts times with capped
// exponential backoff and jitter, and only while the wait fits inside the
// call's deadline (Retry.Deadline, or the context's if earlier). A rate
// limit whose reset lies beyond the deadline is returned at once with its
// RetryAt.
//
// Uploads and reads are safe to repeat. A post or a DM is not: after a
// timeout or a reset connection once the request was written, or a 5xx, X
// may have stored it. Then the Client does not resend blindly; it waits one
// backoff and reads back (FindReply: the bot's timeline for a reply to the
// same tweet; FindDM: the conversation for a DM from the bot with the same
// text), from a lower bound two minutes before the first attempt. Found:
// the call succeeds with Recovered set. Not found: it sends again; if that
// answers 403 duplicate, the earlier attempt was stored after all and it
// reads back once more. A failure that happened before the request was
// written, or a 429, proves nothing was created and is retried normally.
//
// When the outcome cannot be settled (no Config.BotUserID, the read-back
// failed, attempts ran out), the call returns *UncertainError (errors.Is
// ErrUncertain) carrying what to check: the tweet replied to or the DM
// participant and text, and the time to search from. The caller must not
// post again without checking; the same FindReply/FindDM calls are what a
// worker should run before answering a redelivered job. Read-back is
// subject to X's indexing delay; for posts the duplicate-content refusal
// covers that gap, for DMs (no such refusal) a lagging index can still
// let a second DM through. That residual risk is accepted and documented.
//
// # Testing
//
// Config.BaseURL points the client at a fake X; Config.Now, Sleep and
// Jitter make backoff and rate-limit waits deterministic.
package reply
