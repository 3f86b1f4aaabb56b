package webhookserver

import (
	"context"
	"errors"

	"github.com/moetron/moetron/webhooks"
)

// newMonitor builds the webhook monitor of a server whose Config has a URL.
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
		Interval:  s.monitorInterval,
		LastEvent: s.intake.LastEvent,
		OnCheck:   s.onCheck,
		Logger:    s.log,
	})
}

func (s *Server) onCheck(st webhooks.Status, err error) {
	ok := err == nil && st.Valid && st.Subscribed
	if ok {
		s.webhookOK.Set(1)
	} else {
		s.webhookOK.Set(0)
	}
	if s.onWebhookCheck != nil {
		s.onWebhookCheck(st, err)
	}
}

// manageWebhook runs the monitor until ctx ends: its first check registers
// the URL and subscribes the bot (a CRC round trip through this server, which
// is listening by then); later checks repair what X lost.
func (s *Server) manageWebhook(ctx context.Context) {
	if err := s.monitor.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("webhook monitor stopped", "err", err)
	}
}
