package ledgertable_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/worker/ledgertable"
	"github.com/moetron/moetron/worker/ledgertest"
)

// conn is the connection string of the Azurite that make test (or
// `bash scripts/azurite.sh run -- go test ./worker/ledgertable`) starts,
// with its table service.
func conn(t testing.TB) string {
	t.Helper()
	cs := os.Getenv("MOETRON_AZURITE")
	if cs == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MOETRON_AZURITE is not set: run the tests with `make test`, which starts Azurite")
		}
		t.Skip("MOETRON_AZURITE not set (make test starts Azurite and sets it)")
	}
	if !strings.Contains(cs, "TableEndpoint=") {
		t.Skip("MOETRON_AZURITE has no TableEndpoint (an older scripts/azurite.sh started it)")
	}
	return cs
}

var tableSeq atomic.Int64

// tableName is a fresh table, so that tests sharing an Azurite never meet.
func tableName() string {
	return fmt.Sprintf("lt%d%dx%d", os.Getpid(), time.Now().UnixNano()%1_000_000, tableSeq.Add(1))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, table string, o *ledgertable.Options) *ledgertable.Ledger {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := ledgertable.Open(ctx, conn(t), table, o)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// client is a raw client of the table, for the tests' own reads and writes.
func client(t *testing.T, table string) *aztables.Client {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(conn(t), nil)
	require.NoError(t, err)
	return svc.NewClient(table)
}

// The shared suite, with owners on one table (workers of several
// machines).
func TestConformance(t *testing.T) {
	conn(t) // skips without Azurite
	ledgertest.Run(t, func(t *testing.T, n int) []worker.Ledger {
		table := tableName()
		ls := make([]worker.Ledger, n)
		for i := range ls {
			ls[i] = open(t, table, nil)
		}
		return ls
	})
}

// What a restart (or another machine) must see: answered jobs, and claims
// that a killed process never finished, live until they go stale.
func TestSurvivesRestart(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	clk := &clock{t: time.Now()}
	opts := &ledgertable.Options{Heartbeat: time.Hour, Now: clk.now}
	l, err := ledgertable.Open(ctx, conn(t), table, opts)
	require.NoError(t, err)
	_, err = l.Claim(ctx, "tweet:1")
	require.NoError(t, err)
	require.NoError(t, l.Done(ctx, "tweet:1", "11"))
	_, err = l.Claim(ctx, "tweet:2") // the process dies holding this one
	require.NoError(t, err)
	require.NoError(t, l.Close())

	l2 := open(t, table, opts)
	assert.NotEqual(t, l.Owner(), l2.Owner())
	c, err := l2.Claim(ctx, "tweet:1")
	require.NoError(t, err)
	assert.Equal(t, "11", c.Done)
	_, err = l2.Claim(ctx, "tweet:2")
	require.ErrorIs(t, err, worker.ErrClaimed, "a fresh claim of another owner is live")
	clk.add(4*time.Hour + time.Second)
	c, err = l2.Claim(ctx, "tweet:2")
	require.NoError(t, err)
	assert.True(t, c.Unfinished, "a stale claim reads back")
	_, err = l2.Claim(ctx, "tweet:2")
	require.ErrorIs(t, err, worker.ErrClaimed, "taken over: held by l2 now")
}

// Two owners taking over the same stale claims at once: the ETag lets one
// of them win each job.
func TestOneTakeoverAcrossOwners(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	clk := &clock{t: time.Now()}
	opts := &ledgertable.Options{Heartbeat: time.Hour, Now: clk.now}
	dead := open(t, table, opts)
	const n = 20
	for i := range n {
		_, err := dead.Claim(ctx, fmt.Sprintf("tweet:%d", i))
		require.NoError(t, err)
	}
	require.NoError(t, dead.Close())
	clk.add(5 * time.Hour) // every claim is stale
	a, b := open(t, table, opts), open(t, table, opts)
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		for _, l := range []*ledgertable.Ledger{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := l.Claim(ctx, fmt.Sprintf("tweet:%d", i))
				if err == nil {
					assert.True(t, c.Unfinished)
					wins.Add(1)
				} else {
					assert.ErrorIs(t, err, worker.ErrClaimed)
				}
			}()
		}
	}
	wg.Wait()
	assert.Equal(t, int64(n), wins.Load())
}

// The heartbeat keeps a long job's claim live for other owners; once its
// owner stops beating, the job is taken over as unfinished.
func TestHeartbeatKeepsClaimLive(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	a := open(t, table, &ledgertable.Options{Heartbeat: 100 * time.Millisecond})
	b := open(t, table, &ledgertable.Options{Heartbeat: 100 * time.Millisecond})
	_, err := a.Claim(ctx, "tweet:9")
	require.NoError(t, err)
	time.Sleep(1200 * time.Millisecond) // 12 heartbeats, 3 stale periods
	_, err = b.Claim(ctx, "tweet:9")
	require.ErrorIs(t, err, worker.ErrClaimed)
	// The renewals kept a's claim its own: it still releases it.
	require.NoError(t, a.Release(ctx, "tweet:9", false))
	c, err := b.Claim(ctx, "tweet:9")
	require.NoError(t, err)
	assert.False(t, c.Unfinished, "a's certain release deleted the entity")

	require.NoError(t, b.Close()) // the owner stops beating
	require.Eventually(t, func() bool {
		c, err := a.Claim(ctx, "tweet:9")
		return err == nil && c.Unfinished
	}, 10*time.Second, 50*time.Millisecond)
}

// A claim that was taken over is not the old owner's any more: its late
// release leaves the new claim alone, and its answer still counts.
func TestLateReleaseOfTakenOverClaim(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	clk := &clock{t: time.Now()}
	opts := &ledgertable.Options{Heartbeat: time.Hour, Now: clk.now}
	a, b := open(t, table, opts), open(t, table, opts)
	_, err := a.Claim(ctx, "dm:5")
	require.NoError(t, err)
	clk.add(5 * time.Hour) // stale: 4 heartbeats
	c, err := b.Claim(ctx, "dm:5")
	require.NoError(t, err)
	require.True(t, c.Unfinished)
	require.NoError(t, a.Release(ctx, "dm:5", false)) // a thinks it failed cleanly
	_, err = a.Claim(ctx, "dm:5")
	require.ErrorIs(t, err, worker.ErrClaimed, "b's claim is still there")
	require.NoError(t, b.Done(ctx, "dm:5", "55"))
	c, err = a.Claim(ctx, "dm:5")
	require.NoError(t, err)
	assert.Equal(t, "55", c.Done)
}

// Job ids with characters the table refuses in keys still work, each its
// own entity.
func TestOddJobIDs(t *testing.T) {
	ctx := ctx(t)
	l := open(t, tableName(), nil)
	ids := []string{"tweet:1/2", `dm:a\b`, "dm:#?", "dm:it's", "dm:~7e", "dm:\x01\u0085", "dm:100%", strings.Repeat("x", 2000), strings.Repeat("x", 2001)}
	for i, id := range ids {
		_, err := l.Claim(ctx, id)
		require.NoError(t, err, "%q", id)
		require.NoError(t, l.Done(ctx, id, fmt.Sprint(i)))
	}
	for i, id := range ids {
		c, err := l.Claim(ctx, id)
		require.NoError(t, err, "%q", id)
		assert.Equal(t, fmt.Sprint(i), c.Done, "%q", id)
	}
	_, err := l.Claim(ctx, "")
	assert.Error(t, err)
}

func TestRowKey(t *testing.T) {
	assert.Equal(t, "tweet:123", ledgertable.RowKey("tweet:123"))
	assert.Equal(t, "a~2fb~5cc~23~3f~27~7e~25", ledgertable.RowKey(`a/b\c#?'~%`))
	long := ledgertable.RowKey(strings.Repeat("/", 200))
	assert.True(t, strings.HasPrefix(long, "~h") && len(long) == 66, long)
	assert.Len(t, ledgertable.PartitionKey("tweet:1"), 2)
}

func TestDefaultTableName(t *testing.T) {
	assert.Equal(t, "ledgerjobs", ledgertable.DefaultTableName("jobs"))
	a, b := ledgertable.DefaultTableName("moetron-jobs"), ledgertable.DefaultTableName("moetronjobs")
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "ledgermoetronjobs"), a)
	assert.Len(t, ledgertable.DefaultTableName(strings.Repeat("q", 63)), 63)
	assert.Len(t, ledgertable.DefaultTableName(strings.Repeat("q-", 31)+"q"), len("ledger")+32+8)
}

// Entities older than the retention are pruned at Open, at most PruneLimit
// a pass; newer ones stay.
func TestPrune(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	clk := &clock{t: time.Now()}
	opts := &ledgertable.Options{Heartbeat: time.Hour, Retention: 24 * time.Hour, PruneLimit: 3, Now: clk.now}
	l := open(t, table, opts)
	for i := range 5 {
		id := fmt.Sprintf("tweet:old%d", i)
		_, err := l.Claim(ctx, id)
		require.NoError(t, err)
		require.NoError(t, l.Done(ctx, id, "1"))
	}
	_, err := l.Claim(ctx, "tweet:abandoned") // claimed, never finished
	require.NoError(t, err)
	clk.add(25 * time.Hour)
	_, err = l.Claim(ctx, "tweet:new")
	require.NoError(t, err)
	require.NoError(t, l.Done(ctx, "tweet:new", "2"))

	count := func() int {
		pager := client(t, table).NewListEntitiesPager(nil)
		n := 0
		for pager.More() {
			p, err := pager.NextPage(ctx)
			require.NoError(t, err)
			n += len(p.Entities)
		}
		return n
	}
	require.Equal(t, 7, count())
	open(t, table, opts) // prunes 3
	assert.Equal(t, 4, count())
	open(t, table, opts) // prunes the other 3 old ones
	assert.Equal(t, 1, count())
	c, err := l.Claim(ctx, "tweet:new")
	require.NoError(t, err)
	assert.Equal(t, "2", c.Done)
}

// What the table holds for a claim, as another tool would read it.
func TestEntityFields(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	l := open(t, table, nil)
	_, err := l.Claim(ctx, "dm:42")
	require.NoError(t, err)
	resp, err := client(t, table).GetEntity(ctx, ledgertable.PartitionKey("dm:42"), ledgertable.RowKey("dm:42"), nil)
	require.NoError(t, err)
	var e map[string]any
	require.NoError(t, json.Unmarshal(resp.Value, &e))
	assert.Equal(t, l.Owner(), e["Owner"])
	assert.Equal(t, "dm:42", e["Job"])
	assert.EqualValues(t, 1, e["State"])
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["At"]))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), at, time.Minute)
}

func TestOpenRefuses(t *testing.T) {
	ctx := ctx(t)
	for _, name := range []string{"", "ab", "1abc", "with-hyphen", strings.Repeat("a", 64)} {
		_, err := ledgertable.Open(ctx, "UseDevelopmentStorage=true", name, nil)
		assert.Error(t, err, name)
	}
	secret := "AccountName=x;AccountKey=c2VjcmV0c2VjcmV0;SharedAccessSignature=sig=topsecret"
	_, err := ledgertable.Open(ctx, "not a connection string;"+secret, "ledgerx", nil)
	require.ErrorIs(t, err, ledgertable.ErrConnectionString)
	assert.NotContains(t, err.Error(), "secret")
	_, err = ledgertable.Open(ctx, "UseDevelopmentStorage=true", "ledgerx",
		&ledgertable.Options{Heartbeat: time.Second, StaleAfter: time.Second})
	assert.Error(t, err)
}

// An unreachable service fails Open within the call timeout, and the error
// names neither the key nor the SAS.
func TestOpenUnreachable(t *testing.T) {
	ctx := ctx(t)
	cs := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0c2VjcmV0;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
	start := time.Now()
	_, err := ledgertable.Open(ctx, cs, "ledgerx", &ledgertable.Options{CallTimeout: 2 * time.Second})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.NotContains(t, err.Error(), "c2VjcmV0c2VjcmV0")
	assert.False(t, strings.Contains(err.Error(), "\n"), "one line: %q", err)
}

// A table deleted under a running ledger is created again by the next
// claim.
func TestTableRecreated(t *testing.T) {
	ctx := ctx(t)
	table := tableName()
	l := open(t, table, nil)
	_, err := client(t, table).Delete(ctx, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := l.Claim(ctx, "dm:77")
		return err == nil
	}, 60*time.Second, 500*time.Millisecond)
}
