package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/xfake"
)

func TestMissingConfig(t *testing.T) {
	t.Setenv("X_CONSUMER_SECRET", "")
	t.Setenv("BOT_USER_ID", "")
	err := run(context.Background(), nil, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing X_CONSUMER_SECRET, BOT_USER_ID")
}

func TestServesUntilCancelled(t *testing.T) {
	t.Setenv("X_CONSUMER_SECRET", "flag-secret-from-env")
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-bot-user-id", "1114259648326987776", "-webhook-addr", "127.0.0.1:0",
			"-queue-path", filepath.Join(dir, "q.db")}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, pr)
	_, rest, ok := strings.Cut(line, "listening on ")
	require.True(t, ok, line)
	addr, _, _ := strings.Cut(rest, " ")

	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/webhook?crc_token=abc"} {
		resp, err := client.Get("http://" + addr + path)
		require.NoError(t, err, path)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestStreamDelivery(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: 20 * time.Millisecond})
	t.Setenv("X_CONSUMER_SECRET", "")
	t.Setenv("X_BEARER_TOKEN", x.Config().BearerToken)
	t.Setenv("DELIVERY", "stream")
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-bot-user-id", "1114259648326987776", "-webhook-addr", "127.0.0.1:0",
			"-queue-path", filepath.Join(dir, "q.db"), "-x-api-base", x.URL()}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, pr)
	assert.NotContains(t, line, "/webhook")
	_, rest, ok := strings.Cut(line, "listening on ")
	require.True(t, ok, line)
	addr, _, _ := strings.Cut(rest, " ")

	client := &http.Client{Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 10*time.Millisecond, "ready once the stream is connected")
	assert.Equal(t, 1, x.StreamConnections())
	resp, err := client.Get("http://" + addr + "/webhook?crc_token=abc")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no webhook route in stream-only mode")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
