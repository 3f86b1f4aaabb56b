package imagegen

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm on this system")
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// packageGoroutines counts goroutines running this package's code, other
// than the test's own and TestMain's.
func packageGoroutines() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, gr := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(gr, "moetron/imagegen.") && !strings.Contains(gr, "imagegen.TestNoLeaks") && !strings.Contains(gr, "imagegen.TestMain") {
			n++
		}
	}
	return n
}

// TestNoLeaks runs 1,000 Generate calls (from 4 goroutines, so batches
// form) and checks that no goroutine, no ONNX Runtime value and no
// measurable memory is left behind. Each call's output is 64x64x3 float32
// (48 KiB): leaking them would add about 48 MiB, far above the tolerance.
func TestNoLeaks(t *testing.T) {
	needRuntime(t)
	before := runtime.NumGoroutine()
	require.Zero(t, packageGoroutines(), "goroutines left by earlier tests")
	g, err := New(Config{Model: testModel{h: 64, w: 64, zdim: 8}.build(t), IntraOpThreads: 1, MaxBatch: 4, EncodeWorkers: 2})
	require.NoError(t, err)

	work := func(n int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n / 4 {
					_, err := g.Generate(context.Background(), Request{Seed: uint32(w*n + i), Psi: 0.7})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	work(200) // warm up: arenas, pools, ORT's allocator
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := rssBytes(t)
	work(1000)
	runtime.GC()
	debug.FreeOSMemory()
	rss1 := rssBytes(t)
	assert.Equal(t, uint64(1200), g.Stats().Images)
	assert.Zero(t, liveTensors.Load(), "ONNX Runtime values left undestroyed")
	t.Logf("RSS %d -> %d bytes", rss0, rss1)
	assert.Less(t, rss1-rss0, int64(16<<20), "RSS grew from %d to %d bytes over 1,000 calls", rss0, rss1)

	if !assert.Equal(t, 1, packageGoroutines(), "the batching loop runs while the generator is open") {
		buf := make([]byte, 1<<20)
		t.Logf("%s", buf[:runtime.Stack(buf, true)])
	}
	require.NoError(t, g.Close())
	assert.Zero(t, liveTensors.Load())
	require.Eventually(t, func() bool { return packageGoroutines() == 0 }, 5*time.Second, 5*time.Millisecond,
		"goroutines of this package still running after Close")
	assert.LessOrEqual(t, runtime.NumGoroutine(), before+2, "goroutine count (some runtime goroutines start lazily)")
}
