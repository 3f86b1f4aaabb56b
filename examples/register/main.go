// Command register manages the bot's X webhook and its X Activity API
// (XAA) subscriptions, idempotently: run "register register" on every
// deploy and it leaves one valid webhook with the bot's XAA subscriptions
// linked to it. "register migrate" moves a bot from the Account Activity
// API (AAA), which X ends on 2027-01-01, to XAA. Configuration comes from
// the environment (the variables of the README's table), each value also a
// flag, before or after the command. All logic lives in package webhooks.
//
//	register [flags] <command> [command flags] [args]
//
// Run "register -h" for the commands and "register <command> -h" for a
// command's flags.
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

var settingNames = []setting{{"X_BEARER_TOKEN", "x-bearer-token", ""}, {"X_CONSUMER_KEY", "x-consumer-key", ""},
	{"X_CONSUMER_SECRET", "x-consumer-secret", ""}, {"X_ACCESS_TOKEN", "x-access-token", ""},
	{"X_ACCESS_TOKEN_SECRET", "x-access-token-secret", ""}, {"X_API_BASE", "x-api-base", ""},
	{"WEBHOOK_URL", "webhook-url", ""}, {"BOT_USER_ID", "bot-user-id", ""}}

// config is every setting plus the shared -timeout. Flags are bound to it
// on the top-level flag set and again on each command's, so a setting may
// come before or after the command name.
type config struct {
	sets    map[string]*setting
	timeout time.Duration
}

func newConfig() *config {
	c := &config{sets: map[string]*setting{}, timeout: 30 * time.Second}
	for _, s := range settingNames {
		c.sets[s.env] = &s
	}
	return c
}

// bind adds the setting flags to fs. The environment's values are filled
// in after parsing, so -h never prints a secret.
func (c *config) bind(fs *flag.FlagSet) {
	for _, s := range settingNames {
		p := c.sets[s.env]
		fs.Func(p.flag, "default $"+p.env, func(v string) error { p.value = v; return nil })
	}
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "timeout of each request to X")
}

func (c *config) get(env string) string { return c.sets[env].value }

// opts are the command flags; each command binds the ones it takes.
type opts struct {
	from, to           string
	dryRun, dropAAA    bool
	stream, allMoetron bool
	aaa                bool
	events, tagPrefix  string
	webhookID          string
	eventTypes         []string
}

// command is one subcommand: what it needs, its flags and its action.
type command struct {
	usage string
	// needs lists the settings the command requires; "id" is a webhook id
	// (argument or -webhook-id) or WEBHOOK_URL to find it by.
	needs []string
	// args is how many positional arguments it takes: -1 is any number.
	args  int
	flags func(*flag.FlagSet, *opts)
	run   func(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, args []string, out io.Writer) error
}

var oauthNames = []string{"X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"}

func eventFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.events, "events", strings.Join(webhooks.DefaultActivityEventTypes, ","), "XAA event types, comma-separated")
	fs.StringVar(&o.tagPrefix, "tag-prefix", webhooks.DefaultActivityTagPrefix, "tag prefix of the subscriptions moetron creates")
}

var commands = map[string]command{
	"register": {usage: "register the webhook (WEBHOOK_URL) and ensure the bot's XAA subscriptions to it",
		needs: append([]string{"WEBHOOK_URL", "BOT_USER_ID"}, oauthNames...),
		flags: func(fs *flag.FlagSet, o *opts) {
			eventFlags(fs, o)
			fs.BoolVar(&o.aaa, "aaa", false, "also subscribe the bot through the Account Activity API (ends 2027-01-01)")
		}, run: cmdRegister},
	"list":   {usage: "list the app's webhooks", run: cmdList},
	"status": {usage: "webhooks with their AAA subscribers", run: cmdStatus},
	"validate": {usage: "re-run X's CRC on the webhook [webhook-id]", needs: []string{"id"}, args: 1,
		run: idAction(func(c *webhooks.Client) func(context.Context, string) error { return c.Validate })},
	"delete": {usage: "delete the webhook [webhook-id]", needs: []string{"id"}, args: 1,
		run: idAction(func(c *webhooks.Client) func(context.Context, string) error { return c.Delete })},
	"subscribe": {usage: "subscribe the bot through the AAA (legacy, ends 2027-01-01) [webhook-id]",
		needs: append([]string{"id"}, oauthNames...), args: 1,
		run: idAction(func(c *webhooks.Client) func(context.Context, string) error { return c.EnsureSubscribed })},
	"replay": {usage: "have X deliver a past window again [webhook-id]", needs: []string{"id"}, args: 1,
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.StringVar(&o.from, "from", "", "start, RFC 3339 or a duration ago (e.g. 2h); required")
			fs.StringVar(&o.to, "to", "", "end, RFC 3339 or a duration ago (default now)")
		}, run: cmdReplay},
	"xaa list": {usage: "list the app's XAA subscriptions", run: cmdXAAList},
	"xaa ensure": {usage: "create the bot's missing XAA subscriptions (linked to the webhook, or -stream)",
		needs: append([]string{"BOT_USER_ID", "id"}, oauthNames...),
		flags: func(fs *flag.FlagSet, o *opts) {
			eventFlags(fs, o)
			fs.BoolVar(&o.stream, "stream", false, "for stream delivery: no webhook_id")
			fs.StringVar(&o.webhookID, "webhook-id", "", "webhook to link (default: the one registered for WEBHOOK_URL)")
			fs.BoolVar(&o.dryRun, "dry-run", false, "print what would be done, write nothing")
		}, run: cmdXAAEnsure},
	"xaa delete": {usage: "delete XAA subscriptions: <subscription-id>... or -all-moetron", args: -1,
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.BoolVar(&o.allMoetron, "all-moetron", false, "delete every subscription whose tag has the moetron prefix")
			fs.StringVar(&o.tagPrefix, "tag-prefix", webhooks.DefaultActivityTagPrefix, "the prefix -all-moetron matches")
		}, run: cmdXAADelete},
	"migrate": {usage: "move the bot from AAA to XAA on the webhook [webhook-id]",
		needs: append([]string{"BOT_USER_ID", "id"}, oauthNames...), args: 1,
		flags: func(fs *flag.FlagSet, o *opts) {
			eventFlags(fs, o)
			fs.BoolVar(&o.dryRun, "dry-run", false, "print what would be done, write nothing")
			fs.BoolVar(&o.dropAAA, "drop-aaa", false, "remove the bot's AAA subscription once XAA is verified")
		}, run: cmdMigrate},
}

var commandOrder = []string{"register", "list", "status", "validate", "delete", "subscribe", "replay",
	"xaa list", "xaa ensure", "xaa delete", "migrate"}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: register [flags] <command> [command flags] [args]")
	fmt.Fprintln(w, "commands:")
	for _, n := range commandOrder {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].usage)
	}
	fmt.Fprintln(w, "flags:")
	fs.PrintDefaults()
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg := newConfig()
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.bind(fs)
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	name, rest := fs.Arg(0), fs.Args()[min(1, fs.NArg()):]
	if name == "xaa" && len(rest) > 0 {
		name, rest = name+" "+rest[0], rest[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		fs.Usage()
		return 2
	}
	var o opts
	cfs := flag.NewFlagSet("register "+name, flag.ContinueOnError)
	cfs.SetOutput(stderr)
	cfg.bind(cfs)
	if cmd.flags != nil {
		cmd.flags(cfs, &o)
	}
	cfs.Usage = func() {
		fmt.Fprintf(stderr, "usage: register %s [flags]: %s\n", name, cmd.usage)
		cfs.PrintDefaults()
	}
	if err := cfs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest = cfs.Args()
	if cmd.args >= 0 && len(rest) > cmd.args {
		cfs.Usage()
		return 2
	}
	for _, s := range cfg.sets {
		if s.value == "" {
			s.value = getenv(s.env)
		}
	}
	if o.events != "" {
		for _, t := range strings.Split(o.events, ",") {
			if t = strings.TrimSpace(t); t != "" {
				o.eventTypes = append(o.eventTypes, t)
			}
		}
	}
	if missing := missingSettings(cfg, cmd, name, &o, rest); len(missing) > 0 {
		fmt.Fprintf(stderr, "register %s: missing %s\n", name, strings.Join(missing, ", "))
		return 2
	}
	client, err := webhooks.New(webhooks.Config{BearerToken: cfg.get("X_BEARER_TOKEN"),
		ConsumerKey: cfg.get("X_CONSUMER_KEY"), ConsumerSecret: cfg.get("X_CONSUMER_SECRET"),
		AccessToken: cfg.get("X_ACCESS_TOKEN"), AccessTokenSecret: cfg.get("X_ACCESS_TOKEN_SECRET"),
		BaseURL: cfg.get("X_API_BASE"), Timeout: cfg.timeout})
	if err != nil {
		fmt.Fprintln(stderr, "register:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := cmd.run(ctx, client, cfg, &o, rest, stdout); err != nil {
		fmt.Fprintf(stderr, "register %s: %v\n", name, err)
		return 1
	}
	return 0
}

// missingSettings names every required setting that is empty, by variable
// and flag, in one list.
func missingSettings(cfg *config, cmd command, name string, o *opts, rest []string) []string {
	var missing []string
	for _, n := range append([]string{"X_BEARER_TOKEN"}, cmd.needs...) {
		switch {
		case n == "id":
			if len(rest) == 0 && o.webhookID == "" && !o.stream && cfg.get("WEBHOOK_URL") == "" {
				missing = append(missing, "WEBHOOK_URL (-webhook-url) or a webhook id argument")
			}
		case strings.TrimSpace(cfg.get(n)) == "":
			missing = append(missing, n+" (-"+cfg.sets[n].flag+")")
		}
	}
	if name == "replay" && o.from == "" {
		missing = append(missing, "-from")
	}
	if name == "xaa delete" && (len(rest) == 0) == !o.allMoetron {
		missing = append(missing, "subscription ids or -all-moetron (not both)")
	}
	return missing
}

// webhookID is the id argument, else -webhook-id, else the webhook
// registered for WEBHOOK_URL.
func webhookID(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, args []string) (string, error) {
	switch {
	case len(args) == 1:
		return args[0], nil
	case o.webhookID != "":
		return o.webhookID, nil
	}
	w, err := c.Find(ctx, cfg.get("WEBHOOK_URL"))
	if err != nil {
		return "", err
	}
	if w == nil {
		return "", errors.New("no webhook is registered for WEBHOOK_URL; run register first")
	}
	return w.ID, nil
}

func table(out io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(out, 0, 4, 2, ' ', 0) }

func cmdRegister(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, _ []string, out io.Writer) error {
	w, err := c.Ensure(ctx, cfg.get("WEBHOOK_URL"))
	if err != nil {
		return err
	}
	rep, err := c.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: cfg.get("BOT_USER_ID"), WebhookID: w.ID,
		EventTypes: o.eventTypes, TagPrefix: o.tagPrefix})
	if err != nil {
		return err
	}
	if o.aaa {
		if err := c.EnsureSubscribed(ctx, w.ID); err != nil {
			return err
		}
	}
	tw := table(out)
	fmt.Fprintf(tw, "ID\tURL\tVALID\tXAA SUBSCRIPTIONS\tAAA\n%s\t%s\t%t\t%d\t%t\n", w.ID, w.URL, w.Valid, len(rep.Results), o.aaa)
	return tw.Flush()
}

func cmdList(ctx context.Context, c *webhooks.Client, _ *config, _ *opts, _ []string, out io.Writer) error {
	hooks, err := c.List(ctx)
	if err != nil {
		return err
	}
	tw := table(out)
	fmt.Fprintln(tw, "ID\tURL\tVALID\tCREATED")
	for _, w := range hooks {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", w.ID, w.URL, w.Valid, w.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func cmdStatus(ctx context.Context, c *webhooks.Client, _ *config, _ *opts, _ []string, out io.Writer) error {
	states, err := c.Inspect(ctx)
	if err != nil {
		return err
	}
	tw := table(out)
	fmt.Fprintln(tw, "ID\tURL\tVALID\tBOT SUBSCRIBED\tSUBSCRIBERS")
	for _, s := range states {
		bot := "unknown (no OAuth credentials)"
		if s.BotSubscribed != nil {
			bot = fmt.Sprint(*s.BotSubscribed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", s.ID, s.URL, s.Valid, bot, strings.Join(s.Subscribers, ","))
	}
	return tw.Flush()
}

// idAction runs a webhook call that takes only the id.
func idAction(pick func(*webhooks.Client) func(context.Context, string) error) func(context.Context, *webhooks.Client, *config, *opts, []string, io.Writer) error {
	return func(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, args []string, out io.Writer) error {
		id, err := webhookID(ctx, c, cfg, o, args)
		if err != nil {
			return err
		}
		if err := pick(c)(ctx, id); err != nil {
			return err
		}
		tw := table(out)
		fmt.Fprintf(tw, "ID\tRESULT\n%s\tok\n", id)
		return tw.Flush()
	}
}

func cmdReplay(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, args []string, out io.Writer) error {
	now := time.Now()
	f, err := parseTime(o.from, now)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	t, err := parseTime(o.to, now)
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	id, err := webhookID(ctx, c, cfg, o, args)
	if err != nil {
		return err
	}
	job, err := c.Replay(ctx, id, f, t)
	if err != nil {
		return err
	}
	const minute = "2006-01-02T15:04Z"
	tw := table(out)
	fmt.Fprintf(tw, "ID\tJOB\tFROM\tTO\n%s\t%s\t%s\t%s\n", id, job.JobID, f.UTC().Format(minute), t.UTC().Format(minute))
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdXAAList(ctx context.Context, c *webhooks.Client, _ *config, _ *opts, _ []string, out io.Writer) error {
	subs, err := c.AllActivitySubscriptions(ctx)
	if err != nil {
		return err
	}
	tw := table(out)
	fmt.Fprintln(tw, "ID\tEVENT TYPE\tUSER\tWEBHOOK\tTAG")
	for _, s := range subs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.EventType, orDash(s.Filter.UserID), orDash(s.WebhookID), orDash(s.Tag))
	}
	return tw.Flush()
}

func printActivity(out io.Writer, results []webhooks.ActivityResult) error {
	tw := table(out)
	fmt.Fprintln(tw, "EVENT TYPE\tACTION\tID\tWEBHOOK\tTAG")
	for _, r := range results {
		s := r.Subscription
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.EventType, strings.ReplaceAll(string(r.Action), " ", "-"),
			orDash(s.ID), orDash(s.WebhookID), orDash(s.Tag))
	}
	return tw.Flush()
}

func cmdXAAEnsure(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, args []string, out io.Writer) error {
	hook := ""
	if !o.stream {
		var err error
		if hook, err = webhookID(ctx, c, cfg, o, args); err != nil {
			return err
		}
	}
	rep, err := c.EnsureActivity(ctx, webhooks.ActivityOptions{UserID: cfg.get("BOT_USER_ID"), WebhookID: hook,
		EventTypes: o.eventTypes, TagPrefix: o.tagPrefix, DryRun: o.dryRun})
	if rep != nil {
		if perr := printActivity(out, rep.Results); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func cmdXAADelete(ctx context.Context, c *webhooks.Client, _ *config, o *opts, args []string, out io.Writer) error {
	var r *webhooks.ActivityBulkDelete
	var err error
	if o.allMoetron {
		r, err = c.DeleteOwnActivity(ctx, o.tagPrefix)
	} else {
		r = &webhooks.ActivityBulkDelete{}
		for len(args) > 0 && err == nil {
			n := min(len(args), webhooks.MaxBulkDelete)
			var part *webhooks.ActivityBulkDelete
			if part, err = c.DeleteActivitySubscriptions(ctx, args[:n]); err == nil {
				r.Deleted = append(r.Deleted, part.Deleted...)
				r.Failed = append(r.Failed, part.Failed...)
			}
			args = args[n:]
		}
	}
	if r != nil {
		tw := table(out)
		fmt.Fprintln(tw, "ID\tRESULT")
		for _, id := range r.Deleted {
			fmt.Fprintf(tw, "%s\tdeleted\n", id)
		}
		for _, f := range r.Failed {
			fmt.Fprintf(tw, "%s\tfailed: %s %s\n", f.SubscriptionID, f.Reason, f.Message)
		}
		if ferr := tw.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		if err == nil && len(r.Failed) > 0 {
			err = fmt.Errorf("%d of %d not deleted", len(r.Failed), len(r.Failed)+len(r.Deleted))
		}
	}
	return err
}

func cmdMigrate(ctx context.Context, c *webhooks.Client, cfg *config, o *opts, args []string, out io.Writer) error {
	id, err := webhookID(ctx, c, cfg, o, args)
	if err != nil {
		return err
	}
	rep, err := c.MigrateToActivity(ctx, webhooks.MigrateOptions{WebhookID: id, UserID: cfg.get("BOT_USER_ID"),
		EventTypes: o.eventTypes, TagPrefix: o.tagPrefix, DryRun: o.dryRun, DropAAA: o.dropAAA})
	if rep == nil {
		return err
	}
	mode := "migrate"
	if o.dryRun {
		mode = "dry run: nothing written"
	}
	fmt.Fprintf(out, "%s; webhook %s; bot AAA-subscribed: %t\n", mode, id, rep.AAASubscribed)
	if len(rep.AAAOthers) > 0 {
		fmt.Fprintf(out, "not migrated (each needs its own user token): AAA users %s\n", strings.Join(rep.AAAOthers, ","))
	}
	if rep.Activity != nil {
		if perr := printActivity(out, rep.Activity.Results); perr != nil && err == nil {
			err = perr
		}
	}
	switch {
	case o.dryRun && o.dropAAA && rep.AAASubscribed:
		fmt.Fprintln(out, "would remove the bot's AAA subscription once XAA is verified")
	case o.dryRun:
	case rep.Verified:
		fmt.Fprintln(out, "verified: X lists every XAA subscription")
	default:
		fmt.Fprintf(out, "NOT verified: missing %s\n", strings.Join(rep.Missing, ", "))
	}
	switch {
	case rep.AAADropped:
		fmt.Fprintln(out, "AAA subscription removed")
	case !o.dryRun && rep.AAASubscribed && err == nil:
		fmt.Fprintln(out, "AAA subscription kept (both deliver until you run migrate -drop-aaa; AAA ends "+webhooks.AAAEndOfLife+")")
	}
	return err
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
