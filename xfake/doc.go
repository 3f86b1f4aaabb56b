// Package xfake is an in-process fake of the X (Twitter) API v2 endpoints a
// reply bot uses, for tests and local demos.
//
// Start one with Start (tests) or New (a real listener, e.g. for a demo),
// point the code under test at URL, and assert on what it did with Posts,
// DMs, Uploads, Requests, RepliesTo and DMsTo. NewHandler gives the bare
// http.Handler to mount elsewhere.
//
// # What it checks
//
// User-context endpoints verify OAuth 1.0a HMAC-SHA1 signatures as RFC 5849
// describes: the base string is built from the method, the base URI (scheme
// and Host of the request, or Config.SigningBaseURL), the query and any
// application/x-www-form-urlencoded body (JSON and multipart bodies are not
// signed), keyed with the consumer secret and the account's token secret
// and compared in constant time. Timestamps outside Config.TimestampWindow
// and nonces seen before are refused. App-only endpoints (webhook
// management) take the Bearer token. Every authentication failure is X's
// 401 problem body; Request.AuthError tells a test why.
//
// Content is checked like X does: JSON endpoints need Content-Type
// application/json; uploads must be multipart with media and
// media_category (tweet_image or dm_image), at most 5 MB and a real PNG,
// JPEG, GIF or WEBP; posts are at most 280 weighted characters (see
// WeightedLength), take at most 4 media ids, each existing, owned by the
// poster, unexpired (86400 s on the configured clock) and of a tweet_
// category; DMs take one dm_ attachment, else X's 403 DMMediaDetail; the
// same text from the same user within Config.DuplicateWindow is X's 403
// duplicate-content body. Every response carries x-rate-limit-limit,
// -remaining and -reset (and x-app-limit-24hour-* on posts and DMs).
//
// # Webhooks
//
// The fake plays X's side of the webhook protocol: POST /2/webhooks runs a
// CRC GET against the URL (random crc_token and nonce, the response_token
// checked against the consumer secret, within Config.CRCTimeout) before
// registering it; PUT re-runs it; subscriptions follow the v2 Account
// Activity API. Deliver signs a payload (SignatureHeader) and POSTs it to
// every valid webhook; DeliverDuplicate repeats the last one; RunCRC is
// X's periodic check; POST /2/webhooks/replay re-delivers recorded events of
// the requested minutes in the background (WaitReplays waits) and ends with
// a replay_job_status notice. Failures use X's {"errors":[{"message":
// "Reason: ..."}]} body with status 400 (X documents the reasons, not the
// status).
//
// # X Activity API
//
// The fake also speaks the X Activity API (XAA), which replaces the Account
// Activity API on 2027-01-01. /2/activity/subscriptions (create, list,
// update, delete, bulk delete) checks the auth X requires for each call
// (OAuth 1.0a user context to create private events of the authenticated
// user, the Bearer for public ones and for list, update and delete) and
// answers in the response shape Config.Activity picks. MentionEvent,
// ReplyEvent, QuoteEvent, DMReceivedEvent and ChatReceivedEvent build
// envelopes in the documented shapes; PublishEvent delivers one the way
// the subscriptions say: a signed POST to each linked webhook, a line on
// GET /2/activity/stream for a subscription without a webhook. The stream
// (Bearer only, at most two connections, NDJSON with blank-line
// keep-alives, backfill_minutes and start_time from a five-minute history)
// takes faults a test orders with InjectStreamFault: drop, stall,
// keep-alives only, garbage, oversized and error lines, duplicates after a
// reconnect, 429 and 401 on the next connect. Replays of XAA events carry
// "meta":{"replay":true}.
//
// # Faults
//
// InjectFault makes an endpoint (or every endpoint) answer a rate-limit
// 429, a usage-cap 429, 503, X's duplicate 403, wait before answering, or
// store the post and then drop the connection with no response
// (FaultResetAfterStore) so idempotency can be tested; Outage makes every
// request answer 503 for a while.
//
// # Choices
//
// Ids are snowflake-shaped decimal strings derived from the clock. Replies
// need not point at a post the fake knows. Rate limits are only reported
// unless Config.EnforceRateLimits is set, so long test runs do not trip
// over X's 15-per-15-minutes DM budget by accident. The package does not
// import the project's crc package: it computes the HMACs it checks itself,
// so a bug in crc cannot hide behind a matching bug here.
package xfake
