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
//   - X Activity API (XAA) envelopes {"data":{"event_uuid","filter",
//     "event_type","tag","payload","includes"}}, one event per webhook body
//     or stream line, which replace AAA when it ends on 2027-01-01. The
//     envelope goes to Payload.XAA (event_uuid as an opaque string, the
//     filter's user_id and direction, the tag); ForUserID is the filter's
//     user id.
//
// XAA event types are mapped onto the AAA types, so code written for AAA
// payloads keeps working:
//
//   - post.mention.create, post.reply.create, post.quote.create,
//     post.repost.create and post.create carry a v2 Post (or, leniently, a
//     v1.1 Tweet or a tweet_create_events object). Each becomes one of
//     TweetCreateEvents with Tweet.XAAEventType set, the author and
//     referenced posts looked up in includes. Both spellings X uses are
//     read: referenced_tweets or referenced_posts, includes.tweets or
//     includes.posts, users flat or wrapped in {"data":…};
//     in_reply_to_tweet_id gives InReplyToStatusID when no replied_to
//     reference does; note_tweet becomes the extended tweet. A repost is a
//     retweet (Tweet.IsRetweet) even without a retweeted reference.
//   - post.delete becomes a TweetDeleteEvent; oauth.revoke a
//     UserEvent.Revoke, as AAA's tweet_delete_events and user_event did.
//   - dm.received and dm.sent (direct_message_events plus a users map whose
//     entries are wrapped in "data") become DirectMessageEvents and Users.
//   - chat.received and chat.sent (XChat, end-to-end encrypted) become
//     ChatEvents: ids, sender, time and whether ciphertext was present.
//     The ciphertext, conversation token and signatures are not kept, so a
//     Payload never carries them into logs.
//   - Other event types are kept raw in Payload.Unknown under their event
//     type.
//
// A replayed webhook delivery has "meta":{"replay":true} beside "data"
// (XAAEnvelope.Replay); other top-level keys beside "data" go to Unknown,
// but an AAA key makes the body AAA. "data" may also be a non-empty array
// of envelopes, which X does not document: each is decoded and the
// results merged, with every envelope listed in Payload.XAAEvents (an
// array naming two filter users is ErrMalformed). A "data" that holds no
// envelope leaves the body to be read as AAA, with "data" as an unknown
// key.
//
// Payload.Kinds names a fixed set of kinds (the Kind constants, KindChat
// and KindOther for anything unmodelled), so that metrics labelled by
// kind stay bounded whatever a body holds.
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
// Decode reads the body with one typed unmarshal (go-json-experiment/json,
// the module that becomes encoding/json/v2) into wire types that mirror
// X's JSON field for field, so a field X adds is one struct tag (for a
// tweet or a user also one case in its member loop: those two match
// names by a switch and skip X's many unused members at once, rather
// than have the library look each unknown name up twice); an X
// Activity API delivery then has each envelope's payload read by its
// event type. The rules are explicit (decodeOptions): of a repeated
// member name the last wins, as with encoding/json; names match exactly
// (case included, as X writes them); unknown members are skipped; invalid
// UTF-8 reads as U+FFFD. Depth is counted before decoding only when the
// body has more than MaxDepth brackets. A test and a fuzz target check
// that Decode gives the same payload as a plain encoding/json decoder
// kept in the tests, apart from the exact names.
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
