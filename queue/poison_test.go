package queue

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPoisonEnvelopeRoundTrip(t *testing.T) {
	body := "{\"text\":\"<b>&amp; \\\"q\\\" 日本 🎨\\n\",\"tab\":\"\t\"}\x7f"
	rec := PoisonRecord{
		Queue: "jobs", MessageID: "abc", DequeueCount: 5,
		InsertedAt: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC),
		PoisonedAt: time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC),
		Reason:     PoisonMaxDequeue, Error: "boom", Body: body,
	}
	enc, ok := encodePoison(&rec)
	require.Equal(t, poisonEnveloped, ok)
	assert.True(t, utf8.Valid(enc))
	assert.NoError(t, CheckBody(enc))
	assert.Contains(t, string(enc), `"moetron_poison":1`)
	assert.Contains(t, string(enc), "<b>&amp;", "HTML escaping would bloat the envelope")
	got, err := DecodePoison(enc)
	require.NoError(t, err)
	assert.Equal(t, rec, got)
	assert.Equal(t, body, got.Body)
}

func TestPoisonEnvelopeLimits(t *testing.T) {
	// Long errors are cut at a rune boundary.
	rec := PoisonRecord{Error: strings.Repeat("é", 2000), Body: "x"}
	enc, ok := encodePoison(&rec)
	require.Equal(t, poisonEnveloped, ok)
	got, err := DecodePoison(enc)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(got.Error), maxPoisonErrorLen)
	assert.Greater(t, len(got.Error), maxPoisonErrorLen-2)
	assert.True(t, utf8.ValidString(got.Error))

	// A body that fits the queue but not once escaped is poisoned verbatim.
	big := strings.Repeat(`"`, MaxBodySize)
	rec = PoisonRecord{Error: "boom", Body: big}
	enc, ok = encodePoison(&rec)
	assert.Equal(t, poisonVerbatim, ok)
	assert.Equal(t, big, string(enc))
	got, err = DecodePoison(enc)
	require.ErrorIs(t, err, ErrNotPoisonRecord)
	assert.Equal(t, big, got.Body)

	// The largest body that fits enveloped still passes CheckBody.
	rec = PoisonRecord{Body: strings.Repeat("a", MaxBodySize-300)}
	enc, ok = encodePoison(&rec)
	require.Equal(t, poisonEnveloped, ok)
	assert.NoError(t, CheckBody(enc))
}

func TestTruncateUTF8(t *testing.T) {
	assert.Equal(t, "ab", truncateUTF8("ab", 5))
	assert.Equal(t, "a", truncateUTF8("aé", 2))
	assert.Equal(t, "aé", truncateUTF8("aéb", 3))
}

func TestPoisonEnvelopeTruncatesOversizeBody(t *testing.T) {
	for _, body := range []string{
		strings.Repeat("a", MaxBodySize+1),
		strings.Repeat("\x01é", MaxBodySize), // escapes to 6 bytes per control byte
		"ok\xffok",                           // fits, but not UTF-8
	} {
		rec := PoisonRecord{Reason: PoisonPermanent, Error: strings.Repeat("e", 5000), Body: body}
		enc, form := encodePoison(&rec)
		require.Equal(t, poisonTruncated, form)
		require.NoError(t, CheckBody(enc))
		got, err := DecodePoison(enc)
		require.NoError(t, err)
		assert.True(t, got.BodyTruncated)
		assert.Equal(t, len(body), got.BodySize)
		assert.Equal(t, PoisonPermanent, got.Reason)
		assert.NotEmpty(t, got.Error)
		assert.NotEmpty(t, got.Body)
	}
}
