package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DefaultActivityTagPrefix starts the tag of every subscription
// EnsureActivity creates: "moetron:post.mention.create". The tag is how
// moetron recognises its own subscriptions (to update or delete them)
// among others of the same app.
const DefaultActivityTagPrefix = "moetron:"

// ActivityOptions says which XAA subscriptions EnsureActivity makes sure
// of. UserID is required.
type ActivityOptions struct {
	// UserID is the user the events are about: the bot (BOT_USER_ID). For
	// private event types it must be the user of the OAuth 1.0a
	// credentials.
	UserID string
	// WebhookID links the subscriptions to that webhook. "" means stream
	// delivery: the subscriptions carry no webhook_id, because one working
	// bot reports that a subscription with a webhook_id never reaches
	// GET /2/activity/stream (X's quickstart says it reaches both).
	WebhookID string
	// EventTypes are the wanted types; nil means
	// DefaultActivityEventTypes.
	EventTypes []string
	// TagPrefix starts the tag of created subscriptions (prefix + event
	// type); "" means DefaultActivityTagPrefix.
	TagPrefix string
	// DryRun lists and plans but writes nothing: actions are
	// ActivityWouldCreate and ActivityWouldUpdate instead.
	DryRun bool
}

func (o *ActivityOptions) normalize() error {
	if err := checkID("user id", o.UserID); err != nil {
		return err
	}
	if o.WebhookID != "" {
		if err := checkID("webhook id", o.WebhookID); err != nil {
			return err
		}
	}
	if o.EventTypes == nil {
		o.EventTypes = DefaultActivityEventTypes
	}
	if len(o.EventTypes) == 0 {
		return fmt.Errorf("%w: no event types to ensure", ErrInvalidInput)
	}
	for _, t := range o.EventTypes {
		if err := checkEventType(t); err != nil {
			return err
		}
	}
	if o.TagPrefix == "" {
		o.TagPrefix = DefaultActivityTagPrefix
	}
	if err := checkTag(o.TagPrefix + o.EventTypes[0]); err != nil {
		return fmt.Errorf("%w (tag prefix too long)", err)
	}
	return nil
}

// ActivityTag is the tag EnsureActivity gives the subscription for
// eventType: prefix ("" means DefaultActivityTagPrefix) + eventType.
func ActivityTag(prefix, eventType string) string {
	if prefix == "" {
		prefix = DefaultActivityTagPrefix
	}
	return prefix + eventType
}

// ActivityAction says what EnsureActivity did for one event type.
type ActivityAction string

// EnsureActivity's actions.
const (
	// ActivityExisting: a subscription with the right filter and delivery
	// was there already (or X answered DuplicateSubscription). Untouched.
	ActivityExisting ActivityAction = "existing"
	// ActivityCreated: none was there; one was created.
	ActivityCreated ActivityAction = "created"
	// ActivityUpdated: one of moetron's own (by tag) pointed at another
	// webhook and was moved to the wanted one.
	ActivityUpdated ActivityAction = "updated"
	// ActivityWouldCreate and ActivityWouldUpdate are the DryRun plans.
	ActivityWouldCreate ActivityAction = "would create"
	ActivityWouldUpdate ActivityAction = "would update"
)

// ActivityResult is EnsureActivity's outcome for one wanted event type.
// Subscription is what X reported; for ActivityWouldCreate it is the
// subscription that would be created (no ID).
type ActivityResult struct {
	EventType    string
	Action       ActivityAction
	Subscription ActivitySubscription
}

// ActivityReport is what EnsureActivity found and did, one result per
// wanted event type in the order asked.
type ActivityReport struct {
	Results []ActivityResult
	// Total is the app's subscription count after the last write
	// (meta.total_subscriptions), else the listing's count; -1 if unknown.
	Total int
}

// Changed reports whether the run created or updated anything.
func (r *ActivityReport) Changed() bool {
	for _, res := range r.Results {
		if res.Action == ActivityCreated || res.Action == ActivityUpdated {
			return true
		}
	}
	return false
}

// matches reports whether s delivers eventType events about userID with no
// further narrowing (no direction, no keyword).
func matches(s ActivitySubscription, eventType, userID string) bool {
	return s.EventType == eventType && s.Filter.UserID == userID && s.Filter.Direction == "" && s.Filter.Keyword == ""
}

// EnsureActivity makes sure the app has an XAA subscription for each wanted
// event type about o.UserID, delivered to o.WebhookID (or, when that is
// "", to the stream only). It lists the subscriptions first and writes only
// what is missing, so a second run makes no write call:
//
//   - one with the wanted delivery exists: left alone, whatever its tag;
//   - one of moetron's own (tag TagPrefix+type) points at another webhook
//     and a webhook is wanted: moved there (PUT webhook_id);
//   - otherwise: created with the tag and the webhook id. X's
//     DuplicateSubscription answer counts as success.
//
// It never deletes anything, and never changes a subscription it did not
// tag. On error the report holds the results so far.
func (c *Client) EnsureActivity(ctx context.Context, o ActivityOptions) (*ActivityReport, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	subs, err := c.AllActivitySubscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: ensure activity: %w", err)
	}
	rep := &ActivityReport{Total: len(subs)}
	for _, t := range o.EventTypes {
		res, n, err := c.ensureOne(ctx, o, subs, t)
		if n >= 0 {
			rep.Total = n
		}
		if err != nil {
			return rep, fmt.Errorf("webhooks: ensure activity %s: %w", t, err)
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

func (c *Client) ensureOne(ctx context.Context, o ActivityOptions, subs []ActivitySubscription, t string) (ActivityResult, int, error) {
	res := ActivityResult{EventType: t}
	tag := ActivityTag(o.TagPrefix, t)
	var ours *ActivitySubscription
	for i := range subs {
		s := subs[i]
		if !matches(s, t, o.UserID) {
			continue
		}
		if s.WebhookID == o.WebhookID {
			res.Action, res.Subscription = ActivityExisting, s
			return res, -1, nil
		}
		if s.Tag == tag && ours == nil {
			ours = &subs[i]
		}
	}
	if ours != nil && o.WebhookID != "" {
		if o.DryRun {
			res.Action, res.Subscription = ActivityWouldUpdate, *ours
			res.Subscription.WebhookID = o.WebhookID
			return res, -1, nil
		}
		s, err := c.UpdateActivitySubscription(ctx, ours.ID, ActivityUpdate{WebhookID: &o.WebhookID})
		if err != nil {
			return res, -1, err
		}
		res.Action, res.Subscription = ActivityUpdated, *s
		return res, -1, nil
	}
	want := NewActivitySubscription{EventType: t, Filter: ActivityFilter{UserID: o.UserID}, Tag: tag, WebhookID: o.WebhookID}
	if o.DryRun {
		res.Action = ActivityWouldCreate
		res.Subscription = ActivitySubscription{EventType: t, Filter: want.Filter, Tag: tag, WebhookID: o.WebhookID}
		return res, -1, nil
	}
	s, n, err := c.CreateActivitySubscription(ctx, want)
	if errors.Is(err, ErrDuplicateSubscription) {
		// Created between our listing and now (another replica), or X
		// matches duplicates more loosely than we do: either way it is
		// there. Report what a fresh listing shows.
		c.log.DebugContext(ctx, "activity subscription already exists", "event_type", t)
		res.Action = ActivityExisting
		res.Subscription = ActivitySubscription{EventType: t, Filter: want.Filter, WebhookID: o.WebhookID}
		if again, lerr := c.AllActivitySubscriptions(ctx); lerr == nil {
			for _, s := range again {
				if matches(s, t, o.UserID) && s.WebhookID == o.WebhookID {
					res.Subscription = s
					break
				}
			}
		}
		return res, -1, nil
	}
	if err != nil {
		return res, -1, err
	}
	res.Action, res.Subscription = ActivityCreated, *s
	return res, n, nil
}

// MissingActivity returns the wanted event types that subs lacks: those
// without a subscription about userID delivered to webhookID ("" is the
// stream). nil wanted means DefaultActivityEventTypes.
func MissingActivity(subs []ActivitySubscription, userID, webhookID string, wanted []string) []string {
	if wanted == nil {
		wanted = DefaultActivityEventTypes
	}
	var missing []string
	for _, t := range wanted {
		if !slices.ContainsFunc(subs, func(s ActivitySubscription) bool {
			return matches(s, t, userID) && s.WebhookID == webhookID
		}) {
			missing = append(missing, t)
		}
	}
	return missing
}

// OwnActivity returns the subscriptions whose tag starts with prefix (""
// means DefaultActivityTagPrefix): the ones EnsureActivity made.
func OwnActivity(subs []ActivitySubscription, prefix string) []ActivitySubscription {
	if prefix == "" {
		prefix = DefaultActivityTagPrefix
	}
	var out []ActivitySubscription
	for _, s := range subs {
		if strings.HasPrefix(s.Tag, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// DeleteOwnActivity deletes every subscription whose tag starts with prefix
// ("" means DefaultActivityTagPrefix), in bulk calls of up to
// MaxBulkDelete, and returns the joined result. Subscriptions without
// moetron's tag are never touched.
func (c *Client) DeleteOwnActivity(ctx context.Context, prefix string) (*ActivityBulkDelete, error) {
	subs, err := c.AllActivitySubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	own := OwnActivity(subs, prefix)
	out := &ActivityBulkDelete{Deleted: []string{}, Total: len(subs)}
	for chunk := range slices.Chunk(own, MaxBulkDelete) {
		ids := make([]string, len(chunk))
		for i, s := range chunk {
			ids[i] = s.ID
		}
		r, err := c.DeleteActivitySubscriptions(ctx, ids)
		if err != nil {
			return out, err
		}
		out.Deleted = append(out.Deleted, r.Deleted...)
		out.Failed = append(out.Failed, r.Failed...)
		out.Total = r.Total
	}
	return out, nil
}
