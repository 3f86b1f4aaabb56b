// Package events decodes X (Twitter) webhook deliveries into typed Go values
// and serves the webhook endpoint.
//
// # Decoding
//
// Decode understands two wire shapes:
//
//   - Account Activity API (AAA) payloads in the v1.1 shape, which both the
//     v1.1 and the v2 Account Activity API deliver: a JSON object whose
//     top-level keys ("tweet_create_events", "direct_message_events", ...)
//     name the kind of event. Several kinds may share one body.
//   - X Activity API (XAA) envelopes {"data":{"event_type","filter","payload",
//     "includes"}}. post.mention.create and post.create (a v2 Post, or a v1.1
//     Tweet) become TweetCreateEvents, with the author and referenced posts
//     looked up in includes; dm.received and dm.sent (direct_message_events
//     plus a users map whose entries are wrapped in "data") become
//     DirectMessageEvents. ForUserID is the filter's user id. Other event
//     types are kept raw in Payload.Unknown under their event type.
//
// Decoding is strict about shape and lenient about content: the body must
// be exactly one JSON object (no trailing data) nested at most MaxDepth
// deep, and a known field of the wrong type is an error (ErrMalformed);
// unknown fields are skipped and unknown top-level keys are kept in
// Payload.Unknown, so X adding a field never breaks a bot.
//
// Ids are always decimal strings from the *_str fields (or from v2 string
// ids). Numeric "id" values exceed 2^53 and arrive JavaScript-rounded in
// some captures, so they are never read. Fields that X sends in more than
// one type are accepted in each: user_has_blocked as a bool or "true"/
// "false", timestamp_ms as a number or a string.
//
// The exported types carry JSON tags for this package's own normalized form
// (the golden files in testdata/golden show it); they are not X's wire
// format, so always decode X's bytes with Decode.
//
// Decode scans the body once to check its syntax and depth and to find the
// top-level kinds, then decodes only the known kinds. Tweets, the bulk of
// a delivery, are read by a small hand-written decoder (tweetscan.go) for
// the plain case, exact keys of the right types, and by encoding/json for
// anything else; a test and a fuzz target check that both give the same
// payload as the plain encoding/json decoder kept in the tests.
//
// # Visible text
//
// Tweet.VisibleText is the text a reader sees: extended_tweet.full_text for
// a truncated tweet, with &amp; &lt; &gt; decoded, cut to its
// display_text_range in code points. The entities are decoded before the
// cut because X computes ranges and entity indices on the unescaped text.
// DirectMessage.VisibleText drops the t.co link of an attached image.
//
// # Handler
//
// Handler serves one path for both of X's requests. GET is the CRC
// challenge (crc.Handler, answering with the first secret). POST is, in
// this order: body capped at MaxBodyBytes (413), signature verified over
// the raw bytes with any configured secret (401 if missing or empty, 403 if
// wrong or malformed), body decoded (400), callback called (200 if it
// returns nil, 503 if it fails or panics, so that X delivers again). Other
// methods get 405. OnOutcome and OnSignatureFailure let a binary count
// results; the Logger (nil discards) never sees secrets or MACs.
//
// Package eventstest has realistic fixtures and signing helpers for tests.
package events
