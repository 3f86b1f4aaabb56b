package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/xfake"
)

var required = []string{"BOT_USER_ID", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"}

func TestMissingConfig(t *testing.T) {
	for _, k := range required {
		t.Setenv(k, "")
	}
	err := run(context.Background(), nil, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(),
		"missing BOT_USER_ID, X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET")

	t.Setenv("X_CONSUMER_SECRET", "secret-value-from-env")
	err = run(context.Background(), []string{"-x-access-token", "token-value-from-flag", "-device", "tpu"}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing BOT_USER_ID, X_CONSUMER_KEY, X_ACCESS_TOKEN_SECRET")
	assert.Contains(t, err.Error(), `DEVICE "tpu"`)
	assert.NotContains(t, err.Error(), "secret-value-from-env")
	assert.NotContains(t, err.Error(), "token-value-from-flag")
}

func TestServesUntilCancelled(t *testing.T) {
	lib := imagegen.LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the ONNX Runtime library is missing at %s", lib)
		}
		t.Skipf("ONNX Runtime library not found at %s (skipping outside CI)", lib)
	}
	x := xfake.Start(t, xfake.Config{})
	xc := x.Config()
	for k, v := range map[string]string{"BOT_USER_ID": xc.BotUserID, "X_CONSUMER_KEY": xc.ConsumerKey,
		"X_CONSUMER_SECRET": xc.ConsumerSecret, "X_ACCESS_TOKEN": xc.AccessToken,
		"X_ACCESS_TOKEN_SECRET": xc.AccessTokenSecret, "ORT_LIB": lib} {
		t.Setenv(k, v)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-x-api-base", x.URL(), "-queue-backend", "mem", "-device", "cpu",
			"-metrics-addr", "127.0.0.1:0", "-worker-concurrency", "1"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, pr)
	_, addr, ok := strings.Cut(strings.TrimSpace(line), " on ")
	require.True(t, ok, line)

	client := &http.Client{Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the worker never became ready")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestHelpShowsTheHealthDefaultAndNoSecret(t *testing.T) {
	t.Setenv("X_CONSUMER_SECRET", "secret-value-from-env")
	var out strings.Builder
	fsOut := captureStderr(t, func() {
		require.NoError(t, run(context.Background(), []string{"-h"}, &out))
	})
	assert.Contains(t, fsOut, "127.0.0.1:9091")
	assert.NotContains(t, fsOut, "secret-value-from-env")
}

// captureStderr returns what f writes to os.Stderr (where -h goes).
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}
