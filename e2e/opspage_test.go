package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/moetron/moetron/xfake"
)

// EnvScreenshot names a PNG file (relative to the repository root) that
// TestOperatorPage writes a screenshot of the page to:
//
//	MOETRON_SCREENSHOT=docs/operator-page.png go test -run TestOperatorPage ./e2e
const EnvScreenshot = "MOETRON_SCREENSHOT"

// needChromium returns the Chromium binary (MOETRON_CHROMIUM, else
// chromium on PATH), skipping t without one (failing in CI, where make
// test installs Debian's chromium package).
func needChromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MOETRON_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but no Chromium was found: apt-get install chromium (make test does), or set MOETRON_CHROMIUM")
	}
	t.Skip("no Chromium: apt-get install chromium (make test installs it), or set MOETRON_CHROMIUM")
	return ""
}

// browserCtx starts a headless Chromium for t and returns its context.
func browserCtx(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", bin, err)
	}
	return ctx
}

// mentionFrom makes a mention of the bot by a named user.
func (s *stack) mentionFrom(u xfake.Sender, text string) *cmd {
	s.t.Helper()
	p := s.x.SeedPost(xfake.Post{AuthorID: u.UserID, Text: "@" + s.x.Config().BotScreenName + " " + text})
	b, err := s.x.MentionPayload(p, u)
	if err != nil {
		s.t.Fatal(err)
	}
	return &cmd{kind: "tweet", id: p.ID, userID: u.UserID, text: p.Text, payload: b, jobID: "tweet:" + p.ID}
}

// dmFrom makes a DM to the bot from a named user.
func (s *stack) dmFrom(u xfake.Sender, text string) *cmd {
	s.t.Helper()
	d := s.x.SeedDM(xfake.DM{SenderID: u.UserID, RecipientID: s.x.Config().BotUserID, Text: text})
	b, err := s.x.DMPayload(d, u)
	if err != nil {
		s.t.Fatal(err)
	}
	return &cmd{kind: "dm", id: d.EventID, userID: u.UserID, text: text, payload: b, jobID: "dm:" + d.EventID}
}

// The operator page in a real browser, served by the worker binary of a
// real run (webhook and worker processes, SQLite queue, the ONNX model,
// the fake X): the page lists the jobs the worker answered with their
// thumbnails; a job that X's outage sent to the poison queue (the worker
// runs with WORKER_MAX_DEQUEUE=1) is requeued with the page's button once
// X is back, the poison count drops, and the job is answered once.
func TestOperatorPage(t *testing.T) {
	chromium := needChromium(t)
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{startWorker: true, workerEnv: []string{"WORKER_MAX_DEQUEUE=1"}})
	user := func(n int, name string) xfake.Sender {
		return xfake.Sender{UserID: fmt.Sprint(2_000_000_000_000_000_100 + n), ScreenName: name}
	}
	ok := []*cmd{
		s.mentionFrom(user(1, "alice"), "moerand"),
		s.dmFrom(user(2, "bob"), "moemess"),
		s.mentionFrom(user(3, "dave"), "moename dave"),
	}
	s.deliverAll(ok)
	s.waitAnswered(ok, 2*time.Minute)

	// X is down for the next job: its one delivery fails and it is poisoned.
	o := q.open(t)
	if _, err := s.x.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointTweets}); err != nil {
		t.Fatal(err)
	}
	lost := s.mentionFrom(user(4, "carol"), "moerand")
	s.deliverAll([]*cmd{lost})
	// And a message on the queue that is no job at all.
	if _, err := o.Queue.Enqueue(ctxFor(t, time.Minute), []byte(`{"msg_type":"fax"}`), nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "two poison messages", func() error {
		if n := poisonCount(t, o); n != 2 {
			return fmt.Errorf("%d poison messages, want 2", n)
		}
		return nil
	}, s.worker)
	s.x.ClearFaults()
	if n, _ := s.answers(lost); n != 0 {
		t.Fatalf("%s answered during the outage", lost.jobID)
	}

	ctx := browserCtx(t, chromium)
	page := "http://" + s.wmetrics + "/ops/"
	// The thumbnails are made off the jobs' path: reload until each
	// answered job shows one.
	eventually(t, time.Minute, "the page lists the answered jobs with thumbnails", func() error {
		if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#jobs"))); err != nil {
			return err
		}
		thumbs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#jobs img.thumb').length`))
		if err != nil {
			return err
		}
		if thumbs < len(ok) {
			return fmt.Errorf("%d thumbnails, want %d", thumbs, len(ok))
		}
		return nil
	}, s.worker)

	// The DOM lists every job with its outcome and user, and the browser
	// loaded every thumbnail (the CSP allows the page's own images).
	for _, c := range ok {
		if got := outcomeOf(t, ctx, c); got != "replied" {
			t.Errorf("%s: row outcome %q, want replied", c.jobID, got)
		}
	}
	lostOutcome := outcomeOf(t, ctx, lost)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`Array.from(document.querySelectorAll('#jobs img.thumb')).every(i => i.complete && i.naturalWidth > 0)`))
	if err != nil {
		t.Fatal(err)
	}
	jobsText := text(t, ctx, "#jobs")
	if lostOutcome != "failed" {
		t.Errorf("the job X's outage failed shows outcome %q, want failed", lostOutcome)
	}
	if !loaded {
		t.Error("a thumbnail did not load in the browser")
	}
	for _, name := range []string{"@alice", "@bob", "@dave", "@carol"} {
		if !strings.Contains(jobsText, name) {
			t.Errorf("the job list does not show %s", name)
		}
	}
	for _, private := range []string{"moename dave", "moemess"} { // texts are never shown
		if strings.Contains(jobsText, private) {
			t.Errorf("the job list shows the message text %q", private)
		}
	}
	if got := text(t, ctx, "#poison-depth"); got != "2" {
		t.Fatalf("poison depth on the page %q, want 2", got)
	}

	// Requeue the lost job with its button.
	button := `#poison tr.poison-row[data-job="` + lost.jobID + `"] button.requeue`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatalf("requeue: %v", err)
	}
	if got := text(t, ctx, "#poison-depth"); got != "1" {
		t.Errorf("poison depth after requeue %q, want 1", got)
	}
	if n := poisonCount(t, o); n != 1 {
		t.Errorf("%d poison messages after requeue, want 1", n)
	}
	rows, err := chromedp.Run(ctx, chromedp.AttributesAll(chromedp.CSSAll(`#poison tr.poison-row`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["data-job"] == lost.jobID {
		t.Errorf("poison rows after requeue: %d, the requeued one still listed", len(rows))
	}

	// The worker answers the requeued job, once; nothing was answered twice.
	all := append(ok, lost)
	s.waitAnswered(all, 2*time.Minute)
	s.settle(time.Second)
	s.checkExactlyOnce(all)
	eventually(t, time.Minute, "the requeued job is listed as replied", func() error {
		if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#jobs"))); err != nil {
			return err
		}
		if got := outcomeOf(t, ctx, lost); got != "replied" {
			return fmt.Errorf("outcome %q", got)
		}
		return nil
	}, s.worker)

	if dst := os.Getenv(EnvScreenshot); dst != "" {
		screenshot(t, ctx, page, dst)
	}
}

// text returns the text of the first node matching the CSS selector sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// outcomeOf returns the outcome the job list shows for c ("" without a row).
func outcomeOf(t *testing.T, ctx context.Context, c *cmd) string {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.AttributesAll(chromedp.CSSAll(`#jobs tr.job`)))
	if err != nil {
		t.Fatalf("job rows: %v", err)
	}
	for _, r := range rows {
		if r["data-job"] == c.jobID {
			return r["data-outcome"]
		}
	}
	return ""
}

// screenshot writes a PNG of the whole page at url to dst (relative to
// the repository root).
func screenshot(t *testing.T, ctx context.Context, url, dst string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#jobs"))); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(dst) {
		dst = filepath.Join(moduleRoot, dst)
	}
	if err := os.WriteFile(dst, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the operator page: %s (%d bytes)", dst, len(png))
}
