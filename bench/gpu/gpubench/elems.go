package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// readElems reads maxelems.py's result: the largest per-image intermediate
// tensor of the model and the largest batch that keeps it under 2^31
// elements.
func readElems(path string) (int, int, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, "", err
	}
	var e struct {
		MaxPerImage int64  `json:"max_per_image"`
		Tensor      string `json:"tensor"`
		Shape       string `json:"shape"`
		SafeBatch   int    `json:"safe_batch"`
		Unknown     int    `json:"unknown"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return 0, 0, "", fmt.Errorf("%s: %w", path, err)
	}
	if e.SafeBatch < 1 {
		return 0, 0, "", fmt.Errorf("%s: no safe batch", path)
	}
	return e.SafeBatch, e.Unknown, fmt.Sprintf("largest intermediate %s %s = %d per image; %d tensors of unknown shape", e.Tensor, e.Shape, e.MaxPerImage, e.Unknown), nil
}
