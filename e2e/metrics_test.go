package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// metrics is one scrape of a Prometheus text endpoint: every sample by its
// name and label set as printed, e.g. `moetron_webhook_requests_total{outcome="ok"}`.
type metrics map[string]float64

// scrape fetches and parses url (http://host/metrics), failing t on error.
func scrape(t testing.TB, url string) metrics {
	t.Helper()
	m, err := tryScrape(url)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tryScrape fetches and parses url.
func tryScrape(url string) (metrics, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	m, err := parseMetrics(bufio.NewScanner(resp.Body))
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return m, nil
}

// parseMetrics reads the Prometheus text exposition format (comments
// skipped, optional timestamps ignored).
func parseMetrics(sc *bufio.Scanner) (metrics, error) {
	m := metrics{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the series name and its labels, if any.
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("bad sample %q", line)
			}
			name, rest, ok = line[:j+1], line[j+1:], true
		}
		fields := strings.Fields(rest)
		if !ok || len(fields) == 0 {
			return nil, fmt.Errorf("bad sample %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bad value in %q: %v", line, err)
		}
		m[name] = v
	}
	return m, sc.Err()
}

// sum adds the samples of the metric called name whose labels include
// every `key="value"` in labels.
func (m metrics) sum(name string, labels ...string) float64 {
	var total float64
	for k, v := range m {
		base, lbl, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(lbl, l) {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// has reports whether any sample of the metric called name exists.
func (m metrics) has(name string) bool {
	for k := range m {
		if base, _, _ := strings.Cut(k, "{"); base == name {
			return true
		}
	}
	return false
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP x_total things
# TYPE x_total counter
x_total{outcome="ok",kind="a"} 3
x_total{outcome="bad_signature"} 2 1700000000000
x_total{outcome="ok",kind="b"} 4
plain 1.5e+00
h_bucket{le="+Inf"} 7
`
	m, err := parseMetrics(bufio.NewScanner(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"x_total", nil, 9},
		{"x_total", []string{`outcome="ok"`}, 7},
		{"x_total", []string{`outcome="ok"`, `kind="b"`}, 4},
		{"x_total", []string{`outcome="bad_signature"`}, 2},
		{"plain", nil, 1.5},
		{"h_bucket", []string{`le="+Inf"`}, 7},
		{"missing", nil, 0},
	} {
		if got := m.sum(c.name, c.labels...); got != c.want {
			t.Errorf("sum(%s, %v) = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if !m.has("plain") || m.has("x") {
		t.Errorf("has: plain=%v x=%v, want true false", m.has("plain"), m.has("x"))
	}
	if _, err := parseMetrics(bufio.NewScanner(strings.NewReader("x_total{a=\"b\"} notanumber\n"))); err == nil {
		t.Error("a bad value parsed without error")
	}
}
