package queueadmin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
)

// Usage is the command line's help.
const Usage = `usage: queuetool [queue flags] COMMAND
  len                        jobs and poison messages waiting
  peek [-n N]                the first N jobs (default 10); each one's dequeue count rises by one
  poison list                every poison message with its reason and error
  poison requeue ID | -all   put poisoned jobs back on the job queue
  purge -yes                 delete every waiting job (not the poison queue)
The queue comes from QUEUE_BACKEND, QUEUE_NAME, QUEUE_PATH and
AZURE_STORAGE_CONNECTION_STRING, as for the webhook and the worker, or from
the flags of the same names (-queue-backend, ...).
`

// ErrUsage is returned for a command line that does not parse.
var ErrUsage = errors.New("queuetool: bad command line")

// Run runs the queue tool's command line args (without the program name)
// with the environment getenv, writing to out.
func Run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	env := queueopen.FromLookup(getenv)
	fs := flag.NewFlagSet("queuetool", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, Usage); fs.PrintDefaults() }
	env.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	args = fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return ErrUsage
	}
	o, err := queueopen.Open(ctx, env, nil)
	if err != nil {
		return err
	}
	defer o.Close()
	poison, err := o.PoisonFactory(o.Queue.Name() + queue.PoisonSuffix)
	if err != nil {
		return err
	}
	if err := poison.Create(ctx); err != nil {
		return fmt.Errorf("queuetool: poison queue: %w", err)
	}
	a := &Admin{Queue: o.Queue, Poison: poison}
	switch strings.Join(args[:min(2, len(args))], " ") {
	case "poison list":
		ps, err := a.PoisonList(ctx)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPOISONED\tREASON\tTRIES\tERROR\tJOB")
		for _, p := range ps {
			r := p.Record
			when := "-"
			if !r.PoisonedAt.IsZero() {
				when = r.PoisonedAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.ID, when, orDash(r.Reason), r.DequeueCount,
				orDash(oneLine(r.Error, 200)), oneLine(r.Body, 120))
		}
		tw.Flush()
		return err
	case "poison requeue":
		if len(args) != 3 {
			fmt.Fprint(out, Usage)
			return ErrUsage
		}
		id := args[2]
		if id == "-all" {
			id = ""
		}
		ids, err := a.Requeue(ctx, id)
		for _, id := range ids {
			fmt.Fprintf(out, "requeued %s\n", id)
		}
		if err == nil && len(ids) == 0 {
			fmt.Fprintln(out, "the poison queue is empty")
		}
		return err
	}
	switch args[0] {
	case "len":
		n, err := a.Queue.Len(ctx)
		if err != nil {
			return err
		}
		p, err := a.Poison.Len(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\t%d\n%s\t%d\n", a.Queue.Name(), n, a.Poison.Name(), p)
		return nil
	case "peek":
		pfs := flag.NewFlagSet("peek", flag.ContinueOnError)
		pfs.SetOutput(out)
		n := pfs.Int("n", 10, "how many jobs")
		if err := pfs.Parse(args[1:]); err != nil || *n < 1 {
			return ErrUsage
		}
		ms, err := a.Peek(ctx, *n)
		for _, m := range ms {
			fmt.Fprintf(out, "%s\ttries=%d\tinserted=%s\t%s\n", m.ID, m.DequeueCount,
				m.InsertedAt.UTC().Format("2006-01-02T15:04:05Z"), oneLine(string(m.Body), 300))
		}
		return err
	case "purge":
		if len(args) != 2 || args[1] != "-yes" {
			fmt.Fprintln(out, "purge deletes every waiting job; run it again as: purge -yes")
			return ErrUsage
		}
		n, err := Purge(ctx, a.Queue)
		fmt.Fprintf(out, "purged %d jobs from %s\n", n, a.Queue.Name())
		return err
	}
	fmt.Fprint(out, Usage)
	return ErrUsage
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine quotes s when it holds control characters, and cuts it to n
// bytes.
func oneLine(s string, n int) string {
	if strings.ContainsAny(s, "\t\r\n") {
		s = strconv.Quote(s)
	}
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
