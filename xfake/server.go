package xfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// Default credentials, used for every Config field left empty. They are
// test values, not secrets.
const (
	DefaultConsumerKey       = "xfake-consumer-key"
	DefaultConsumerSecret    = "xfake-consumer-secret"
	DefaultAccessToken       = "1114259648326987776-xfakeaccesstoken"
	DefaultAccessTokenSecret = "xfake-access-token-secret"
	DefaultBearerToken       = "xfake-bearer-token"
	DefaultBotUserID         = "1114259648326987776"
	DefaultBotScreenName     = "moetronbot"
)

// MaxImageBytes is the largest image X accepts in one upload (5 MB).
const MaxImageBytes = 5 * 1000 * 1000

// maxRequestBytes caps every request body; larger bodies get 413.
const maxRequestBytes = 8 << 20

// Config configures a Server. Every zero value has a documented default, so
// Config{} is a working fake with the Default* credentials.
type Config struct {
	// ConsumerKey and ConsumerSecret are the app's OAuth 1.0a consumer
	// credentials; ConsumerSecret also keys CRC and webhook signatures.
	// Empty means DefaultConsumerKey / DefaultConsumerSecret.
	ConsumerKey    string
	ConsumerSecret string
	// AccessToken and AccessTokenSecret are the bot account's OAuth 1.0a
	// user credentials. Empty means DefaultAccessToken / DefaultAccessTokenSecret.
	AccessToken       string
	AccessTokenSecret string
	// BearerToken is the app-only token for webhook management. Empty means
	// DefaultBearerToken.
	BearerToken string
	// BotUserID and BotScreenName identify the account that AccessToken
	// belongs to. Empty means DefaultBotUserID / DefaultBotScreenName.
	BotUserID     string
	BotScreenName string

	// Addr is the TCP address New listens on. Empty means "127.0.0.1:0"
	// (a free port). NewHandler ignores it.
	Addr string
	// SigningBaseURL, when set, is the scheme and host (and optional path
	// prefix) that clients sign OAuth requests for, e.g. "https://api.x.com"
	// when a test transport rewrites requests to the fake. Empty means the
	// scheme and Host header each request arrives with.
	SigningBaseURL string

	// Now is the clock for timestamps, media expiry, rate-limit windows,
	// duplicate detection and CRC bookkeeping. Nil means time.Now.
	Now func() time.Time
	// Logger receives one debug record per request and webhook call. Nil
	// discards. Secrets and signatures are never logged.
	Logger *slog.Logger
	// HTTPClient makes CRC checks and webhook deliveries. Nil means a client
	// with no timeout of its own (CRCTimeout and the caller's context apply).
	HTTPClient *http.Client

	// TimestampWindow is how far oauth_timestamp may lie from Now. Zero
	// means 5 minutes.
	TimestampWindow time.Duration
	// DuplicateWindow is how long the same text from the same user is
	// refused as duplicate content. Zero means 24 hours; negative disables
	// the check.
	DuplicateWindow time.Duration
	// CRCTimeout bounds each CRC request. Zero means 3 seconds.
	CRCTimeout time.Duration
	// MaxWebhooks and MaxSubscriptions cap registrations (X's Pay-Per-Use
	// tier allows 1 and 3). Zero means those values.
	MaxWebhooks      int
	MaxSubscriptions int
	// StrictWebhookURLs makes POST /2/webhooks demand an https URL without a
	// port, as X does. False accepts any http(s) URL, e.g. an httptest one.
	StrictWebhookURLs bool
	// EnforceRateLimits answers 429 once a window's budget is spent. False
	// only reports the budget in the x-rate-limit-* headers.
	EnforceRateLimits bool
	// Activity configures the X Activity API subscription endpoints.
	Activity ActivityConfig
}

// Account is an X user the fake knows: the bot from Config, or one added
// with AddAccount. AccessToken and AccessTokenSecret let it sign OAuth 1.0a
// requests (needed to subscribe it to a webhook).
type Account struct {
	UserID            string
	ScreenName        string
	AccessToken       string
	AccessTokenSecret string
}

// Server is a fake of the X API. It is an http.Handler; New also serves it
// on a real listener. All methods are safe for concurrent use.
type Server struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	client   *http.Client
	signBase *url.URL
	mux      *http.ServeMux
	sleep    func(context.Context, time.Duration) error
	newToken func() string // CRC token source; replaced in tests

	hs   *http.Server
	ln   net.Listener
	base string
	wg   sync.WaitGroup // the serving goroutine

	replayWG sync.WaitGroup // replay jobs in flight

	mu         sync.Mutex
	accounts   map[string]Account // by access token
	nonces     map[string]time.Time
	lastID     uint64
	posts      []Post
	dms        []DM
	uploads    []*Upload
	requests   []Request
	dupes      map[string]time.Time
	limits     map[string]*rateWindow
	faults     []*faultEntry
	nextFault  int
	downUntil  time.Time
	webhooks   []*webhook
	events     []Event
	deliveries []Delivery
	replays    []Replay
	act        activityStore

	stream streamState // GET /2/activity/stream (stream.go); zero value ready
}

// NewHandler builds a Server without a listener; mount it with
// http.Handle or httptest.NewServer. URL returns "" for such a server.
func NewHandler(cfg Config) (*Server, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&cfg.ConsumerKey, DefaultConsumerKey)
	def(&cfg.ConsumerSecret, DefaultConsumerSecret)
	def(&cfg.AccessToken, DefaultAccessToken)
	def(&cfg.AccessTokenSecret, DefaultAccessTokenSecret)
	def(&cfg.BearerToken, DefaultBearerToken)
	def(&cfg.BotUserID, DefaultBotUserID)
	def(&cfg.BotScreenName, DefaultBotScreenName)
	def(&cfg.Addr, "127.0.0.1:0")
	if !xapi.ValidID(cfg.BotUserID) {
		return nil, fmt.Errorf("xfake: BotUserID %q is not a decimal id", cfg.BotUserID)
	}
	if cfg.TimestampWindow < 0 || cfg.CRCTimeout < 0 || cfg.MaxWebhooks < 0 || cfg.MaxSubscriptions < 0 {
		return nil, errors.New("xfake: TimestampWindow, CRCTimeout, MaxWebhooks and MaxSubscriptions must not be negative")
	}
	if cfg.TimestampWindow == 0 {
		cfg.TimestampWindow = 5 * time.Minute
	}
	if cfg.DuplicateWindow == 0 {
		cfg.DuplicateWindow = 24 * time.Hour
	}
	if cfg.CRCTimeout == 0 {
		cfg.CRCTimeout = 3 * time.Second
	}
	if cfg.MaxWebhooks == 0 {
		cfg.MaxWebhooks = 1
	}
	if cfg.MaxSubscriptions == 0 {
		cfg.MaxSubscriptions = 3
	}
	s := &Server{
		cfg:      cfg,
		now:      cfg.Now,
		log:      cfg.Logger,
		client:   cfg.HTTPClient,
		sleep:    xapi.Sleep,
		newToken: randomToken,
		accounts: map[string]Account{},
		nonces:   map[string]time.Time{},
		dupes:    map[string]time.Time{},
		limits:   map[string]*rateWindow{},
	}
	if cfg.SigningBaseURL != "" {
		u, err := url.Parse(cfg.SigningBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("xfake: SigningBaseURL %q is not an absolute http(s) URL", cfg.SigningBaseURL)
		}
		s.signBase = u
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	s.accounts[cfg.AccessToken] = Account{
		UserID: cfg.BotUserID, ScreenName: cfg.BotScreenName,
		AccessToken: cfg.AccessToken, AccessTokenSecret: cfg.AccessTokenSecret,
	}
	s.routes()
	return s, nil
}

// New builds a Server and serves it on cfg.Addr. Close it when done.
func New(cfg Config) (*Server, error) {
	s, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("xfake: listen: %w", err)
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.hs.Serve(ln)
	}()
	return s, nil
}

// Start is New for tests: it fails t on error and closes the server when
// the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("xfake.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// URL is the base URL of the listening server, e.g. "http://127.0.0.1:41234",
// to use as X_API_BASE. It is "" for a server from NewHandler.
func (s *Server) URL() string { return s.base }

// Config returns the configuration with every default filled in, so a test
// can read the credentials it must sign with.
func (s *Server) Config() Config { return s.cfg }

// Bot returns the bot account.
func (s *Server) Bot() Account {
	return Account{UserID: s.cfg.BotUserID, ScreenName: s.cfg.BotScreenName, AccessToken: s.cfg.AccessToken, AccessTokenSecret: s.cfg.AccessTokenSecret}
}

// AddAccount lets another user sign requests (for example to subscribe it
// to a webhook). Its access token must be new.
func (s *Server) AddAccount(a Account) error {
	if !xapi.ValidID(a.UserID) || a.AccessToken == "" || a.AccessTokenSecret == "" {
		return errors.New("xfake: an account needs a decimal UserID, an AccessToken and an AccessTokenSecret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.accounts[a.AccessToken]; dup {
		return errors.New("xfake: access token already in use")
	}
	s.accounts[a.AccessToken] = a
	return nil
}

// Close stops the listener (if any) and waits for replays in progress.
func (s *Server) Close() error {
	var err error
	if s.hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = s.hs.Shutdown(ctx)
		cancel()
		if err != nil {
			_ = s.hs.Close()
		}
	}
	s.replayWG.Wait()
	s.wg.Wait()
	return err
}

// ServeHTTP serves the fake X API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// authKind says which credentials an endpoint accepts.
type authKind int

const (
	authNone   authKind = iota
	authUser            // OAuth 1.0a user context
	authApp             // app-only Bearer
	authEither          // either of the above
)

// call is one authenticated request as a handler sees it.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	body     []byte
	user     Account // zero for app-only calls
	endpoint string
	anon     bool // not (yet) authenticated: counted apart, never refused
}

// handle registers pattern (also the endpoint name for faults and rate
// limits) behind the common pipeline: body cap, outage, authentication,
// rate-limit headers, faults, the handler, and recording.
func (s *Server) handle(pattern string, auth authKind, limit int, h func(*call)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w}
		c := &call{w: rec, r: r, endpoint: pattern}
		req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Endpoint: pattern,
			ContentType: r.Header.Get("Content-Type"), At: s.now()}
		defer func() {
			req.Status = rec.status
			s.mu.Lock()
			s.requests = append(s.requests, req)
			s.mu.Unlock()
			s.log.Debug("xfake request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "auth", req.Auth)
		}()

		body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, maxRequestBytes))
		if err != nil {
			c.anon = true
			s.rateLimit(c, limit)
			writeProblem(rec, http.StatusRequestEntityTooLarge, "Payload Too Large", "Request body too large.")
			return
		}
		c.body = body
		r.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) <= 64<<10 {
			req.Body = body
		}

		if s.isDown() {
			c.anon = true
			s.rateLimit(c, limit)
			writeProblem(rec, http.StatusServiceUnavailable, "Service Unavailable", "Service Unavailable")
			return
		}
		if err := s.authenticate(c, auth); err != nil {
			req.AuthError = err.Error()
			c.anon = true
			s.rateLimit(c, limit)
			writeProblem(rec, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
			return
		}
		switch {
		case c.user.UserID != "":
			req.Auth, req.UserID = "oauth1", c.user.UserID
		case auth != authNone:
			req.Auth = "bearer"
		}
		if !s.rateLimit(c, limit) {
			return
		}
		if s.applyFaults(c, h) {
			return
		}
		h(c)
	})
}

func (s *Server) authenticate(c *call, auth authKind) error {
	switch auth {
	case authUser:
		a, err := s.verifyOAuth1(c.r, c.body)
		c.user = a
		return err
	case authApp:
		return s.verifyBearer(c.r)
	case authEither:
		if h := c.r.Header.Get("Authorization"); len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ") {
			return s.verifyBearer(c.r)
		}
		a, err := s.verifyOAuth1(c.r, c.body)
		c.user = a
		return err
	}
	return nil
}

// statusWriter remembers the status code and lets http.ResponseController
// reach the connection underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// twitterEpochMS is the start of X's snowflake ids (2010-11-04T01:42:54.657Z).
const twitterEpochMS = 1288834974657

// newID returns a snowflake-shaped decimal id from the injected clock,
// strictly increasing. Callers hold s.mu.
func (s *Server) newID() string {
	ms := s.now().UnixMilli() - twitterEpochMS
	if ms < 0 {
		ms = 0
	}
	id := uint64(ms) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return fmt.Sprint(id)
}
