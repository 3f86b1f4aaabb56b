package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters reads the counter family name from reg, keyed by the value of
// label ("" for an unlabelled counter).
func counters(reg *prometheus.Registry, name, label string) map[string]float64 {
	out := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					key = lp.GetValue()
				}
			}
			out[key] += m.GetCounter().GetValue()
		}
	}
	return out
}

// diff names the keys whose count grew from before to after, sorted and
// joined with "+".
func diff(before, after map[string]float64) string {
	var grew []string
	for k, v := range after {
		if v > before[k] {
			grew = append(grew, k)
		}
	}
	slices.Sort(grew)
	return strings.Join(grew, "+")
}

// summary picks the counters worth showing after a run.
func summary(reg *prometheus.Registry) map[string]float64 {
	out := map[string]float64{}
	for k, v := range counters(reg, "moetron_webhook_requests_total", "outcome") {
		out["webhook requests "+k] = v
	}
	for k, v := range counters(reg, "moetron_webhook_jobs_enqueued_total", "where") {
		out["jobs enqueued ("+k+")"] = v
	}
	out["signature failures"] = counters(reg, "moetron_webhook_signature_failures_total", "")[""]
	out["stream events taken"] = counters(reg, "moetron_stream_events_taken_total", "")[""]
	out["stream reconnects"] = counters(reg, "moetron_stream_reconnects_total", "")[""]
	for k, v := range counters(reg, "moetron_worker_jobs_total", "outcome") {
		if v > 0 {
			out["worker jobs "+k] = v
		}
	}
	return out
}

// WriteTable prints the result: one row per event, then the problems (if
// any), the counters and the timings.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tEVENT\tVIA\tDECISION\tCOMMAND\tSEED\tREPLY\tIMAGE")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for i, row := range r.Rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, row.Event, dash(row.Via), dash(row.Decision), dash(row.Command),
			dash(row.Seed), dash(row.Reply), dash(row.Image))
	}
	tw.Flush()
	if len(r.Metrics) > 0 {
		keys := make([]string, 0, len(r.Metrics))
		for k := range r.Metrics {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%g", k, r.Metrics[k])
		}
		fmt.Fprintf(w, "\nmetrics: %s\n", strings.Join(parts, ", "))
	}
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Fprintf(w, "timings: start-up %s, registration %s, deliveries %s, replies %s (after the first delivery), total %s; device %s\n",
		ms(r.Timings.Startup), ms(r.Timings.Register), ms(r.Timings.Deliver), ms(r.Timings.Replies), ms(r.Timings.Total), r.Device)
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\nPROBLEMS (%d):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
}
