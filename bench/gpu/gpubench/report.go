package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Row is one throughput figure of the final table.
type Row struct {
	What      string  `json:"what"` // "torch tf32", "torch half", "raw fp32", "imagegen fp16", ...
	Batch     int     `json:"batch"`
	Dynamic   bool    `json:"dynamic,omitempty"` // dynamic batching under many callers
	IPS       float64 `json:"ips"`
	MeanBatch float64 `json:"mean_batch,omitempty"`
}

// TorchResult is what torch_bench.py writes.
type TorchResult struct {
	Device string `json:"device"`
	Torch  string `json:"torch"`
	GPU    string `json:"gpu"`
	Rows   []Row  `json:"rows"`
	Ref    string `json:"ref"`   // raw float32 NCHW images for seeds 0..RefN-1
	RefN   int    `json:"ref_n"` // images in Ref
	Res    int    `json:"res"`
	Skip   string `json:"skip"` // why half rows are missing, if they are
}

func readTorch(path string) (*TorchResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t TorchResult
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// find returns the row of what at batch (not dynamic), or nil.
func find(rows []Row, what string, batch int) *Row {
	for i := range rows {
		if rows[i].What == what && rows[i].Batch == batch && !rows[i].Dynamic {
			return &rows[i]
		}
	}
	return nil
}

// best returns the highest throughput among rows whose What has prefix.
func best(rows []Row, prefix string) (Row, bool) {
	var b Row
	ok := false
	for _, r := range rows {
		if strings.HasPrefix(r.What, prefix) && r.IPS > b.IPS {
			b, ok = r, true
		}
	}
	return b, ok
}

func ratio(a float64, b *Row) string {
	if b == nil || b.IPS == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b.IPS)
}

// PrintTable writes the throughput table: each row with its ratio to
// PyTorch TF32 and half at the same batch (the best PyTorch figure for the
// dynamic rows), and for imagegen rows the fraction of raw session
// throughput at the same batch and precision.
func PrintTable(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "%-24s %6s %9s %10s %10s %8s %6s\n", "what", "batch", "img/s", "/torch32", "/torch16", "e2e/raw", "meanB")
	for _, r := range rows {
		t32, t16 := find(rows, "torch tf32", r.Batch), find(rows, "torch half", r.Batch)
		if r.Dynamic {
			if b, ok := best(rows, "torch tf32"); ok {
				t32 = &b
			}
			if b, ok := best(rows, "torch half"); ok {
				t16 = &b
			}
		}
		e2e := "-"
		if prec, ok := strings.CutPrefix(r.What, "imagegen "); ok && !r.Dynamic {
			e2e = ratio(r.IPS, find(rows, "raw "+prec, r.Batch))
		}
		batch := fmt.Sprint(r.Batch)
		if r.Dynamic {
			batch = fmt.Sprintf("dyn%d", r.Batch)
		}
		mb := "-"
		if r.MeanBatch > 0 {
			mb = fmt.Sprintf("%.1f", r.MeanBatch)
		}
		fmt.Fprintf(w, "%-24s %6s %9.1f %10s %10s %8s %6s\n", r.What, batch, r.IPS, ratio(r.IPS, t32), ratio(r.IPS, t16), e2e, mb)
	}
}

// Target is one performance goal and whether this run met it.
type Target struct {
	Name  string
	Value string
	Met   bool
	Known bool // false when the run lacks a figure it needs
}

// Targets checks the goals: best raw throughput >= 1.5x PyTorch
// TF32 and >= 1.3x PyTorch half (best against best), every imagegen row >=
// 85% of raw at the same batch and precision, batch-1 p50 <= 5 ms.
func Targets(rows []Row, p50 float64) []Target {
	var out []Target
	raw, okRaw := best(rows, "raw ")
	for _, c := range []struct {
		what string
		min  float64
	}{{"torch tf32", 1.5}, {"torch half", 1.3}} {
		t, ok := best(rows, c.what)
		tg := Target{Name: fmt.Sprintf("best raw >= %.1fx best %s", c.min, c.what), Known: ok && okRaw}
		if tg.Known {
			x := raw.IPS / t.IPS
			tg.Value = fmt.Sprintf("%.2fx (%s b%d %.1f vs b%d %.1f img/s)", x, raw.What, raw.Batch, raw.IPS, t.Batch, t.IPS)
			tg.Met = x >= c.min
		}
		out = append(out, tg)
	}
	worst, known := math.Inf(1), false
	where := ""
	for _, r := range rows {
		prec, ok := strings.CutPrefix(r.What, "imagegen ")
		if !ok || r.Dynamic {
			continue
		}
		if b := find(rows, "raw "+prec, r.Batch); b != nil && b.IPS > 0 {
			known = true
			if x := r.IPS / b.IPS; x < worst {
				worst, where = x, fmt.Sprintf("%s b%d", prec, r.Batch)
			}
		}
	}
	tg := Target{Name: "imagegen >= 0.85x raw (worst row)", Known: known}
	if known {
		tg.Value, tg.Met = fmt.Sprintf("%.2fx (%s)", worst, where), worst >= 0.85
	}
	out = append(out, tg)
	out = append(out, Target{Name: "batch-1 p50 <= 5 ms (GenerateRGBA)", Value: fmt.Sprintf("%.2f ms", p50), Met: p50 <= 5, Known: p50 > 0})
	return out
}

func (t Target) Verdict() string {
	switch {
	case !t.Known:
		return "n/a"
	case t.Met:
		return "MET"
	}
	return "MISSED"
}
