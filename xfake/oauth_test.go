package xfake

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// X's "Creating a signature" example (docs.x.com, fundamentals/authentication).
const (
	exConsumerKey    = "xvz1evFS4wEEPTGEFPHBog"
	exConsumerSecret = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
	exToken          = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
	exTokenSecret    = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
	exNonce          = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
	exTimestamp      = 1318622958
	exStatus         = "Hello Ladies + Gentlemen, a signed OAuth request!"
)

func exampleParams() url.Values {
	return url.Values{
		"status":                 {exStatus},
		"include_entities":       {"true"},
		"oauth_consumer_key":     {exConsumerKey},
		"oauth_nonce":            {exNonce},
		"oauth_signature_method": {"HMAC-SHA1"},
		"oauth_timestamp":        {strconv.Itoa(exTimestamp)},
		"oauth_token":            {exToken},
		"oauth_version":          {"1.0"},
	}
}

func TestSignatureBaseMatchesXExample(t *testing.T) {
	base := signatureBase("post", baseStringURI("HTTPS", "API.twitter.com:443", "/1.1/statuses/update.json"), exampleParams())
	// The base string printed in X's document.
	want := "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
	assert.Equal(t, want, base)
	// The signature X's document publishes for that base string. (The
	// value tnnArxj06cWHq44gCs1OSKk/jLY= seen elsewhere belongs to another
	// page's inputs and does not come out of these.)
	assert.Equal(t, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=", signHMACSHA1(base, exConsumerSecret, exTokenSecret))
	// The same request for the api.x.com host.
	xBase := signatureBase("POST", baseStringURI("https", "api.x.com", "/1.1/statuses/update.json"), exampleParams())
	assert.Equal(t, "Ls93hJiZbQ3akF3HF3x1Bz8/zU4=", signHMACSHA1(xBase, exConsumerSecret, exTokenSecret))
}

func TestPercentEncode(t *testing.T) {
	assert.Equal(t, "Ladies%20%2B%20Gentlemen", percentEncode("Ladies + Gentlemen"))
	assert.Equal(t, "An%20encoded%20string%21", percentEncode("An encoded string!"))
	assert.Equal(t, "Dogs%2C%20Cats%20%26%20Mice", percentEncode("Dogs, Cats & Mice"))
	assert.Equal(t, "%E2%98%83-._~", percentEncode("☃-._~"))
}

// exampleRequest is X's example as an HTTP request with the Authorization
// header X's document shows.
func exampleRequest(sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
		strings.NewReader("status="+url.QueryEscape(exStatus)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", `OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce="`+exNonce+
		`", oauth_signature="`+url.QueryEscape(sig)+`", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", oauth_token="`+
		exToken+`", oauth_version="1.0"`)
	return r
}

func exampleServer(t *testing.T) *Server {
	s, err := NewHandler(Config{
		ConsumerKey: exConsumerKey, ConsumerSecret: exConsumerSecret,
		AccessToken: exToken, AccessTokenSecret: exTokenSecret, BotUserID: "370773112",
		Now: func() time.Time { return time.Unix(exTimestamp+30, 0) },
	})
	require.NoError(t, err)
	return s
}

func TestVerifyAcceptsXExampleRequest(t *testing.T) {
	s := exampleServer(t)
	r := exampleRequest("hCtSmYh+iHYCEqBWrE7C7hYmtUk=")
	body := []byte("status=" + url.QueryEscape(exStatus))
	acct, err := s.verifyOAuth1(r, body)
	require.NoError(t, err)
	assert.Equal(t, "370773112", acct.UserID)

	// The same request again is a replay.
	_, err = s.verifyOAuth1(exampleRequest("hCtSmYh+iHYCEqBWrE7C7hYmtUk="), body)
	assert.ErrorIs(t, err, errAuthNonce)

	// A changed body no longer matches the signature.
	s = exampleServer(t)
	_, err = s.verifyOAuth1(exampleRequest("hCtSmYh+iHYCEqBWrE7C7hYmtUk="), []byte("status=Hello"))
	assert.ErrorIs(t, err, errAuthSignature)
}

func TestVerifyWithSigningBaseURL(t *testing.T) {
	s, err := NewHandler(Config{
		ConsumerKey: exConsumerKey, ConsumerSecret: exConsumerSecret,
		AccessToken: exToken, AccessTokenSecret: exTokenSecret, BotUserID: "370773112",
		Now:            func() time.Time { return time.Unix(exTimestamp, 0) },
		SigningBaseURL: "https://api.x.com",
	})
	require.NoError(t, err)
	// The request arrives at another host, but was signed for api.x.com.
	r := exampleRequest("Ls93hJiZbQ3akF3HF3x1Bz8/zU4=")
	r.Host = "127.0.0.1:9999"
	_, err = s.verifyOAuth1(r, []byte("status="+url.QueryEscape(exStatus)))
	assert.NoError(t, err)
}

func TestDghubbleClientSignedRequestsAreAccepted(t *testing.T) {
	f := start(t, Config{})
	// GET with a query (signed), POST with a JSON body (not signed).
	r := f.do(f.bot, http.MethodGet, "/2/users/"+f.srv.Bot().UserID+"/tweets?max_results=5&tweet.fields=created_at,referenced_tweets", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "signed by dghubble/oauth1 ~ !*'()"})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	req := lastRequest(f.srv)
	assert.Equal(t, "oauth1", req.Auth)
	assert.Equal(t, f.srv.Bot().UserID, req.UserID)
}

func TestFormBodyIsSigned(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot()
	path := "/2/account_activity/webhooks/1/subscriptions/all"
	// The oauth1 client signs form bodies, and so must the fake.
	r := f.do(f.bot, http.MethodPost, path, "application/x-www-form-urlencoded", []byte("a=1&b=two+words"))
	assert.NotEqual(t, http.StatusUnauthorized, r.Status, r.Raw)
	assert.Empty(t, lastRequest(f.srv).AuthError)

	// A form body swapped after signing must fail.
	tampering := signingClient(f.srv, bot, func(r *http.Request) (*http.Response, error) {
		r.Body = io.NopCloser(strings.NewReader("a=2"))
		r.ContentLength = 3
		return http.DefaultTransport.RoundTrip(r)
	})
	r = f.do(tampering, http.MethodPost, path, "application/x-www-form-urlencoded", []byte("a=1"))
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Equal(t, errAuthSignature.Error(), lastRequest(f.srv).AuthError)
}

// signingClient signs with dghubble/oauth1 and sends through base.
func signingClient(srv *Server, a Account, base roundTripFunc) *http.Client {
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: base})
	return oauth1.NewConfig(srv.Config().ConsumerKey, srv.Config().ConsumerSecret).Client(ctx, oauth1.NewToken(a.AccessToken, a.AccessTokenSecret))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAuthFailures(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot()
	cfg := f.srv.Config()
	sign := func(consumerKey, consumerSecret, token, tokenSecret string) *http.Client {
		return oauth1.NewConfig(consumerKey, consumerSecret).Client(t.Context(), oauth1.NewToken(token, tokenSecret))
	}
	cases := []struct {
		name   string
		client *http.Client
		want   error
	}{
		{"missing header", http.DefaultClient, errAuthMissing},
		{"bearer on user endpoint", f.bearer(), errAuthScheme},
		{"wrong consumer key", sign("nope", cfg.ConsumerSecret, bot.AccessToken, bot.AccessTokenSecret), errAuthConsumer},
		{"wrong consumer secret", sign(cfg.ConsumerKey, "nope", bot.AccessToken, bot.AccessTokenSecret), errAuthSignature},
		{"wrong token", sign(cfg.ConsumerKey, cfg.ConsumerSecret, "123-unknown", bot.AccessTokenSecret), errAuthToken},
		{"wrong token secret", sign(cfg.ConsumerKey, cfg.ConsumerSecret, bot.AccessToken, "nope"), errAuthSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.postJSON(tc.client, "/2/tweets", map[string]any{"text": "hello " + tc.name})
			assert.Equal(t, http.StatusUnauthorized, r.Status)
			assert.Equal(t, map[string]any{"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": float64(401)}, r.Body)
			assert.Equal(t, tc.want.Error(), lastRequest(f.srv).AuthError)
			assert.NotEmpty(t, r.Header.Get("x-rate-limit-reset"))
		})
	}
	assert.Empty(t, f.srv.Posts(), "no refused request may store a post")
}

func TestStaleTimestampAndReplayedNonce(t *testing.T) {
	f := start(t, Config{TimestampWindow: time.Minute})
	// replay signs its first request and re-sends that Authorization header
	// on every later one, as an eavesdropper would.
	var captured string
	replay := signingClient(f.srv, f.srv.Bot(), func(r *http.Request) (*http.Response, error) {
		if captured == "" {
			captured = r.Header.Get("Authorization")
		}
		r.Header.Set("Authorization", captured)
		return http.DefaultTransport.RoundTrip(r)
	})
	r := f.postJSON(replay, "/2/tweets", map[string]any{"text": "first"})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	r = f.postJSON(replay, "/2/tweets", map[string]any{"text": "second"})
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Equal(t, errAuthNonce.Error(), lastRequest(f.srv).AuthError)

	// The fake's clock moves two minutes ahead of the client's stamp.
	f.clock.Advance(2 * time.Minute)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "third"})
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Equal(t, errAuthStale.Error(), lastRequest(f.srv).AuthError)
	f.clock.Advance(-4 * time.Minute)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "fourth"})
	assert.Equal(t, errAuthStale.Error(), lastRequest(f.srv).AuthError)
	assert.Len(t, f.srv.Posts(), 1)
}

func TestBearerAuth(t *testing.T) {
	f := start(t, Config{})
	r := f.do(f.bearer(), http.MethodGet, "/2/webhooks", "", nil)
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)

	wrong := &http.Client{Transport: bearerTransport("not-the-token")}
	r = f.do(wrong, http.MethodGet, "/2/webhooks", "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Equal(t, errAuthBearer.Error(), lastRequest(f.srv).AuthError)

	// User context is not accepted on app-only endpoints.
	r = f.do(f.bot, http.MethodGet, "/2/webhooks", "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status)
}
