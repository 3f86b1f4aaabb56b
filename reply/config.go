package reply

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// DefaultBaseURL is the X API base URL used when Config.BaseURL is empty.
const DefaultBaseURL = xapi.DefaultBaseURL

// Defaults filled in by New for zero Config fields.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultMaxAttempts    = 4
	DefaultBaseBackoff    = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultDeadline       = 2 * time.Minute
	DefaultChunkThreshold = 1 << 20 // images above 1 MiB use the chunked upload
	DefaultChunkSize      = 1 << 20
	// MaxChunkSize is the largest APPEND segment this package sends.
	MaxChunkSize = 4 << 20
)

// Config configures a Client. Only the four OAuth 1.0a credentials are
// required; every other zero value means the documented default.
type Config struct {
	// OAuth 1.0a user-context credentials of the bot account
	// (X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN,
	// X_ACCESS_TOKEN_SECRET). Required. Never logged or put in errors.
	ConsumerKey       string
	ConsumerSecret    string
	AccessToken       string
	AccessTokenSecret string

	// BotUserID is the bot's own user id (BOT_USER_ID). It enables the
	// read-back after an uncertain create (see the package doc); empty
	// means an uncertain create returns *UncertainError at once.
	BotUserID string

	// BaseURL is the API root (X_API_BASE); empty means DefaultBaseURL.
	// A fake X in tests sets its httptest URL here.
	BaseURL string

	// HTTPClient supplies the base transport (its Transport) and, when
	// Timeout is zero, the timeout (its Timeout). Nil means
	// http.DefaultTransport. The client's own Jar and CheckRedirect are
	// not used: redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds one HTTP exchange. Zero means HTTPClient.Timeout if
	// set, else DefaultTimeout. Negative is invalid.
	Timeout time.Duration

	// Logger receives debug/warn records (method, path, status, attempt;
	// never headers or bodies). Nil discards.
	Logger *slog.Logger

	// Retry bounds retries of retryable failures.
	Retry RetryPolicy

	// ChunkThreshold: images larger than this many bytes use the chunked
	// upload (initialize/append/finalize). Zero means
	// DefaultChunkThreshold; negative means never chunk unless forced.
	ChunkThreshold int
	// ChunkSize is the APPEND segment size, 1 KiB to MaxChunkSize. Zero
	// means DefaultChunkSize.
	ChunkSize int

	// Template is the text/template source Client.Text renders (see
	// Fields). Empty means DefaultTemplate.
	Template string

	// Now returns the current time; nil means time.Now. Tests inject a
	// fake clock so rate-limit waits are deterministic.
	Now func() time.Time
	// Sleep waits d or until ctx ends (returning ctx.Err()); nil means a
	// timer-based wait. Tests inject one that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter maps a backoff d to the wait actually used; nil means a
	// uniformly random wait in [d/2, d].
	Jitter func(d time.Duration) time.Duration
}

// RetryPolicy bounds retries. Zero fields mean the defaults.
type RetryPolicy struct {
	// MaxAttempts is the number of tries per HTTP step, first included.
	// Zero means DefaultMaxAttempts; 1 disables retries.
	MaxAttempts int
	// BaseBackoff is the first backoff; each retry doubles it up to
	// MaxBackoff. Zero means DefaultBaseBackoff / DefaultMaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Deadline bounds one high-level call (an upload, a post, a DM)
	// including its waits; the context's deadline, if earlier, wins. A
	// rate-limit wait that would end past it is not taken: the
	// *APIError is returned with RetryAt instead. Zero means
	// DefaultDeadline.
	Deadline time.Duration
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"ConsumerKey (X_CONSUMER_KEY)", cfg.ConsumerKey},
		{"ConsumerSecret (X_CONSUMER_SECRET)", cfg.ConsumerSecret},
		{"AccessToken (X_ACCESS_TOKEN)", cfg.AccessToken},
		{"AccessTokenSecret (X_ACCESS_TOKEN_SECRET)", cfg.AccessTokenSecret},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("%w: missing %s", ErrInvalidConfig, strings.Join(missing, ", "))
	}
	if cfg.BotUserID != "" && !xapi.ValidID(cfg.BotUserID) {
		return cfg, fmt.Errorf("%w: BotUserID must be a decimal id", ErrInvalidConfig)
	}
	base, err := xapi.BaseURL(cfg.BaseURL)
	if err != nil {
		return cfg, fmt.Errorf("%w: BaseURL (X_API_BASE) %v", ErrInvalidConfig, err)
	}
	cfg.BaseURL = base
	switch {
	case cfg.Timeout < 0:
		return cfg, fmt.Errorf("%w: Timeout %v is negative", ErrInvalidConfig, cfg.Timeout)
	case cfg.Timeout == 0 && cfg.HTTPClient != nil && cfg.HTTPClient.Timeout > 0:
		cfg.Timeout = cfg.HTTPClient.Timeout
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	r := &cfg.Retry
	if r.MaxAttempts < 0 || r.BaseBackoff < 0 || r.MaxBackoff < 0 || r.Deadline < 0 {
		return cfg, fmt.Errorf("%w: Retry fields must not be negative", ErrInvalidConfig)
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseBackoff == 0 {
		r.BaseBackoff = DefaultBaseBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = max(DefaultMaxBackoff, r.BaseBackoff)
	}
	if r.MaxBackoff < r.BaseBackoff {
		return cfg, fmt.Errorf("%w: Retry.MaxBackoff is below BaseBackoff", ErrInvalidConfig)
	}
	if r.Deadline == 0 {
		r.Deadline = DefaultDeadline
	}
	if cfg.ChunkThreshold == 0 {
		cfg.ChunkThreshold = DefaultChunkThreshold
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.ChunkSize < 1024 || cfg.ChunkSize > MaxChunkSize {
		return cfg, fmt.Errorf("%w: ChunkSize %d is outside 1 KiB..%d", ErrInvalidConfig, cfg.ChunkSize, MaxChunkSize)
	}
	if cfg.Template == "" {
		cfg.Template = DefaultTemplate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = xapi.Sleep
	}
	if cfg.Jitter == nil {
		cfg.Jitter = halfJitter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// Client writes to X as one user (the bot) with OAuth 1.0a. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	tmpl *template.Template
	log  *slog.Logger
}

// New validates cfg, fills defaults and returns a Client. A config error
// wraps ErrInvalidConfig and names every missing credential, never its
// value.
func New(cfg Config) (*Client, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tmpl, err := parseTemplate(c.Template)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	var base http.RoundTripper
	if c.HTTPClient != nil {
		base = c.HTTPClient.Transport
	}
	signed := xapi.OAuth1(base, c.ConsumerKey, c.ConsumerSecret, c.AccessToken, c.AccessTokenSecret)
	return &Client{cfg: c, http: xapi.NewHTTPClient(signed, c.Timeout), tmpl: tmpl, log: c.Logger}, nil
}

// BotUserID returns the configured bot user id ("" if none).
func (c *Client) BotUserID() string { return c.cfg.BotUserID }
