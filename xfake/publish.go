package xfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ErrNoSubscription means PublishEvent found no X Activity API subscription
// for the event's type and user: X would deliver it nowhere.
var ErrNoSubscription = errors.New("xfake: no activity subscription matches the event")

// Published says where PublishEvent sent an event.
type Published struct {
	EventType string
	UserID    string
	// Status is the first non-2xx webhook answer, 200 when every webhook
	// answered 2xx, and 0 when no webhook was due the event.
	Status int
	// WebhookIDs are the webhooks the event was POSTed to.
	WebhookIDs []string
	// Stream says a matching subscription has no webhook: the event went
	// into the stream's history (for backfill) and to StreamConnections
	// open streams.
	Stream            bool
	StreamConnections int
}

// PublishEvent plays X delivering one X Activity API event (an envelope
// {"data":{"event_type","filter":{"user_id"},...}}, as MentionEvent and the
// other builders make) the way the app's subscriptions say: a signed POST
// to every valid webhook linked by a matching subscription, and a line on
// the persistent stream when a matching subscription has no webhook_id (a
// working bot reports that webhook-linked subscriptions do not feed the
// stream; see ActivityConfig). Webhook deliveries are recorded for replay,
// and XAA replays carry "meta":{"replay":true}.
//
// It returns ErrNoSubscription when no subscription matches, and the joined
// transport errors of the webhook POSTs.
func (s *Server) PublishEvent(ctx context.Context, env []byte) (Published, error) {
	var top struct {
		Data struct {
			EventType string `json:"event_type"`
			Filter    struct {
				UserID string `json:"user_id"`
			} `json:"filter"`
		} `json:"data"`
	}
	if err := json.Unmarshal(env, &top); err != nil || top.Data.EventType == "" {
		return Published{}, fmt.Errorf("xfake: PublishEvent needs an XAA envelope with data.event_type: %v", err)
	}
	pub := Published{EventType: top.Data.EventType, UserID: top.Data.Filter.UserID}
	ids, stream := s.activityTargets(pub.EventType, pub.UserID)
	if len(ids) == 0 && !stream {
		return pub, fmt.Errorf("%w: %s for user %s", ErrNoSubscription, pub.EventType, pub.UserID)
	}
	var err error
	if ts := s.targetsByID(ids); len(ts) > 0 {
		s.mu.Lock()
		ev := Event{Seq: len(s.events) + 1, Payload: slices.Clone(env), At: s.now().UTC()}
		for _, t := range ts {
			ev.WebhookIDs = append(ev.WebhookIDs, t.id)
			pub.WebhookIDs = append(pub.WebhookIDs, t.id)
		}
		s.events = append(s.events, ev)
		s.mu.Unlock()
		pub.Status, err = s.sendAll(ctx, ts, env, Delivery{EventSeq: ev.Seq})
	}
	if stream {
		pub.Stream = true
		pub.StreamConnections = s.DeliverStream(env)
	}
	return pub, err
}

// targetsByID returns the valid webhooks among ids.
func (s *Server) targetsByID(ids []string) []target {
	var ts []target
	for _, t := range s.validTargets() {
		if slices.Contains(ids, t.id) {
			ts = append(ts, t)
		}
	}
	return ts
}
