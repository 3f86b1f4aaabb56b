package webhookserver

import (
	"context"
	"time"

	"github.com/moetron/moetron/webhooks"
)

// newMonitor builds the monitor of a server that manages subscriptions
// (Config.ManagesSubscriptions): with a URL it keeps the webhook registered
// and valid and the bot's X Activity API subscriptions
// (webhooks.DefaultActivityEventTypes about BotUserID) linked to it; with
// stream delivery alone it keeps the subscriptions without a webhook. The Account Activity API subscription of earlier versions
// is no longer made: X ends that API on 2027-01-01 (register migrate moves
// a running bot over).
func (s *Server) newMonitor() (*webhooks.Monitor, error) {
	c, err := webhooks.New(webhooks.Config{
		BearerToken:       s.cfg.BearerToken,
		ConsumerKey:       s.cfg.ConsumerKey,
		ConsumerSecret:    s.cfg.ConsumerSecret,
		AccessToken:       s.cfg.AccessToken,
		AccessTokenSecret: s.cfg.AccessTokenSecret,
		BaseURL:           s.cfg.APIBase,
		HTTPClient:        s.client,
		Logger:            s.log,
	})
	if err != nil {
		return nil, err
	}
	return webhooks.NewMonitor(webhooks.MonitorConfig{
		Client:    c,
		URL:       s.cfg.URL,
		UserID:    s.cfg.BotUserID,
		LastEvent: s.intake.LastEvent,
		OnCheck:   s.onCheck,
		Logger:    s.log,
	})
}

// healthy says whether a check found everything in place: the webhook
// valid (when the server registers one) and the subscriptions made.
func (s *Server) healthy(st webhooks.Status, err error) bool {
	return err == nil && st.Subscribed && (st.Valid || !s.cfg.Registers())
}

func (s *Server) onCheck(st webhooks.Status, err error) {
	ok := s.healthy(st, err)
	if ok {
		s.webhookOK.Set(1)
	} else {
		s.webhookOK.Set(0)
	}
	if s.onWebhookCheck != nil {
		s.onWebhookCheck(st, err)
	}
}

// FirstRetry is the wait after a failed webhook check; it doubles after each
// further failure up to the monitor interval, so that a start-up while X (or
// the network) is briefly unavailable does not leave the webhook unregistered
// for a whole interval.
const FirstRetry = 10 * time.Second

// manageWebhook runs the monitor's checks until ctx ends: the first
// registers the URL and ensures the bot's XAA subscriptions (a CRC round trip through this
// server, which is listening by then); later ones repair what X lost.
// Healthy checks repeat every interval, failed ones sooner (FirstRetry,
// doubling).
func (s *Server) manageWebhook(ctx context.Context) {
	interval := s.monitorInterval
	if interval <= 0 {
		interval = webhooks.DefaultMonitorInterval
	}
	retry := s.monitorRetry
	if retry <= 0 {
		retry = FirstRetry
	}
	retry = min(retry, interval)
	wait := retry
	for {
		st, err := s.monitor.Check(ctx)
		if ctx.Err() != nil {
			return
		}
		healthy := s.healthy(st, err)
		attrs := []any{"webhook_id", st.WebhookID, "valid", st.Valid, "subscribed", st.Subscribed,
			"xaa_repaired", st.ActivityRepaired}
		next := interval
		switch {
		case !healthy:
			next, wait = wait, min(wait*2, interval)
			s.log.Warn("webhook check failed", append(attrs, "err", err, "retry_in", next)...)
		case st.Registered || st.Revalidated || st.Resubscribed || st.ReplayRequested:
			wait = retry
			s.log.Info("webhook set up", append(attrs, "registered", st.Registered, "revalidated", st.Revalidated,
				"resubscribed", st.Resubscribed, "replay_requested", st.ReplayRequested)...)
		default:
			wait = retry
			s.log.Debug("webhook healthy", attrs...)
		}
		s.onCheck(st, err)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
