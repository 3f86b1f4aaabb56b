package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/xfake"
)

// readmeBlock returns the lines of the first ```sh block after the line of
// README.md that contains marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	state := 0 // 0: looking for the marker, 1: for the fence, 2: in the block
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && strings.Contains(line, marker):
			state = 1
		case state == 1 && line == "```sh":
			state = 2
		case state == 2 && line == "```":
			return b.String()
		case state == 2:
			b.WriteString(line + "\n")
		}
	}
	t.Fatalf("README.md has no ```sh block after %q", marker)
	return ""
}

// TestREADMESignedPost runs the README's "signed delivery by hand" block
// as written against the webhook binary, with only its url line pointed at
// the test's webhook: the CRC answer and a 200 come back, and the fixture's
// mention is a job on the queue.
func TestREADMESignedPost(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	block := readmeBlock(t, "TestREADMESignedPost")
	urlLine := regexp.MustCompile(`(?m)^url=\S+`)
	if !urlLine.MatchString(block) {
		t.Fatalf("the README block no longer starts with url=...:\n%s", block)
	}
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{noWorker: true, xcfg: xfake.Config{BotUserID: eventstest.BotUserID}})
	script := urlLine.ReplaceAllString(block, "url="+s.url())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "X_CONSUMER_SECRET="+s.x.Config().ConsumerSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"response_token":"sha256=`) || lines[1] != "200" {
		t.Fatalf("README block printed %q; want the CRC answer and 200", out)
	}
	o := q.open(t)
	eventually(t, 10*time.Second, "the job on the queue", func() error {
		n, err := o.Queue.Len(context.Background())
		if err == nil && n != 1 {
			err = fmt.Errorf("queue length %d, want 1", n)
		}
		return err
	}, s.webhook)
}
