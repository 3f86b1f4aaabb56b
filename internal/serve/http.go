package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Timeouts and limits every server sets. A slow client cannot hold a
// connection past them; the write timeout is the server's own (a webhook
// POST is answered once its jobs are durable, a /metrics scrape may take
// longer).
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// NewHTTPServer returns an http.Server for h with ReadHeaderTimeout,
// ReadTimeout, IdleTimeout, MaxHeaderBytes and writeTimeout, logging its
// errors (a TLS handshake, a panic in a handler) to log at warn level.
func NewHTTPServer(h http.Handler, writeTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// NewRegistry returns a Prometheus registry with the Go and process
// collectors: what a server serves on /metrics when its caller gives no
// registry.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Endpoint is a handler and the listener it is served on.
type Endpoint struct {
	Listener net.Listener
	Handler  http.Handler
}

// HTTP is a set of http.Servers serving in the background, from StartHTTP
// until Shutdown.
type HTTP struct {
	name    string
	srvs    []*http.Server
	wg      sync.WaitGroup
	failed  chan struct{} // closed at the first serve error
	once    sync.Once
	mu      sync.Mutex
	errs    []error
	stopped bool
}

// StartHTTP serves each endpoint with its own NewHTTPServer(h,
// writeTimeout, log). The servers close their listeners at Shutdown. name
// prefixes the errors ("webhookserver: serving on ...").
func StartHTTP(name string, writeTimeout time.Duration, log *slog.Logger, eps ...Endpoint) *HTTP {
	h := &HTTP{name: name, failed: make(chan struct{})}
	for _, ep := range eps {
		srv := NewHTTPServer(ep.Handler, writeTimeout, log)
		h.srvs = append(h.srvs, srv)
		h.wg.Go(func() {
			if err := srv.Serve(ep.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.fail(fmt.Errorf("%s: serving on %s: %w", name, ep.Listener.Addr(), err))
			}
		})
	}
	return h
}

func (h *HTTP) fail(err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	h.once.Do(func() { close(h.failed) })
}

// Failed is closed once a server has stopped serving by itself (its
// listener failed): a server whose endpoints are gone should stop and say
// so, since nothing can probe it any more.
func (h *HTTP) Failed() <-chan struct{} { return h.failed }

// Shutdown stops accepting connections and waits up to timeout for the
// requests in flight, then closes what is left. It returns the errors of
// servers that stopped by themselves and of a shutdown that ran out of
// time. Calling it again returns nil.
func (h *HTTP) Shutdown(timeout time.Duration) error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil
	}
	h.stopped = true
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, srv := range h.srvs {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: shutdown: %w", h.name, err))
			srv.Close()
		}
	}
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return errors.Join(append(h.errs, errs...)...)
}
