// Package webhooks manages the bot's X webhook and its subscriptions:
// registration, the CRC re-validation, the X Activity API (XAA)
// subscriptions, the legacy Account Activity API (AAA) subscription, replay
// of missed events, and a Monitor that repairs all of these on its own.
//
// X ends the AAA on 2027-01-01; from then only XAA delivers events.
// MigrateToActivity (and "register migrate" in examples/register) moves a
// bot over; see docs/migrate-to-xaa.md.
//
// # Calls
//
// New validates a Config and returns a Client. The Bearer token (app-only)
// is required; it authenticates every /2/webhooks call, replay, listing
// subscriptions and removing one. The four OAuth 1.0a values (signed by
// github.com/dghubble/oauth1) are needed only for the calls that act as the
// subscribed user: Subscribe, EnsureSubscribed and CheckSubscription. Give
// all four or none; without them those calls return ErrNoUserAuth and send
// nothing.
//
//	Register           POST   /2/webhooks {"url"}           (X runs a CRC first)
//	List, Find         GET    /2/webhooks
//	Validate           PUT    /2/webhooks/:id               (X runs a CRC; re-enables)
//	Delete             DELETE /2/webhooks/:id
//	Replay             POST   /2/webhooks/replay {"webhook_id","from_date","to_date"}
//	Subscribe          POST   /2/account_activity/webhooks/:id/subscriptions/all      (OAuth 1.0a)
//	CheckSubscription  GET    /2/account_activity/webhooks/:id/subscriptions/all      (OAuth 1.0a)
//	ListSubscriptions  GET    /2/account_activity/webhooks/:id/subscriptions/all/list
//	Unsubscribe        DELETE /2/account_activity/webhooks/:id/subscriptions/:user_id/all
//
// The X Activity API subscribes per event type and filter, not "all
// activity of a user":
//
//	CreateActivitySubscription   POST   /2/activity/subscriptions  (OAuth 1.0a for private types, else Bearer)
//	ListActivitySubscriptions    GET    /2/activity/subscriptions?max_results=&pagination_token=
//	AllActivitySubscriptions     the same, following meta.next_token
//	UpdateActivitySubscription   PUT    /2/activity/subscriptions/:id {"tag"?, "webhook_id"?}
//	DeleteActivitySubscription   DELETE /2/activity/subscriptions/:id
//	DeleteActivitySubscriptions  DELETE /2/activity/subscriptions?ids=a,b (1 to 100; per-id results)
//
// Private event types (mentions, replies, quotes, DMs, chats and the other
// types not in IsPublicEventType) are created as the filtered user, which
// for a bot means its OAuth 1.0a credentials: X's OpenAPI accepts that
// user token, and the filter's user_id must be that user. Public types and
// every list, update and delete call use the Bearer token (one report has
// a user token refused with 403 on the list call). Create and update
// answers are read in all three shapes X has documented:
// {"data":{"subscription":{...}}} (the spec), a bare {"data":{...}} and a
// one-element {"data":[{...}]} (the quickstart), with
// meta.total_subscriptions (or a total_subscriptions beside the
// subscription) returned as the app's count, -1 when absent. XAA has no
// count endpoint; that number is the only one. Subscription ids are not
// documented as decimal, so they are checked to be 1 to 64 URL-safe
// characters before they reach a path.
//
// EnsureActivity is the idempotent form: it lists once and, for each wanted
// type (DefaultActivityEventTypes: post.mention.create, post.reply.create,
// post.quote.create, dm.received), keeps a subscription about the bot that
// already delivers where wanted, moves moetron's own (tagged
// "moetron:<type>") to a new webhook id with a PUT, and creates the rest,
// tagged and linked to the webhook. X's DuplicateSubscription answer counts
// as success. A second run makes no write call. It never deletes and
// never changes a subscription it did not tag. An empty WebhookID asks
// for stream delivery: the subscriptions carry no webhook_id, because a
// working bot reports that a subscription with one never reaches
// GET /2/activity/stream, while X's quickstart says it reaches both; until
// that is settled, stream and webhook subscriptions are kept apart.
// DeleteOwnActivity removes only what carries moetron's tag prefix.
// MigrateToActivity reads the webhook's AAA subscription, runs
// EnsureActivity for the same webhook, lists again to verify, and only on
// request (DropAAA) removes the AAA subscription.
//
// Inspect combines List, ListSubscriptions and (with user credentials)
// CheckSubscription into the "status" view an operator tool prints;
// examples/register is such a tool.
//
// Ensure and EnsureSubscribed are the idempotent forms a deploy script
// wants: Ensure reuses a webhook already registered for exactly the same URL
// (re-validating it if X marked it invalid) and registers the URL only when
// it is missing; EnsureSubscribed treats X's DuplicateSubscriptionFailed as
// success. Running both any number of times leaves one webhook and one
// subscription. Ensure never deletes another URL's webhook to make room:
// on a tier that allows one webhook, ErrWebhookLimit tells the operator to
// delete the old one deliberately.
//
// Ids are checked to be X's ids (1 to 19 decimal digits, no leading zero:
// the one rule every moetron package applies) before they reach a URL
// path.
// Replay cuts both ends down to the whole minute in UTC (X's yyyymmddhhmm,
// both ends inclusive) and reads both answer shapes X has documented
// ({"data":{"job_id"}} and a bare {"job_id"}).
//
// # Errors
//
// Answers from X become *APIError, parsed from every body shape
// ({"title","detail","type","status"}, {"errors":[{"title","detail"}]} and
// {"errors":[{"code","message"}]}) the same way reply parses them: the same
// message order and the same RetryAt rule (the latest reset of an
// exhausted rate-limit window, or Retry-After; zero when X gave none).
// X names the failure of a webhook call in the message ("CrcValidationFailed:
// URL returned bad response ..."); that name is APIError.Reason, and
// errors.Is maps it to a sentinel: ErrCRCFailed, ErrInvalidURL,
// ErrDuplicateURL, ErrWebhookLimit, ErrWebhookNotFound,
// ErrDuplicateSubscription, ErrSubscriptionLimit, ErrSubscriptionNotFound,
// ErrReplayConflict. Without a reason, a usage-capped problem type (or
// title UsageCapExceeded) is ErrUsageCapped and a 429, code 88 or
// rate-limit-exceeded type ErrRateLimited; then codes 355, 32 and 89; then
// the status decides: 401 ErrUnauthorized, 403 ErrForbidden, 404
// ErrWebhookNotFound, 409 ErrReplayConflict, 5xx ErrServer, other 4xx
// ErrBadRequest. X does not document the
// status of the reason-carrying answers, so code should test the sentinel,
// not the status. Local refusals wrap ErrInvalidConfig or ErrInvalidInput.
//
// No error or log record holds a credential: request headers are never
// logged or kept, transport errors are stripped of the URL wrapper, config
// errors name the missing or malformed field and its environment variable
// but never its value, and X's answers never echo secrets.
//
// # Monitor
//
// X stops delivering to a webhook it has marked invalid (a CRC answered
// with a wrong token, a redirect, or a day and more of failed CRCs), and
// nothing tells the bot: mentions are silently lost. A Monitor closes that
// gap. Every Interval (15 minutes by default) Check lists the webhooks and:
//
//   - if the URL is missing, registers it (a new
//     webhook id has no delivery history, so nothing can be replayed for
//     it; what was missed must be read through the REST API);
//   - if X marked it invalid, re-validates it (PUT) and, once that passes,
//     asks X to replay the window from the last event the webhook received
//     (MonitorConfig.LastEvent, e.g. intake.Intake.LastEvent; else the last
//     healthy check; else as far back as X allows) until now, capped to
//     MaxReplayWindow (24 hours) less a minute of clock-skew margin;
//   - makes sure the bot's XAA subscriptions exist and point at the
//     webhook (EnsureActivity): a lost one is re-created, one left on an
//     old webhook id is moved, and each repair is logged and named in
//     Status.ActivityRepaired. The AAA subscription is checked only with
//     MonitorConfig.LegacyAAA (off by default: every AAA call fails after
//     2027-01-01).
//
// Without a URL the Monitor serves a bot that reads the stream: it keeps
// only the subscriptions, without a webhook_id, and makes no webhook call.
//
// A replay owed is kept until X accepts it, so a failed PUT or a replay
// refused for a rate limit is tried again at the next check with the same
// start. Replayed events may repeat ones already received; the consumer
// deduplicates by event id, as it must for X's own duplicates anyway.
// Status reports what a check found and did, for logs and metrics; Run
// logs it (repairs at info, failures at warn) and passes it to OnCheck.
//
// The Monitor cannot see an outage in which X keeps the webhook valid
// while deliveries fail (X tolerates failing deliveries and CRCs for a
// while): that case is X's own retry, or the REST API's.
package webhooks
