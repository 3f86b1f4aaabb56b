package webhooks

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// DefaultBaseURL is the X API root used when Config.BaseURL is empty.
const DefaultBaseURL = xapi.DefaultBaseURL

// DefaultTimeout bounds one HTTP exchange when Config.Timeout is zero. A
// registration or PUT waits for X's CRC round trip, so it is not short.
const DefaultTimeout = 30 * time.Second

// Config configures a Client. BearerToken is required; the four OAuth 1.0a
// values are all given or all left empty. Every other zero value means the
// documented default.
type Config struct {
	// BearerToken is the app-only token (X_BEARER_TOKEN) for /2/webhooks,
	// replay, listing and deleting subscriptions. Required. Never logged
	// or put in errors.
	BearerToken string

	// OAuth 1.0a user-context credentials of the account to subscribe (the
	// bot): X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN,
	// X_ACCESS_TOKEN_SECRET. All four, or none: without them Subscribe,
	// EnsureSubscribed and CheckSubscription return ErrNoUserAuth. Never
	// logged or put in errors.
	ConsumerKey       string
	ConsumerSecret    string
	AccessToken       string
	AccessTokenSecret string

	// BaseURL is the API root (X_API_BASE); empty means DefaultBaseURL. A
	// fake X in tests sets its URL here.
	BaseURL string

	// HTTPClient supplies the base transport (its Transport) and, when
	// Timeout is zero, the timeout (its Timeout). Nil means
	// http.DefaultTransport. Redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds one HTTP exchange. Zero means HTTPClient.Timeout if
	// set, else DefaultTimeout. Negative is invalid.
	Timeout time.Duration

	// Logger receives one debug record per request (method, path, status;
	// never headers or bodies). Nil discards.
	Logger *slog.Logger
	// Now is the clock used for Retry-After arithmetic; nil means
	// time.Now.
	Now func() time.Time
}

// Client manages the app's webhooks and the bot's Account Activity
// subscription. It is safe for concurrent use.
type Client struct {
	base string
	// bearer is the Authorization header value for app-only calls.
	bearer string
	app    *http.Client
	user   *http.Client // nil without OAuth 1.0a credentials
	log    *slog.Logger
	now    func() time.Time
}

// New validates cfg and returns a Client. A config error wraps
// ErrInvalidConfig and names every missing or malformed value (by field and
// environment name), never the value itself.
func New(cfg Config) (*Client, error) {
	var problems []string
	if strings.TrimSpace(cfg.BearerToken) == "" {
		problems = append(problems, "missing BearerToken (X_BEARER_TOKEN)")
	} else if !headerSafe(cfg.BearerToken) {
		problems = append(problems, "BearerToken (X_BEARER_TOKEN) holds spaces or control characters")
	}
	oauth := []struct{ name, v string }{
		{"ConsumerKey (X_CONSUMER_KEY)", cfg.ConsumerKey},
		{"ConsumerSecret (X_CONSUMER_SECRET)", cfg.ConsumerSecret},
		{"AccessToken (X_ACCESS_TOKEN)", cfg.AccessToken},
		{"AccessTokenSecret (X_ACCESS_TOKEN_SECRET)", cfg.AccessTokenSecret},
	}
	var missing []string
	for _, f := range oauth {
		switch {
		case strings.TrimSpace(f.v) == "":
			missing = append(missing, f.name)
		case !headerSafe(f.v):
			problems = append(problems, f.name+" holds spaces or control characters")
		}
	}
	hasUser := len(missing) < len(oauth)
	if hasUser && len(missing) > 0 {
		problems = append(problems, "OAuth 1.0a credentials are incomplete: missing "+strings.Join(missing, ", "))
	}
	base, err := xapi.BaseURL(cfg.BaseURL)
	if err != nil {
		problems = append(problems, "BaseURL (X_API_BASE) "+err.Error())
	}
	if cfg.Timeout < 0 {
		problems = append(problems, fmt.Sprintf("Timeout %v is negative", cfg.Timeout))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
	}
	timeout := cfg.Timeout
	if timeout == 0 && cfg.HTTPClient != nil && cfg.HTTPClient.Timeout > 0 {
		timeout = cfg.HTTPClient.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var rt http.RoundTripper = http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		rt = cfg.HTTPClient.Transport
	}
	c := &Client{
		base:   base,
		bearer: "Bearer " + strings.TrimSpace(cfg.BearerToken),
		app:    xapi.NewHTTPClient(rt, timeout),
		log:    cfg.Logger,
		now:    cfg.Now,
	}
	if hasUser {
		signed := xapi.OAuth1(rt, cfg.ConsumerKey, cfg.ConsumerSecret, cfg.AccessToken, cfg.AccessTokenSecret)
		c.user = xapi.NewHTTPClient(signed, timeout)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// HasUserAuth reports whether the Client holds OAuth 1.0a user credentials,
// which Subscribe, EnsureSubscribed and CheckSubscription need.
func (c *Client) HasUserAuth() bool { return c.user != nil }

// headerSafe reports whether v can go into an HTTP header unchanged.
func headerSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] == 0x7f {
			return false
		}
	}
	return true
}
