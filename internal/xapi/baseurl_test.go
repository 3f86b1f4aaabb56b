package xapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                        DefaultBaseURL,
		"https://api.x.com":       "https://api.x.com",
		"https://api.x.com/":      "https://api.x.com",
		"http://127.0.0.1:8080//": "http://127.0.0.1:8080",
		"https://proxy.example/x": "https://proxy.example/x",
	} {
		got, err := BaseURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	const secret = "s3cr3t-token"
	for _, in := range []string{
		"ftp://" + secret,
		"api.x.com/" + secret,
		"https://u:" + secret + "@api.x.com",
		"https://api.x.com/?t=" + secret,
		"https://api.x.com/?",
		"https://api.x.com/#" + secret,
		"https:///" + secret,
		"http://[::1" + secret,
	} {
		_, err := BaseURL(in)
		require.Error(t, err, in)
		assert.NotContains(t, err.Error(), secret, "the value is never echoed")
	}
}
