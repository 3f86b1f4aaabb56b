package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/xfake"
)

// qconf is the queue both binaries are pointed at.
type qconf struct {
	env queueopen.Env
}

// vars returns the environment variables that select the queue.
func (c qconf) vars() []string {
	v := []string{
		queueopen.EnvBackend + "=" + c.env.Backend,
		queueopen.EnvName + "=" + c.env.Name,
	}
	if c.env.Path != "" {
		v = append(v, queueopen.EnvPath+"="+c.env.Path)
	}
	if c.env.ConnectionString != "" {
		v = append(v, queueopen.EnvConnectionString+"="+c.env.ConnectionString)
	}
	return v
}

var queueSeq atomic.Int64

// queueName is a fresh queue name, so tests sharing an Azurite do not meet.
func queueName() string {
	return fmt.Sprintf("e2e-%d-%d", os.Getpid()%100000, queueSeq.Add(1))
}

// sqliteQueue is a SQLite queue in a file of its own.
func sqliteQueue(t testing.TB) qconf {
	return qconf{queueopen.Env{Backend: queueopen.BackendSQLite, Name: queueName(),
		Path: filepath.Join(t.TempDir(), "queue.db")}}
}

// azureQueue is a queue on the Azurite of MOETRON_AZURITE (make test starts
// one); t skips without it.
func azureQueue(t testing.TB) qconf {
	cs := os.Getenv("MOETRON_AZURITE")
	if cs == "" {
		t.Skip("MOETRON_AZURITE is not set (make test starts Azurite; or: bash scripts/azurite.sh run -- go test ./e2e)")
	}
	return qconf{queueopen.Env{Backend: queueopen.BackendAzure, Name: queueName(), ConnectionString: cs}}
}

// open opens the queue directly (for the test's own reads and writes).
func (c qconf) open(t testing.TB) *queueopen.Opened {
	t.Helper()
	o, err := queueopen.Open(ctxFor(t, 30*time.Second), c.env, nil)
	if err != nil {
		t.Fatalf("open queue %s: %v", c.env, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// needORT skips t when no ONNX Runtime library can be found for the worker.
func needORT(t testing.TB) {
	t.Helper()
	if os.Getenv("ORT_LIB") != "" {
		return
	}
	if _, err := os.Stat(imagegen.DefaultLibraryPath()); err != nil {
		t.Skip("no ONNX Runtime: set ORT_LIB or run make ort")
	}
}

// stack is one deployment of the bot: a fake X, the webhook and the worker
// processes and their queue.
type stack struct {
	t        testing.TB
	x        *xfake.Server
	q        qconf
	delivery string // the webhook's DELIVERY ("" for the Account Activity stack)
	addr     string // the webhook's listen address
	metrics  string // the webhook's metrics address
	wmetrics string // the worker's metrics address
	webhook  *proc
	worker   *proc

	users atomic.Int64
}

// stackOptions change how a stack is built.
type stackOptions struct {
	xcfg        xfake.Config
	webhookEnv  []string // extra variables for the webhook
	workerEnv   []string // extra variables for the worker
	workerArgs  []string // command-line arguments of the worker
	noWorker    bool     // build no worker process
	noRegister  bool     // do not register the webhook with the fake X
	startWorker bool     // start the worker at once (default: the test starts it)
	// delivery, when set, is the webhook's DELIVERY (webhook, stream or
	// both) on the X Activity API: the webhook process keeps the bot's XAA
	// subscriptions itself (linked to its WEBHOOK_URL with webhook
	// delivery; without a webhook, which feeds the stream, otherwise), and
	// newStack waits until they exist. Empty is the Account Activity stack.
	delivery string
}

// newStack starts the fake X and the webhook, registers the webhook with the
// fake (which runs a CRC against it), and prepares (but does not start) the
// worker.
func newStack(t testing.TB, q qconf, o stackOptions) *stack {
	t.Helper()
	webhookBin := needBinary(t, "webhook")
	var workerBin string
	if !o.noWorker {
		workerBin = needBinary(t, "worker")
		needORT(t)
	}
	if o.xcfg.DuplicateWindow == 0 {
		o.xcfg.DuplicateWindow = time.Hour
	}
	s := &stack{t: t, q: q, x: xfake.Start(t, o.xcfg), delivery: o.delivery,
		addr: freeAddr(t), metrics: freeAddr(t), wmetrics: freeAddr(t)}
	cfg := s.x.Config()
	spool := t.TempDir()
	if o.delivery != "" {
		o.noRegister = true // the webhook process registers what it needs
		o.webhookEnv = append(s.xaaEnv(o.delivery), o.webhookEnv...)
	}
	s.webhook = newProc(t, "webhook", webhookBin, withEnv(append(append(q.vars(),
		"X_CONSUMER_SECRET="+cfg.ConsumerSecret,
		"BOT_USER_ID="+cfg.BotUserID,
		"WEBHOOK_ADDR="+s.addr,
		"WEBHOOK_PATH=/webhook",
		"METRICS_ADDR="+s.metrics,
		"SPOOL_DIR="+spool,
		"LOG_LEVEL=debug",
	), o.webhookEnv...)...))
	s.startWebhook()
	if !o.noRegister {
		s.register()
	}
	if o.delivery != "" {
		s.waitSubscribed()
	}
	if !o.noWorker {
		s.worker = newProc(t, "worker", workerBin, withEnv(append(append(q.vars(),
			"X_CONSUMER_KEY="+cfg.ConsumerKey,
			"X_CONSUMER_SECRET="+cfg.ConsumerSecret,
			"X_ACCESS_TOKEN="+cfg.AccessToken,
			"X_ACCESS_TOKEN_SECRET="+cfg.AccessTokenSecret,
			"X_API_BASE="+s.x.URL(),
			"BOT_USER_ID="+cfg.BotUserID,
			"METRICS_ADDR="+s.wmetrics,
			"DEVICE=cpu",
			"LOG_LEVEL=debug",
			"WORKER_LEDGER="+filepath.Join(t.TempDir(), "ledger.db"),
		), o.workerEnv...)...), o.workerArgs...)
		if o.startWorker {
			s.startWorker()
		}
	}
	return s
}

// webhookMetrics scrapes the webhook's /metrics.
func (s *stack) webhookMetrics() metrics { return scrape(s.t, "http://"+s.metrics+"/metrics") }

// workerMetrics scrapes the worker's /metrics.
func (s *stack) workerMetrics() metrics { return scrape(s.t, "http://"+s.wmetrics+"/metrics") }

// startWorker starts the worker and waits until it is ready (its consumer
// runs and its metrics are served).
func (s *stack) startWorker() {
	s.t.Helper()
	s.worker.Start()
	eventually(s.t, 60*time.Second, "worker ready", func() error {
		resp, err := http.Get("http://" + s.wmetrics + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz status %d", resp.StatusCode)
		}
		return nil
	}, s.worker)
}

// workerCount sums a worker metric, or returns -1 while the worker's
// metrics cannot be read (it is starting or was killed).
func (s *stack) workerCount(name string, labels ...string) float64 {
	m, err := tryScrape("http://" + s.wmetrics + "/metrics")
	if err != nil {
		return -1
	}
	return m.sum(name, labels...)
}

// url is the webhook's public URL.
func (s *stack) url() string { return "http://" + s.addr + "/webhook" }

// startWebhook starts the webhook and waits until it answers a CRC (or,
// with stream delivery alone, until /readyz says the stream is connected).
func (s *stack) startWebhook() {
	s.t.Helper()
	s.webhook.Start()
	if s.delivery == "stream" || s.delivery == "both" {
		s.waitReady("webhook stream connected", "http://"+s.addr+"/readyz", s.webhook)
	}
	if s.delivery == "stream" {
		return
	}
	eventually(s.t, 60*time.Second, "webhook answers CRC", func() error {
		resp, err := http.Get(s.url() + "?crc_token=ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("CRC status %d", resp.StatusCode)
		}
		return nil
	}, s.webhook)
}

// register registers the webhook with the fake X, as examples/register
// would: X runs a CRC against it before accepting it.
func (s *stack) register() {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"url": s.url()})
	req, _ := http.NewRequest(http.MethodPost, s.x.URL()+"/2/webhooks", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.x.Config().BearerToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("register webhook: %d %s", resp.StatusCode, b)
	}
	if ws := s.x.Webhooks(); len(ws) != 1 || !ws[0].Valid {
		s.t.Fatalf("register webhook: fake X has %+v", ws)
	}
}

// cmd is one command sent to the bot and how to find its answer.
type cmd struct {
	kind     string // "tweet" or "dm"
	id       string // tweet id or DM event id
	userID   string // the author (DMs are answered to this user)
	text     string
	payload  []byte
	jobID    string // the job's idempotency key
	acked    bool   // the webhook answered 200
	attempts int
	xaa      bool // payload is an X Activity API envelope, delivered with PublishEvent
}

// newUser returns a fresh author, so that every command has its own
// answer address and its own reply text.
func (s *stack) newUser() xfake.Sender {
	n := s.users.Add(1)
	return xfake.Sender{UserID: strconv.FormatInt(2_000_000_000_000_000_000+n, 10),
		ScreenName: fmt.Sprintf("user%d", n)}
}

// mention makes a tweet that mentions the bot with text after the handle.
func (s *stack) mention(text string) *cmd {
	s.t.Helper()
	u := s.newUser()
	p := s.x.SeedPost(xfake.Post{AuthorID: u.UserID, Text: "@" + s.x.Config().BotScreenName + " " + text})
	b, err := s.x.MentionPayload(p, u)
	if err != nil {
		s.t.Fatal(err)
	}
	return &cmd{kind: "tweet", id: p.ID, userID: u.UserID, text: p.Text, payload: b, jobID: "tweet:" + p.ID}
}

// dm makes a direct message to the bot.
func (s *stack) dm(text string) *cmd {
	s.t.Helper()
	u := s.newUser()
	d := s.x.SeedDM(xfake.DM{SenderID: u.UserID, RecipientID: s.x.Config().BotUserID, Text: text})
	b, err := s.x.DMPayload(d, u)
	if err != nil {
		s.t.Fatal(err)
	}
	return &cmd{kind: "dm", id: d.EventID, userID: u.UserID, text: text, payload: b, jobID: "dm:" + d.EventID}
}

// commands makes n commands, alternating mentions and DMs over the three
// default commands.
func (s *stack) commands(n int) []*cmd {
	words := []string{"moerand", "moemess", "moename e2e"}
	cs := make([]*cmd, n)
	for i := range cs {
		w := words[i%len(words)]
		if i%2 == 0 {
			cs[i] = s.mention(fmt.Sprintf("%s %d", w, i))
		} else {
			cs[i] = s.dm(fmt.Sprintf("%s %d", w, i))
		}
	}
	return cs
}

// deliver plays X delivering c once and records whether it was
// acknowledged. An XAA command goes where the subscriptions say (a webhook
// POST, or a stream line, which counts as acknowledged once published).
func (s *stack) deliver(ctx context.Context, c *cmd) int {
	c.attempts++
	if c.xaa {
		pub, err := s.x.PublishEvent(ctx, c.payload)
		if err == nil && (pub.Status == http.StatusOK || (pub.Status == 0 && pub.Stream)) {
			c.acked = true
			return http.StatusOK
		}
		return pub.Status
	}
	st, _ := s.x.Deliver(ctx, c.payload)
	if st == http.StatusOK {
		c.acked = true
	}
	return st
}

// deliverAll delivers every command, failing the test on any status but 200.
func (s *stack) deliverAll(cs []*cmd) {
	s.t.Helper()
	ctx := ctxFor(s.t, time.Minute)
	for _, c := range cs {
		if st := s.deliver(ctx, c); st != http.StatusOK {
			s.t.Fatalf("deliver %s %s: status %d", c.kind, c.id, st)
		}
	}
}

// answers returns what the bot sent in answer to c: reply posts for a
// tweet, DMs to the author for a DM.
func (s *stack) answers(c *cmd) (n int, media [][]string) {
	if c.kind == "tweet" {
		for _, p := range s.x.RepliesTo(c.id) {
			media = append(media, p.MediaIDs)
		}
	} else {
		for _, d := range s.x.DMsTo(c.userID) {
			media = append(media, d.MediaIDs)
		}
	}
	return len(media), media
}

// botAnswers counts every post and DM the bot has sent.
func (s *stack) botAnswers() int {
	bot, n := s.x.Config().BotUserID, 0
	for _, p := range s.x.Posts() {
		if p.AuthorID == bot {
			n++
		}
	}
	for _, d := range s.x.DMs() {
		if d.SenderID == bot {
			n++
		}
	}
	return n
}

// waitAnswered waits until every command in cs has at least one answer.
func (s *stack) waitAnswered(cs []*cmd, timeout time.Duration) {
	s.t.Helper()
	var procs []*proc
	if s.worker != nil && s.worker.Pid() != 0 {
		procs = append(procs, s.worker)
	}
	eventually(s.t, timeout, "every command answered", func() error {
		missing := 0
		var first *cmd
		for _, c := range cs {
			if n, _ := s.answers(c); n == 0 {
				if first == nil {
					first = c
				}
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d commands unanswered (first: %s %s)", missing, len(cs), first.kind, first.jobID)
		}
		return nil
	}, procs...)
}

// checkExactlyOnce fails the test unless every command has exactly one
// answer, and that answer carries one image the fake X holds.
func (s *stack) checkExactlyOnce(cs []*cmd) {
	s.t.Helper()
	for _, c := range cs {
		n, media := s.answers(c)
		if n != 1 {
			s.t.Errorf("%s: %d answers, want exactly 1", c.jobID, n)
			continue
		}
		if len(media[0]) != 1 {
			s.t.Errorf("%s: answer has media %v, want one image", c.jobID, media[0])
			continue
		}
		u, ok := s.x.Upload(media[0][0])
		if !ok {
			s.t.Errorf("%s: media %s was never uploaded", c.jobID, media[0][0])
			continue
		}
		want := "tweet_image"
		if c.kind == "dm" {
			want = "dm_image"
		}
		if u.Category != want || u.Width <= 0 || u.Height <= 0 || len(u.Data) == 0 {
			s.t.Errorf("%s: upload %s is %s %dx%d (%d bytes), want a %s image", c.jobID, u.ID, u.Category, u.Width, u.Height, len(u.Data), want)
		}
	}
}

// settle waits a little for answers that should not come (a second reply
// to a duplicate), so that checkExactlyOnce can see them: until the queue
// is empty and the worker has been quiet for quiet.
func (s *stack) settle(quiet time.Duration) {
	s.t.Helper()
	o := s.q.open(s.t)
	eventually(s.t, 2*time.Minute, "queue empty", func() error {
		n, err := o.Queue.Len(context.Background())
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%d messages left", n)
		}
		return nil
	})
	time.Sleep(quiet)
}

// send posts body to the webhook with the given signature header value
// ("" leaves the header out) and returns the status.
func (s *stack) send(body []byte, sig string) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(xfake.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST webhook: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// poisonCount returns the number of messages on the poison queue.
func poisonCount(t testing.TB, o *queueopen.Opened) int {
	t.Helper()
	pq, err := o.PoisonFactory(o.Env.Name + queue.PoisonSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if err := pq.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := pq.Len(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
