// Package webhooks manages the bot's X webhook: registration, the CRC
// re-validation, the Account Activity subscription, replay of missed
// events, and a Monitor that repairs all of these on its own.
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
// Ids are checked to be X's decimal ids before they reach a URL path.
// Replay cuts both ends down to the whole minute in UTC (X's yyyymmddhhmm,
// both ends inclusive) and reads both answer shapes X has documented
// ({"data":{"job_id"}} and a bare {"job_id"}).
//
// # Errors
//
// Answers from X become *APIError, parsed from both body shapes
// ({"title","detail","type","status"} and {"errors":[{"code","message"}]}).
// X names the failure of a webhook call in the message ("CrcValidationFailed:
// URL returned bad response ..."); that name is APIError.Reason, and
// errors.Is maps it to a sentinel: ErrCRCFailed, ErrInvalidURL,
// ErrDuplicateURL, ErrWebhookLimit, ErrWebhookNotFound,
// ErrDuplicateSubscription, ErrSubscriptionLimit, ErrSubscriptionNotFound,
// ErrReplayConflict. Without a reason the status decides: 401
// ErrUnauthorized, 403 ErrForbidden, 404 ErrWebhookNotFound, 409
// ErrReplayConflict, 429 ErrRateLimited or ErrUsageCapped (by problem
// type), 5xx ErrServer, other 4xx ErrBadRequest. X does not document the
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
//   - if the URL is missing, registers it and subscribes the bot (a new
//     webhook id has no delivery history, so nothing can be replayed for
//     it; what was missed must be read through the REST API);
//   - if X marked it invalid, re-validates it (PUT) and, once that passes,
//     asks X to replay the window from the last event the webhook received
//     (MonitorConfig.LastEvent, e.g. intake.Intake.LastEvent; else the last
//     healthy check; else as far back as X allows) until now, capped to
//     MaxReplayWindow (24 hours) less a minute of clock-skew margin;
//   - makes sure the bot is still subscribed.
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
