package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AAAEndOfLife is the day X stops the Account Activity API (2027-01-01):
// from then only the X Activity API delivers events.
const AAAEndOfLife = "2027-01-01"

// ErrMigrationUnverified means the XAA subscriptions were created but a
// fresh listing does not show them all; the AAA subscription was kept.
var ErrMigrationUnverified = errors.New("webhooks: XAA subscriptions not confirmed by X")

// MigrateOptions configures MigrateToActivity. WebhookID and UserID are
// required.
type MigrateOptions struct {
	WebhookID string // the webhook the AAA subscription delivers to
	UserID    string // the bot (BOT_USER_ID), the user of the OAuth 1.0a credentials
	// EventTypes and TagPrefix are as in ActivityOptions (nil and "" mean
	// the defaults).
	EventTypes []string
	TagPrefix  string
	// DryRun reads everything and reports the plan, writing nothing.
	DryRun bool
	// DropAAA removes the user's AAA subscription to the webhook once the
	// XAA ones are verified. Off by default: during the parallel run both
	// deliver, and the consumer deduplicates by post and DM id.
	DropAAA bool
}

// MigrateReport is what MigrateToActivity found and did.
type MigrateReport struct {
	WebhookID string
	// AAASubscribed is whether UserID was subscribed to the webhook
	// through the AAA; AAAOthers are the other subscribed users, which
	// this call cannot migrate (each needs its own user token).
	AAASubscribed bool
	AAAOthers     []string
	// Activity is EnsureActivity's report (plans on DryRun).
	Activity *ActivityReport
	// Verified: a listing after the writes shows every wanted
	// subscription; Missing names those it does not. Both are left zero on
	// DryRun.
	Verified bool
	Missing  []string
	// AAADropped: the AAA subscription was removed (DropAAA).
	AAADropped bool
}

// MigrateToActivity moves the bot from the Account Activity API to the X
// Activity API on one webhook: it reads the webhook's AAA subscriptions,
// ensures the XAA subscriptions linked to the same webhook
// (EnsureActivity), lists again to verify that X has them all, and, only
// when DropAAA is set and the check passed, removes the bot's AAA
// subscription. Running it again is harmless. With DryRun it only reads.
func (c *Client) MigrateToActivity(ctx context.Context, o MigrateOptions) (*MigrateReport, error) {
	if err := checkID("webhook id", o.WebhookID); err != nil {
		return nil, err
	}
	if err := checkID("user id", o.UserID); err != nil {
		return nil, err
	}
	rep := &MigrateReport{WebhookID: o.WebhookID}
	aaa, err := c.ListSubscriptions(ctx, o.WebhookID)
	if err != nil {
		return rep, fmt.Errorf("webhooks: migrate: read AAA subscriptions: %w", err)
	}
	for _, u := range aaa.UserIDs {
		if u == o.UserID {
			rep.AAASubscribed = true
		} else {
			rep.AAAOthers = append(rep.AAAOthers, u)
		}
	}
	rep.Activity, err = c.EnsureActivity(ctx, ActivityOptions{UserID: o.UserID, WebhookID: o.WebhookID,
		EventTypes: o.EventTypes, TagPrefix: o.TagPrefix, DryRun: o.DryRun})
	if err != nil {
		return rep, fmt.Errorf("webhooks: migrate: %w", err)
	}
	if o.DryRun {
		return rep, nil
	}
	subs, err := c.AllActivitySubscriptions(ctx)
	if err != nil {
		return rep, fmt.Errorf("webhooks: migrate: verify: %w", err)
	}
	rep.Missing = MissingActivity(subs, o.UserID, o.WebhookID, o.EventTypes)
	rep.Verified = len(rep.Missing) == 0
	if !rep.Verified {
		return rep, fmt.Errorf("%w: missing %s", ErrMigrationUnverified, strings.Join(rep.Missing, ", "))
	}
	if o.DropAAA && rep.AAASubscribed {
		if err := c.Unsubscribe(ctx, o.WebhookID, o.UserID); err != nil && !errors.Is(err, ErrSubscriptionNotFound) {
			return rep, fmt.Errorf("webhooks: migrate: drop AAA subscription: %w", err)
		}
		rep.AAADropped = true
	}
	slices.Sort(rep.AAAOthers)
	return rep, nil
}
