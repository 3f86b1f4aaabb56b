package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
)

// EnqueueBatch stores its messages in one commit, in order, and answers
// repeated dedup keys (earlier, or earlier in the batch) with the first
// message's id.
func TestEnqueueBatch(t *testing.T) {
	ctx := context.Background()
	s, q := openTest(t, nil)
	first, err := q.Enqueue(ctx, []byte("old"), &queue.EnqueueOptions{DedupKey: "tweet:1"})
	require.NoError(t, err)
	commits := s.w.commits.Load()

	var bodies [][]byte
	var opts []queue.EnqueueOptions
	for i := range 150 { // more than one multi-row INSERT
		bodies = append(bodies, fmt.Appendf(nil, "job-%d", i))
		opts = append(opts, queue.EnqueueOptions{DedupKey: "tweet:" + strconv.Itoa(i+2)})
	}
	bodies = append(bodies, []byte("again"), []byte("repeat in batch"), []byte("no key"))
	opts = append(opts, queue.EnqueueOptions{DedupKey: "tweet:1"}, queue.EnqueueOptions{DedupKey: "tweet:2"}, queue.EnqueueOptions{})
	msgs, err := q.EnqueueBatch(ctx, bodies, opts)
	require.NoError(t, err)
	assert.Equal(t, commits+1, s.w.commits.Load(), "one commit for the batch")
	require.Len(t, msgs, len(bodies))
	assert.True(t, msgs[150].Duplicate)
	assert.Equal(t, first.ID, msgs[150].ID)
	assert.True(t, msgs[151].Duplicate)
	assert.Equal(t, msgs[0].ID, msgs[151].ID)
	assert.False(t, msgs[152].Duplicate)
	for i := 1; i < 150; i++ {
		a, _ := strconv.Atoi(msgs[i-1].ID)
		b, _ := strconv.Atoi(msgs[i].ID)
		assert.Less(t, a, b, "ids follow the order of the bodies")
		assert.NotEmpty(t, msgs[i].Receipt)
	}
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1+150+1, n)

	got, err := q.Receive(ctx, queue.MaxReceive, time.Minute)
	require.NoError(t, err)
	for _, m := range got {
		if m.ID == msgs[0].ID {
			assert.Equal(t, "job-0", string(m.Body))
		}
	}
}

// A bad message refuses the whole batch before anything is stored; a
// write failure rolls the whole batch back.
func TestEnqueueBatchAllOrNone(t *testing.T) {
	ctx := context.Background()
	s, q := openTest(t, nil)
	_, err := q.EnqueueBatch(ctx, [][]byte{[]byte("ok"), make([]byte, queue.MaxBodySize+1)}, nil)
	require.ErrorIs(t, err, queue.ErrTooLarge)
	_, err = q.EnqueueBatch(ctx, [][]byte{[]byte("a")}, []queue.EnqueueOptions{{}, {}})
	require.ErrorIs(t, err, queue.ErrInvalidArgument)
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	// Cap the file so that the batch cannot fit.
	require.NoError(t, s.w.do(ctx, func(st *statements) error {
		var pages int64
		if err := s.w.conn.QueryRowContext(st.ctx, "PRAGMA page_count").Scan(&pages); err != nil {
			return err
		}
		_, err := s.w.conn.ExecContext(st.ctx, "PRAGMA max_page_count = "+strconv.FormatInt(pages+4, 10))
		return err
	}))
	big := []byte(strings.Repeat("b", queue.MaxBodySize))
	bodies := [][]byte{[]byte("small"), big, big, big, big}
	_, err = q.EnqueueBatch(ctx, bodies, nil)
	require.ErrorIs(t, err, ErrFull)
	n, err = q.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing of a failed batch is stored")

	missing, err := s.Queue("missing")
	require.NoError(t, err)
	_, err = missing.EnqueueBatch(ctx, [][]byte{[]byte("x")}, nil)
	require.ErrorIs(t, err, queue.ErrQueueNotFound)
}

// Batches and single Enqueues in one group commit each get their answer.
func TestEnqueueBatchAmongOtherWrites(t *testing.T) {
	ctx := context.Background()
	_, q := openTest(t, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				key := fmt.Sprintf("k-%d-%d", g, i)
				if i%2 == 0 {
					_, err := q.Enqueue(ctx, []byte(key), &queue.EnqueueOptions{DedupKey: key})
					assert.NoError(t, err)
					continue
				}
				ms, err := q.EnqueueBatch(ctx, [][]byte{[]byte(key), []byte(key + "b")},
					[]queue.EnqueueOptions{{DedupKey: key}, {DedupKey: key + "b"}})
				if assert.NoError(t, err) {
					assert.Len(t, ms, 2)
				}
			}
		})
	}
	wg.Wait()
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 8*(10+20), n)
}

// BenchmarkEnqueueBatch stores job-sized messages with dedup keys in
// batches of 64 (what the intake's journal mover hands over under load)
// against one Enqueue per message in one group commit: ns/op is per
// message.
func BenchmarkEnqueueBatch(b *testing.B) {
	body := []byte(`{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@moebot moerand please, a long enough text for a real mention",` +
		`"user_id":"1247048165561270272","id":"tweet:1332557345071644672","command":"rand","args":"please","for_user_id":"1114259648326987776",` +
		`"screen_name":"alice","received_at":"2026-11-26T17:00:00Z"}`)
	for _, batch := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, err := Open(b.TempDir()+"/q.db", nil)
			require.NoError(b, err)
			defer s.Close()
			q, err := s.Queue("jobs")
			require.NoError(b, err)
			require.NoError(b, q.Create(context.Background()))
			ctx := context.Background()
			n := 0
			b.ResetTimer()
			for n < b.N {
				k := min(batch, b.N-n)
				bodies := make([][]byte, k)
				opts := make([]queue.EnqueueOptions, k)
				for i := range k {
					bodies[i] = body
					opts[i].DedupKey = "tweet:" + strconv.Itoa(n+i)
				}
				if _, err := q.EnqueueBatch(ctx, bodies, opts); err != nil {
					b.Fatal(err)
				}
				n += k
			}
		})
	}
}
