package eventstest

import (
	"bytes"
	"embed"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events"
)

// The bot account every fixture is addressed to.
const (
	BotUserID     = "1114259648326987776"
	BotScreenName = "moetronbot"
	// AliceUserID is the user who sends most commands in the fixtures.
	AliceUserID = "1247048165561270272"
	// BobUserID is a second user, whose id is above 2^53 like Alice's.
	BobUserID = "1329571840326324224"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Names returns the names of all fixtures, sorted.
func Names() []string {
	entries, err := fixtures.ReadDir("testdata")
	if err != nil {
		panic("eventstest: " + err.Error()) // embedded at build time; cannot happen
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(names)
	return names
}

// Fixture returns a copy of the raw body of the named fixture, exactly as X
// would send it, or nil if there is no such fixture.
func Fixture(name string) []byte {
	b, err := fixtures.ReadFile(path.Join("testdata", name+".json"))
	if err != nil {
		return nil
	}
	return bytes.Clone(b)
}

// Payload decodes the named fixture, failing t if it is unknown or does not
// decode.
func Payload(t testing.TB, name string) *events.Payload {
	t.Helper()
	raw := Fixture(name)
	if raw == nil {
		t.Fatalf("eventstest: no fixture %q (have %v)", name, Names())
	}
	p, err := events.Decode(raw)
	if err != nil {
		t.Fatalf("eventstest: decoding fixture %q: %v", name, err)
	}
	return p
}

// SignedRequest returns a POST of body to /webhook carrying the signature X
// would send for secret.
func SignedRequest(t testing.TB, secret string, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := crc.SignRequest(r, secret); err != nil {
		t.Fatalf("eventstest: signing request: %v", err)
	}
	return r
}
