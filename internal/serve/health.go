package serve

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// ReadyTimeout bounds one readiness check (a queue call) of /readyz.
const ReadyTimeout = 2 * time.Second

// Readiness states, from best to worst: the /readyz body starts with one,
// and the X-Moetron-Readiness header carries it with dashes for spaces.
const (
	// StateReady: everything works.
	StateReady = "ready"
	// StateDegraded: the server does its job, less well (jobs go to the
	// spool, one of two delivery paths is down). /readyz answers 200.
	StateDegraded = "degraded"
	// StateNotReady: the server cannot do its job. /readyz answers 503.
	StateNotReady = "not ready"
)

// Readiness is a server's state and why it is not StateReady.
type Readiness struct {
	State  string // StateReady, StateDegraded or StateNotReady
	Reason string // empty when ready
}

// Ready is StateReady.
func Ready() Readiness { return Readiness{State: StateReady} }

// Degraded is StateDegraded because of reason.
func Degraded(reason string) Readiness { return Readiness{State: StateDegraded, Reason: reason} }

// NotReady is StateNotReady because of reason.
func NotReady(reason string) Readiness { return Readiness{State: StateNotReady, Reason: reason} }

func rank(state string) int {
	switch state {
	case StateReady:
		return 0
	case StateDegraded:
		return 1
	}
	return 2
}

// And is the state of a server made of two parts: the worse of r and o,
// with the reasons of both (joined by "; ").
func (r Readiness) And(o Readiness) Readiness {
	out := r
	if rank(o.State) > rank(r.State) {
		out.State = o.State
	}
	switch {
	case r.Reason == "":
		out.Reason = o.Reason
	case o.Reason != "":
		out.Reason = r.Reason + "; " + o.Reason
	}
	return out
}

// Prefix returns r with its reason prefixed by name (for the parts of a
// server made of several).
func (r Readiness) Prefix(name string) Readiness {
	if r.Reason != "" {
		r.Reason = name + ": " + r.Reason
	}
	return r
}

// Healthz serves /healthz: 200 "ok" while the process serves.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// ReadyHandler serves /readyz from check, called with a context bounded by
// ReadyTimeout: 200 "ready", 200 "degraded: <why>" or 503 "not ready:
// <why>", the state also in the X-Moetron-Readiness header (ready,
// degraded, not-ready) for load balancers that read headers. A not-ready
// answer is logged at warn level.
func ReadyHandler(log *slog.Logger, check func(context.Context) Readiness) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		defer cancel()
		rd := check(ctx)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Moetron-Readiness", strings.ReplaceAll(rd.State, " ", "-"))
		switch rd.State {
		case StateReady:
			io.WriteString(w, "ready\n")
		case StateDegraded:
			io.WriteString(w, "degraded: "+rd.Reason+"\n")
		default:
			log.Warn("not ready", "reason", rd.Reason)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, StateNotReady+": "+rd.Reason+"\n")
		}
	}
}

// HandleHealth adds GET /healthz (Healthz) and GET /readyz (ReadyHandler
// of check) to mux.
func HandleHealth(mux *http.ServeMux, log *slog.Logger, check func(context.Context) Readiness) {
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("GET /readyz", ReadyHandler(log, check))
}
