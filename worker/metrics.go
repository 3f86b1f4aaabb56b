package worker

import "time"

// Outcomes of a job: the argument of the Metrics.Job hook and the "outcome"
// attribute of the worker's log records.
const (
	// OutcomeReplied: the image was generated and the reply or DM sent.
	OutcomeReplied = "replied"
	// OutcomeAlreadyReplied: the job carried the done marker, or the
	// read-back of a redelivered job found the reply on X; nothing was sent.
	OutcomeAlreadyReplied = "already_replied"
	// OutcomePermanentXError: X refused the reply for good (duplicate
	// content, reply or DM not allowed, usage cap far away); the job ends.
	OutcomePermanentXError = "permanent_x_error"
	// OutcomeRateLimited: X rate-limited the reply (or the read-back); the
	// job was put back until the window resets.
	OutcomeRateLimited = "rate_limited"
	// OutcomeFailed: a retryable failure (X down, an uncertain post,
	// generation failed); the Consumer retries, then poisons.
	OutcomeFailed = "failed"
	// OutcomeInFlight: another copy of the job (same job id) was being
	// answered; this copy was put back for Config.ClaimedRetry and is
	// deleted once the ledger says the job was answered.
	OutcomeInFlight = "in_flight"
	// OutcomeInvalid: the message is not a job this worker can run (bad
	// JSON, unknown command, a reply text the template cannot render); it
	// is poisoned at once.
	OutcomeInvalid = "invalid"
)

// Outcomes returns every outcome, for dashboards and pre-registration.
func Outcomes() []string {
	return []string{OutcomeReplied, OutcomeAlreadyReplied, OutcomePermanentXError,
		OutcomeRateLimited, OutcomeInFlight, OutcomeFailed, OutcomeInvalid}
}

// Metrics are optional hooks the Worker calls for every job, for wiring
// Prometheus or similar (workerserver does). Every field may be nil (a nil
// field, or a nil *Metrics, does nothing). Hooks are called from many
// goroutines at once and must be fast and safe for concurrent use.
type Metrics struct {
	// Job is called once per job with its outcome (see Outcomes).
	Job func(outcome string)
	// Generated is called with the duration of one Generate call, batching
	// wait included, failed ones too.
	Generated func(d time.Duration)
	// Replied is called with the duration of one ReplyWithImage or
	// DMWithImage call, upload included, failed ones too.
	Replied func(d time.Duration)
}

func (m *Metrics) outcome(o string) {
	if m != nil && m.Job != nil {
		m.Job(o)
	}
}

func (m *Metrics) generated(d time.Duration) {
	if m != nil && m.Generated != nil {
		m.Generated(d)
	}
}

func (m *Metrics) replied(d time.Duration) {
	if m != nil && m.Replied != nil {
		m.Replied(d)
	}
}
