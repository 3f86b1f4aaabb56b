// Package events decodes X (Twitter) webhook deliveries into typed Go values
// and serves the webhook endpoint.
//
// Two wire shapes are understood by Decode:
//
//   - Account Activity API (AAA) payloads in the v1.1 shape, which both the
//     v1.1 and the v2 Account Activity API deliver: a JSON object whose
//     top-level keys ("tweet_create_events", "direct_message_events", ...)
//     name the kind of event.
//   - X Activity API (XAA) envelopes {"data":{"event_type":...,"payload":...}},
//     for post.mention.create and dm.received, mapped onto the same Tweet and
//     DirectMessage types so one filter serves both.
//
// Ids are always decimal strings taken from the *_str fields: numeric "id"
// values exceed 2^53 and arrive JavaScript-rounded in some captures, so they
// are never read.
package events
