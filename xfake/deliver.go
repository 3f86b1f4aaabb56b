package xfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Errors returned by the delivery helpers.
var (
	// ErrNoWebhook means no valid webhook is registered to deliver to.
	ErrNoWebhook = errors.New("xfake: no valid webhook registered")
	// ErrNoEvent means DeliverDuplicate has nothing to repeat.
	ErrNoEvent = errors.New("xfake: no event delivered yet")
	// ErrUnknownWebhook means no webhook has the given id.
	ErrUnknownWebhook = errors.New("xfake: unknown webhook")
)

// Event is a payload the fake delivered (or tried to deliver), kept for
// replay.
type Event struct {
	Seq        int
	Payload    []byte
	At         time.Time
	WebhookIDs []string // webhooks it was sent to
}

// Delivery is one webhook POST the fake made.
type Delivery struct {
	EventSeq  int // 0 for replay_job_status notices
	WebhookID string
	Status    int   // 0 when the request failed
	Err       error // transport error, if any
	Duplicate bool  // sent by DeliverDuplicate
	Replay    bool  // sent by a replay job
	At        time.Time
}

// Replay is a replay job started through POST /2/webhooks/replay.
type Replay struct {
	JobID     string
	WebhookID string
	From, To  time.Time // the requested minutes, both inclusive
	Events    int       // events re-delivered
	Done      bool
}

// Events returns every event delivered, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Payload = slices.Clone(e.Payload)
		e.WebhookIDs = slices.Clone(e.WebhookIDs)
		out[i] = e
	}
	return out
}

// Deliveries returns every webhook POST made, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Replays returns the replay jobs started so far.
func (s *Server) Replays() []Replay {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.replays)
}

// SignPayload returns the x-twitter-webhooks-signature value X would send
// with body: "sha256=" + base64(HMAC-SHA256(consumer secret, body)).
func (s *Server) SignPayload(body []byte) string {
	return hmacSHA256(s.cfg.ConsumerSecret, body)
}

// post sends one signed webhook POST and records it.
func (s *Server) post(ctx context.Context, webhookID, rawURL string, payload []byte, d Delivery) Delivery {
	d.WebhookID = webhookID
	d.At = s.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(payload))
	if err == nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set(SignatureHeader, s.SignPayload(payload))
		var resp *http.Response
		resp, err = s.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}
	d.Err = err
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	s.log.Debug("xfake webhook delivery", "webhook_id", webhookID, "status", d.Status, "replay", d.Replay, "duplicate", d.Duplicate)
	return d
}

type target struct{ id, url string }

func (s *Server) validTargets() []target {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []target
	for _, w := range s.webhooks {
		if w.Valid {
			ts = append(ts, target{w.ID, w.URL})
		}
	}
	return ts
}

// Deliver plays X delivering an Account Activity event: it signs payload
// with the consumer secret and POSTs it to every valid webhook, recording
// the event for replay. It returns the first non-2xx status (200 when all
// succeeded) and the joined transport errors; ErrNoWebhook when no valid
// webhook is registered. Subscriptions are not consulted: every valid
// webhook gets every event.
func (s *Server) Deliver(ctx context.Context, payload []byte) (int, error) {
	ts := s.validTargets()
	if len(ts) == 0 {
		return 0, ErrNoWebhook
	}
	s.mu.Lock()
	ev := Event{Seq: len(s.events) + 1, Payload: slices.Clone(payload), At: s.now().UTC()}
	for _, t := range ts {
		ev.WebhookIDs = append(ev.WebhookIDs, t.id)
	}
	s.events = append(s.events, ev)
	s.mu.Unlock()
	return s.sendAll(ctx, ts, payload, Delivery{EventSeq: ev.Seq})
}

// DeliverDuplicate delivers the most recent event again, byte for byte, as
// X sometimes does.
func (s *Server) DeliverDuplicate(ctx context.Context) (int, error) {
	s.mu.Lock()
	if len(s.events) == 0 {
		s.mu.Unlock()
		return 0, ErrNoEvent
	}
	ev := s.events[len(s.events)-1]
	s.mu.Unlock()
	ts := s.validTargets()
	if len(ts) == 0 {
		return 0, ErrNoWebhook
	}
	return s.sendAll(ctx, ts, ev.Payload, Delivery{EventSeq: ev.Seq, Duplicate: true})
}

func (s *Server) sendAll(ctx context.Context, ts []target, payload []byte, tmpl Delivery) (int, error) {
	status := http.StatusOK
	var errs []error
	for _, t := range ts {
		d := s.post(ctx, t.id, t.url, payload, tmpl)
		if d.Err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: %w", t.id, d.Err))
			if status == http.StatusOK {
				status = 0
			}
			continue
		}
		if (d.Status < 200 || d.Status > 299) && status == http.StatusOK {
			status = d.Status
		}
	}
	return status, errors.Join(errs...)
}

// replayDateLayout is the yyyymmddhhmm form of from_date and to_date.
const replayDateLayout = "200601021504"

func (s *Server) webhookReplay(c *call) {
	var req struct {
		WebhookID string `json:"webhook_id"`
		FromDate  string `json:"from_date"`
		ToDate    string `json:"to_date"`
	}
	if !decodeJSON(c, &req, false) {
		return
	}
	from, err1 := time.Parse(replayDateLayout, req.FromDate)
	to, err2 := time.Parse(replayDateLayout, req.ToDate)
	now := s.now().UTC()
	switch {
	case err1 != nil || err2 != nil:
		writeInvalid(c.w, "from_date and to_date must be yyyymmddhhmm (UTC).")
		return
	case to.Before(from):
		writeInvalid(c.w, "from_date must not be after to_date.")
		return
	case from.Before(now.Add(-24 * time.Hour).Truncate(time.Minute)):
		writeInvalid(c.w, "from_date must be within the last 24 hours.")
		return
	case to.After(now):
		writeInvalid(c.w, "to_date must not be in the future.")
		return
	}
	s.mu.Lock()
	w := s.webhookLocked(req.WebhookID)
	if w == nil {
		s.mu.Unlock()
		writeErrors(c.w, http.StatusBadRequest, "WebhookIdInvalid: no webhook with id "+strconv.Quote(req.WebhookID))
		return
	}
	for _, r := range s.replays {
		if r.WebhookID == w.ID && !r.Done {
			s.mu.Unlock()
			writeErrors(c.w, http.StatusConflict, "ReplayConflictError: a replay job is already running for this webhook")
			return
		}
	}
	job := Replay{JobID: s.newID(), WebhookID: w.ID, From: from, To: to}
	var evs []Event
	end := to.Add(time.Minute)
	for _, e := range s.events {
		if slices.Contains(e.WebhookIDs, w.ID) && !e.At.Before(from) && e.At.Before(end) {
			evs = append(evs, e)
		}
	}
	s.replays = append(s.replays, job)
	url := w.URL
	s.replayWG.Add(1)
	s.mu.Unlock()

	go s.runReplay(job, url, evs)
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{
		"job_id": job.JobID, "created_at": now.Format("2006-01-02T15:04:05.000Z"),
	}})
}

// runReplay re-delivers evs oldest first, then posts the
// replay_job_status notice.
func (s *Server) runReplay(job Replay, url string, evs []Event) {
	defer s.replayWG.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, e := range evs {
		payload := e.Payload
		if r, err := ReplayEvent(payload); err == nil {
			payload = r // an X Activity API event: replays carry meta.replay
		}
		s.post(ctx, job.WebhookID, url, payload, Delivery{EventSeq: e.Seq, Replay: true})
	}
	notice, _ := json.Marshal(map[string]any{"replay_job_status": map[string]string{
		"webhook_id": job.WebhookID, "job_state": "Complete",
		"job_state_description": "Job completed successfully", "job_id": job.JobID,
	}})
	s.post(ctx, job.WebhookID, url, notice, Delivery{Replay: true})
	s.mu.Lock()
	for i := range s.replays {
		if s.replays[i].JobID == job.JobID {
			s.replays[i].Events, s.replays[i].Done = len(evs), true
		}
	}
	s.mu.Unlock()
}

// WaitReplays blocks until every replay job started so far has finished.
func (s *Server) WaitReplays() {
	s.replayWG.Wait()
}
