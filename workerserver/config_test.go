package workerserver_test

import (
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/workerserver"
)

func lookup(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// validEnv is a complete worker environment; its secrets are recognisable
// so that a test can look for them in texts they must not reach.
func validEnv() map[string]string {
	return map[string]string{
		"BOT_USER_ID":           "1114259648326987776",
		"X_CONSUMER_KEY":        "ck-public-key",
		"X_CONSUMER_SECRET":     "cs-SECRET-1f3a",
		"X_ACCESS_TOKEN":        "at-SECRET-2b4c",
		"X_ACCESS_TOKEN_SECRET": "ats-SECRET-3d5e",
	}
}

func TestValidateNamesEveryMissingVariable(t *testing.T) {
	err := workerserver.FromLookup(lookup(nil)).Validate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, workerserver.ErrConfig))
	assert.Contains(t, err.Error(),
		"missing BOT_USER_ID, X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET")

	env := validEnv()
	delete(env, "X_ACCESS_TOKEN")
	err = workerserver.FromLookup(lookup(env)).Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing X_ACCESS_TOKEN")
	assert.NotContains(t, err.Error(), "BOT_USER_ID")
}

func TestValidateReportsEveryBadValueWithoutSecrets(t *testing.T) {
	env := validEnv()
	env["BOT_USER_ID"] = "@moetronbot"
	env["DEVICE"] = "tpu"
	env["IMAGE_FORMAT"] = "gif"
	env["WORKER_CONCURRENCY"] = "many"
	env["WORKER_MAX_DEQUEUE"] = "lots"
	env["WORKER_DRAIN_TIMEOUT"] = "soon"
	env["WORKER_VISIBILITY"] = "500ms"
	env["X_API_BASE"] = "api.x.com"
	env["QUEUE_BACKEND"] = "azure"
	cfg := workerserver.FromLookup(lookup(env))
	err := cfg.Validate()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`BOT_USER_ID "@moetronbot" is not a decimal user id`,
		`DEVICE "tpu"`, `IMAGE_FORMAT "gif"`, `WORKER_CONCURRENCY "many"`, `WORKER_MAX_DEQUEUE "lots"`,
		`WORKER_DRAIN_TIMEOUT "soon"`, "WORKER_VISIBILITY 500ms", `X_API_BASE "api.x.com"`,
		"AZURE_STORAGE_CONNECTION_STRING is required",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "missing")

	texts := map[string]string{"error": msg, "String": cfg.String(),
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg)}
	for name, text := range texts {
		for _, k := range []string{"X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"} {
			assert.NotContains(t, text, env[k], "%s shows %s", name, k)
		}
	}
	assert.Contains(t, cfg.String(), "consumer_secret=set")
}

func TestDefaults(t *testing.T) {
	cfg := workerserver.FromLookup(lookup(validEnv()))
	require.NoError(t, cfg.Validate())
	d := cfg.WithDefaults()
	assert.Equal(t, workerserver.DefaultAPIBase, d.APIBase)
	assert.Equal(t, imagegen.FallbackLibraryPath(), d.ORTLib)
	assert.Equal(t, imagegen.DeviceAuto, d.Device)
	assert.Equal(t, "png", d.Format)
	assert.Equal(t, "", d.ModelPath, "empty means the bundled model")
	assert.Equal(t, 30*time.Second, d.DrainTimeout)
	assert.Equal(t, 10*time.Minute, d.Visibility)
	assert.Equal(t, 0, d.Concurrency, "zero means the generator's batch size")
	assert.Equal(t, queueopen.BackendSQLite, d.Queue.Backend)
	assert.Contains(t, cfg.String(), "model=bundled")
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := validEnv()
	env["DEVICE"] = "cuda"
	env["WORKER_CONCURRENCY"] = "4"
	env["WORKER_DRAIN_TIMEOUT"] = "1m"
	env["QUEUE_BACKEND"] = "mem"
	cfg := workerserver.FromLookup(lookup(env))
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	cfg.Flags(fs)
	require.NoError(t, fs.Parse([]string{"-device", "cpu", "-worker-concurrency", "2", "-model-path", "m.onnx",
		"-ort-lib", "/opt/ort.so", "-worker-visibility", "2m", "-queue-name", "jobs", "-metrics-addr", ":9090",
		"-worker-max-dequeue", "9"}))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "cpu", cfg.Device)
	assert.Equal(t, 2, cfg.Concurrency)
	assert.Equal(t, time.Minute, cfg.DrainTimeout, "from the environment")
	assert.Equal(t, 2*time.Minute, cfg.Visibility)
	assert.Equal(t, 9, cfg.MaxDequeue)
	assert.Equal(t, "m.onnx", cfg.ModelPath)
	assert.Equal(t, "/opt/ort.so", cfg.ORTLib)
	assert.Equal(t, ":9090", cfg.MetricsAddr)
	assert.Equal(t, "jobs", cfg.Queue.Name)
	assert.Equal(t, "mem", cfg.Queue.Backend)
	assert.Equal(t, env["X_CONSUMER_SECRET"], cfg.ConsumerSecret)
}

func TestMetricsAddrIsOnByDefault(t *testing.T) {
	cfg := workerserver.FromLookup(lookup(validEnv()))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "127.0.0.1:9091", cfg.MetricsAddr, "health endpoints on loopback unless METRICS_ADDR says otherwise")

	env := validEnv()
	env["METRICS_ADDR"] = "off"
	cfg = workerserver.FromLookup(lookup(env))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, workerserver.MetricsOff, cfg.MetricsAddr)

	env["METRICS_ADDR"] = "9091"
	err := workerserver.FromLookup(lookup(env)).Validate()
	require.ErrorIs(t, err, workerserver.ErrConfig)
	assert.Contains(t, err.Error(), `METRICS_ADDR "9091" is not host:port`)

	env["METRICS_ADDR"] = ":9091"
	assert.NoError(t, workerserver.FromLookup(lookup(env)).Validate())
}
