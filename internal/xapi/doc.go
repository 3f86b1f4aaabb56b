// Package xapi is the X API plumbing that every moetron package calling X
// shares, written once: the default base URL and its check, the id rule,
// the parsing of X's error answers and rate-limit headers, the time a
// rate-limited request may be sent again, the OAuth 1.0a transport, a
// client that does not follow redirects, and the stripping of URLs from
// transport errors.
//
// reply, webhooks and stream build their public errors on it
// (reply.APIError and webhooks.APIError embed Answer; stream.HTTPError is
// filled from a Body), and filter, worker, xfake and the servers' settings
// check ids with ValidID, so that what one package accepts another does not
// refuse.
//
// # Ids
//
// ValidID accepts X's ids in the form X writes them: 1 to 19 ASCII digits
// (the pattern ^[0-9]{1,19}$ of X's OpenAPI TweetId and UserId), with no
// sign, no space and no leading zero, and not 0. Every such number fits in
// an unsigned 64-bit integer (the largest, 10^19-1, is below 2^64-1 =
// 18446744073709551615, which has 20 digits): a 20-digit string is refused
// even when it would fit, because X's own request validation refuses it and
// a job holding one could never be answered. Leading zeros are refused so
// that one post has one id string: "tweet:0123" and "tweet:123" would be
// two idempotency keys for the same post.
//
// # Error answers
//
// X answers errors in three shapes, sometimes mixed in one body: the v2
// problem {"title","detail","type","status"}, the v2 {"errors":[{"title",
// "detail","type",...}]} (also on a 200 read whose only content is errors),
// and the v1.1 {"errors":[{"code","message"}]}. ParseAnswer reads all of
// them into an Answer; a body that is not JSON becomes a short printable
// hint in Detail. The message of an error is, in this order: the problem's
// "title: detail" (or whichever of them there is), then each errors[]
// entry's message (else its detail, else its title) that is not already
// said, joined by "; ", at most MaxMessageEntries entries. Describe writes
// an error text in one layout for every package:
//
//	<pkg>: <METHOD> <path>: <status>[ <kind>][: <message>][ (code N)][ (retry at RFC 3339)]
//
// No part of it comes from the request's headers or query, so no
// credential can reach it.
//
// # When to retry
//
// An answer is usage capped when its problem type (or an entry's) ends in
// /usage-capped or its title is UsageCapExceeded, else rate limited when
// its status is 429, a code is 88 or a type ends in /rate-limit-exceeded.
// Answer.RetryAt is then, for a rate limit, the latest of
//
//   - the reset of each window whose reset X sent and whose remaining count
//     is 0 or was not sent: x-rate-limit-reset (15 minutes),
//     x-user-limit-24hour-reset and x-app-limit-24hour-reset (epoch
//     seconds);
//   - now + Retry-After (seconds above 0, or an HTTP date after now).
//
// A window whose remaining count X reported above 0 did not cause the 429,
// so its reset is not used. For a usage cap the 15-minute window is left
// out (a cap is not that window) and the 24-hour ones and Retry-After are
// used the same way. A 429 that carries none of these has a zero RetryAt:
// X gave no time, and the caller applies its own configured wait (the
// worker's RateLimitWait, the stream consumer's RateLimitWait, the reply
// client's backoff) rather than a guess baked into the error.
package xapi
