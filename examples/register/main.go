// Command register manages the bot's X webhook, idempotently: run
// "register" on every deploy and it leaves one valid webhook with the bot
// subscribed. Configuration comes from the environment (DESIGN.md names),
// each value also a flag. All logic lives in package webhooks.
//
//	register [flags] register|list|validate|delete|subscribe|status|replay [webhook-id]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moetron/moetron/webhooks"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// setting is one configuration value: its variable, flag and value.
type setting struct{ env, flag, value string }

// needs lists the settings each command requires; "id" is a webhook id
// argument or WEBHOOK_URL to find it by.
var (
	oauth = []string{"X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"}
	needs = map[string][]string{"list": nil, "status": nil, "validate": {"id"}, "delete": {"id"}, "replay": {"id"},
		"register": append([]string{"WEBHOOK_URL"}, oauth...), "subscribe": append([]string{"id"}, oauth...)}
)

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: register [flags] register|list|validate|delete|subscribe|status|replay [webhook-id]")
		fs.PrintDefaults()
	}
	// Each setting is an environment variable and a flag named after it
	// (X_CONSUMER_KEY, -x-consumer-key); the flag wins. The environment's
	// value is filled in after parsing, so -h never prints a secret.
	sets := map[string]*setting{}
	for _, s := range []setting{{"X_BEARER_TOKEN", "x-bearer-token", ""}, {"X_CONSUMER_KEY", "x-consumer-key", ""},
		{"X_CONSUMER_SECRET", "x-consumer-secret", ""}, {"X_ACCESS_TOKEN", "x-access-token", ""},
		{"X_ACCESS_TOKEN_SECRET", "x-access-token-secret", ""}, {"X_API_BASE", "x-api-base", ""}, {"WEBHOOK_URL", "webhook-url", ""}} {
		sets[s.env] = &s
		fs.StringVar(&s.value, s.flag, "", "default $"+s.env)
	}
	from := fs.String("from", "", "replay: start, RFC 3339 or a duration ago (e.g. 2h)")
	to := fs.String("to", "", "replay: end, RFC 3339 or a duration ago (default now)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each request to X")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, s := range sets {
		if s.value == "" {
			s.value = getenv(s.env)
		}
	}
	cmd, rest := fs.Arg(0), fs.Args()[min(1, fs.NArg()):]
	required, ok := needs[cmd]
	if !ok || len(rest) > 1 {
		fs.Usage()
		return 2
	}
	var missing []string
	for _, n := range append([]string{"X_BEARER_TOKEN"}, required...) {
		switch {
		case n == "id" && len(rest) == 0 && sets["WEBHOOK_URL"].value == "":
			missing = append(missing, "WEBHOOK_URL (-webhook-url) or a webhook id argument")
		case n != "id" && strings.TrimSpace(sets[n].value) == "":
			missing = append(missing, n+" (-"+sets[n].flag+")")
		}
	}
	if cmd == "replay" && *from == "" {
		missing = append(missing, "-from")
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "register %s: missing %s\n", cmd, strings.Join(missing, ", "))
		return 2
	}
	client, err := webhooks.New(webhooks.Config{BearerToken: sets["X_BEARER_TOKEN"].value,
		ConsumerKey: sets["X_CONSUMER_KEY"].value, ConsumerSecret: sets["X_CONSUMER_SECRET"].value,
		AccessToken: sets["X_ACCESS_TOKEN"].value, AccessTokenSecret: sets["X_ACCESS_TOKEN_SECRET"].value,
		BaseURL: sets["X_API_BASE"].value, Timeout: *timeout})
	if err != nil {
		fmt.Fprintln(stderr, "register:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := do(ctx, client, cmd, rest, sets["WEBHOOK_URL"].value, *from, *to, stdout); err != nil {
		fmt.Fprintf(stderr, "register %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func do(ctx context.Context, c *webhooks.Client, cmd string, rest []string, url, from, to string, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	id := ""
	if len(rest) == 1 {
		id = rest[0]
	} else if cmd != "register" && cmd != "list" && cmd != "status" {
		w, err := c.Find(ctx, url)
		if err != nil {
			return err
		}
		if w == nil {
			return errors.New("no webhook is registered for WEBHOOK_URL; run register first")
		}
		id = w.ID
	}
	switch cmd {
	case "register":
		w, err := c.Ensure(ctx, url)
		if err != nil {
			return err
		}
		if err := c.EnsureSubscribed(ctx, w.ID); err != nil {
			return err
		}
		fmt.Fprintf(tw, "ID\tURL\tVALID\tSUBSCRIBED\n%s\t%s\t%t\t%t\n", w.ID, w.URL, w.Valid, true)
	case "list":
		hooks, err := c.List(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tURL\tVALID\tCREATED")
		for _, w := range hooks {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", w.ID, w.URL, w.Valid, w.CreatedAt.Format(time.RFC3339))
		}
	case "status":
		states, err := c.Inspect(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tURL\tVALID\tBOT SUBSCRIBED\tSUBSCRIBERS")
		for _, s := range states {
			bot := "unknown (no OAuth credentials)"
			if s.BotSubscribed != nil {
				bot = fmt.Sprint(*s.BotSubscribed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", s.ID, s.URL, s.Valid, bot, strings.Join(s.Subscribers, ","))
		}
	case "validate", "delete", "subscribe":
		act := map[string]func(context.Context, string) error{
			"validate": c.Validate, "delete": c.Delete, "subscribe": c.EnsureSubscribed}[cmd]
		if err := act(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(tw, "ID\tRESULT\n%s\t%s ok\n", id, cmd)
	case "replay":
		now := time.Now()
		f, err := parseTime(from, now)
		if err != nil {
			return fmt.Errorf("-from: %w", err)
		}
		t, err := parseTime(to, now)
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		job, err := c.Replay(ctx, id, f, t)
		if err != nil {
			return err
		}
		const minute = "2006-01-02T15:04Z"
		fmt.Fprintf(tw, "ID\tJOB\tFROM\tTO\n%s\t%s\t%s\t%s\n", id, job.JobID, f.UTC().Format(minute), t.UTC().Format(minute))
	}
	return nil
}

// parseTime reads RFC 3339, or a duration meaning that long before now;
// "" is now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want RFC 3339 (2026-11-26T17:00:00Z) or a duration ago (2h)")
	}
	return t, nil
}
