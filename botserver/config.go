package botserver

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/workerserver"
)

// Defaults of Config.
const (
	// DefaultDelivery is the delivery mode when DELIVERY is unset: the
	// stream, which needs no public URL.
	DefaultDelivery = webhookserver.DeliveryStream
	// DefaultInitialBackfill is the STREAM_INITIAL_BACKFILL_MINUTES that
	// FromLookup uses when the variable is unset: after a restart the bot
	// reads the last five minutes again (X's most), and the worker's job
	// ledger answers what it already answered once.
	DefaultInitialBackfill = 5
)

// ErrConfig is wrapped by every error of Config.Validate.
var ErrConfig = errors.New("botserver: invalid configuration")

// Config is the configuration of a bot server: the webhook server's (here
// mostly the stream consumer's) and the worker server's, read from the same
// environment variables as examples/webhook and examples/worker.
//
// The settings the two share (BOT_USER_ID, the four OAuth 1.0a values,
// X_API_BASE, the queue, METRICS_ADDR) are taken from Webhook; New copies
// them to Worker, so set them once, in Webhook.
type Config struct {
	// Webhook configures intake: Delivery (DELIVERY; empty means
	// DefaultDelivery, the stream), BearerToken (X_BEARER_TOKEN, required
	// for the stream), the shared values, the spool and the stream tuning.
	// Its Addr (WEBHOOK_ADDR, default :8080 or :$PORT) is the listener of
	// every endpoint unless MetricsAddr is set.
	Webhook webhookserver.Config
	// Worker configures the model (MODEL_PATH, ORT_LIB, ORT_CUDA_PLUGIN,
	// DEVICE), the job handling (WORKER_*) and IMAGE_FORMAT. Its shared
	// fields are overwritten by Webhook's.
	Worker workerserver.Config
}

// FromEnv reads a Config from the process environment.
func FromEnv() Config { return FromLookup(os.Getenv) }

// FromLookup reads a Config through getenv (os.Getenv, or a map in tests).
// STREAM_INITIAL_BACKFILL_MINUTES defaults to DefaultInitialBackfill here.
func FromLookup(getenv func(string) string) Config {
	c := Config{Webhook: webhookserver.FromLookup(getenv), Worker: workerserver.FromLookup(getenv)}
	if getenv(webhookserver.EnvStreamInitialBackfill) == "" {
		c.Webhook.StreamInitialBackfill = DefaultInitialBackfill
	}
	return c
}

// Flags binds c's fields to flags of fs named after the environment
// variables (-bot-user-id, -x-bearer-token, -model-path, -delivery, ...):
// the webhook server's, then the worker server's that the webhook's do not
// already name. Call FromEnv first so that the environment gives the
// defaults. Secrets never show in -h; pass them in the environment.
func (c *Config) Flags(fs *flag.FlagSet) {
	c.Webhook.Flags(fs)
	wfs := flag.NewFlagSet("worker", flag.ContinueOnError)
	c.Worker.Flags(wfs)
	wfs.VisitAll(func(f *flag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
}

// WithDefaults returns c with Delivery defaulted to the stream and the
// shared values copied from Webhook to Worker; the servers fill in the
// rest.
func (c Config) WithDefaults() Config {
	if c.Webhook.Delivery == "" {
		c.Webhook.Delivery = DefaultDelivery
	}
	w := &c.Worker
	h := c.Webhook
	w.BotUserID, w.APIBase, w.Queue, w.MetricsAddr = h.BotUserID, h.APIBase, h.Queue, h.MetricsAddr
	w.ConsumerKey, w.ConsumerSecret, w.AccessToken, w.AccessTokenSecret = h.ConsumerKey, h.ConsumerSecret, h.AccessToken, h.AccessTokenSecret
	return c
}

// Addr is the one listen address: METRICS_ADDR when set, else the
// webhook's address (WEBHOOK_ADDR, or :$PORT); when neither is set it is
// DefaultLocalAddr with stream delivery (nothing from outside must reach
// it) and :8080 when a webhook is served.
func (c Config) Addr() string {
	if c.Webhook.MetricsAddr != "" {
		return c.Webhook.MetricsAddr
	}
	h := c.Webhook.WithDefaults()
	if !h.Webhook() && c.Webhook.Addr == "" && c.Webhook.Port == "" {
		// Stream delivery serves nothing X must reach: keep the metrics
		// and health endpoints on this machine unless told otherwise.
		return DefaultLocalAddr
	}
	return h.Addr
}

// DefaultLocalAddr is the bot's listener with stream delivery when neither
// METRICS_ADDR nor WEBHOOK_ADDR (or PORT) is set.
const DefaultLocalAddr = "127.0.0.1:8080"

// Validate reports every problem of c in one error wrapping ErrConfig:
// when a required variable is missing, the error names every missing one
// (the bot needs BOT_USER_ID and the four OAuth 1.0a values to answer, and
// X_BEARER_TOKEN to read the stream); otherwise it lists the malformed
// values of both halves. It never shows a secret's value.
func (c Config) Validate() error {
	c = c.WithDefaults()
	h := c.Webhook
	var p envflag.Problems
	p.Need(h.BotUserID, webhookserver.EnvBotUserID)
	p.Need(h.ConsumerKey, webhookserver.EnvConsumerKey)
	p.Need(h.ConsumerSecret, webhookserver.EnvConsumerSecret)
	p.Need(h.AccessToken, webhookserver.EnvAccessToken)
	p.Need(h.AccessTokenSecret, webhookserver.EnvAccessTokenSecret)
	if h.Stream() || h.URL != "" {
		p.Need(h.BearerToken, webhookserver.EnvBearerToken)
	}
	if err := p.Err(ErrConfig); err != nil {
		return err
	}
	hv := h
	hv.MetricsAddr = ""       // one listener here: METRICS_ADDR may equal WEBHOOK_ADDR
	seen := map[string]bool{} // both halves check the shared values
	for _, e := range []struct {
		err  error
		kind error
	}{{hv.Validate(), webhookserver.ErrConfig}, {c.Worker.Validate(), workerserver.ErrConfig}} {
		if e.err == nil {
			continue
		}
		for _, m := range strings.Split(strings.TrimPrefix(e.err.Error(), e.kind.Error()+": "), "; ") {
			if !seen[m] {
				seen[m] = true
				p.Add(m)
			}
		}
	}
	return p.Err(ErrConfig)
}

// String describes c for a start-up log line; secrets show only as set or
// unset.
func (c Config) String() string {
	c = c.WithDefaults()
	return fmt.Sprintf("listen=%s intake={%s} worker={%s}", c.Addr(), c.Webhook, c.Worker)
}
