package workerserver

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver/opspage"
)

// opsObserver makes the operator page's recorder, unless OPS_PAGE=off, and
// returns it as the worker's observer (a nil interface without it).
func (s *Server) opsObserver() worker.Observer {
	if !s.cfg.Ops.On() {
		return nil
	}
	s.rec = opspage.NewRecorder(nil)
	return s.rec
}

// mountOps serves the operator page below /ops/ on the server's mux, over
// the job queue and its poison queue (poison, else opened by factory).
func (s *Server) mountOps(poison queue.Queue, factory func(string) (queue.Queue, error)) error {
	if s.rec == nil {
		return nil
	}
	if poison == nil {
		name := s.q.Name() + queue.PoisonSuffix
		pq, err := factory(name)
		if err != nil {
			return fmt.Errorf("workerserver: operator page: poison queue %q: %w", name, err)
		}
		poison = pq
	}
	page, err := opspage.New(opspage.Config{
		Queue: s.q, Poison: poison, Recorder: s.rec, Token: s.cfg.Ops.Token, Facts: s.opsFacts,
		Logger: s.log.With("component", "opspage"),
	})
	if err != nil {
		return fmt.Errorf("workerserver: %w", err)
	}
	s.ops = page
	s.mux.Handle("GET /ops", page)
	s.mux.Handle(opspage.Path, page)
	return nil
}

// opsFacts are the status lines of the operator page.
func (s *Server) opsFacts() []opspage.Fact {
	state := "consuming"
	switch {
	case s.gate.Paused():
		state = "paused: X refused the OAuth tokens"
	case !s.running.Load():
		state = "not consuming"
	}
	return []opspage.Fact{
		{Name: "worker", Value: state},
		{Name: "in flight", Value: strconv.Itoa(s.consumer.InFlight()) + " of " + strconv.Itoa(s.conc)},
		{Name: "device", Value: s.Device()},
	}
}

// OpsPage returns the operator page (served below /ops/ by Handler), or nil
// with OPS_PAGE=off: a server that serves its own mux (botserver) mounts it.
func (s *Server) OpsPage() http.Handler {
	if s.ops == nil {
		return nil
	}
	return s.ops
}

// Recorder returns the operator page's list of recent jobs, or nil with
// OPS_PAGE=off.
func (s *Server) Recorder() *opspage.Recorder { return s.rec }
