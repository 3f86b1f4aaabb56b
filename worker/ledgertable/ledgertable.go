// Package ledgertable is a worker.Ledger in an Azure Storage table: the
// record of which jobs were claimed and answered is shared by the worker
// processes of every machine that reads the same Azure queue. Azure queues
// do not deduplicate, so when two copies of one job are taken by workers
// on two machines at once, only a shared ledger makes one of them wait.
//
// One entity per job id: PartitionKey is two hex digits of the id's
// SHA-256 (256 partitions, so that load spreads), RowKey the id escaped
// for the table's key rules (see RowKey). Its properties are State
// (claimed, unfinished or done), Reply (the reply id once done), Owner
// (the Ledger value that holds a claim: "<host>/<pid>-<random>"), At (the
// owner's clock at the claim or its last heartbeat) and Job (the job id as
// given).
//
// Claim inserts the entity (AddEntity): only one of two racing inserts
// succeeds. The loser reads it: done gives the reply id; a claim with a
// fresh heartbeat is ErrClaimed; an unfinished job, or a claim whose owner
// stopped beating for StaleAfter (a crashed or partitioned worker on any
// machine), is taken over with an update guarded by the entity's ETag, so
// that of two owners taking it over one wins and the other gets
// ErrClaimed. A taken-over job is Unfinished: the worker reads back from X
// before answering. Owners on other machines cannot be probed, so unlike
// package ledgerfile a SIGKILLed worker's claims are taken over only once
// they go stale (DefaultStaleAfter, 20 s). The machines' clocks must agree
// to well within StaleAfter (NTP does).
//
// Entities not written for Retention are deleted, at most PruneLimit per
// pass, at Open and about hourly. Table and connection errors never carry
// the connection string or a SAS.
package ledgertable

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/moetron/moetron/worker"
)

// Defaults of Options.
const (
	DefaultHeartbeat   = 5 * time.Second
	DefaultStaleAfter  = 4 * DefaultHeartbeat
	DefaultPruneLimit  = 1000
	DefaultCallTimeout = 30 * time.Second
)

// Entity states (the State property).
const (
	stateClaimed    = 1
	stateUnfinished = 2
	stateDone       = 3
)

// atFormat is how At is written: Edm.DateTime, UTC, 100 ns digits (the
// service keeps no more).
const atFormat = "2006-01-02T15:04:05.0000000Z"

// Options tune a Ledger; nil means every default.
type Options struct {
	// Heartbeat is how often the claims of running jobs are renewed. 0
	// means DefaultHeartbeat.
	Heartbeat time.Duration
	// StaleAfter is how long a claim may go without a heartbeat before
	// another owner takes its job over as unfinished. 0 means 4
	// heartbeats.
	StaleAfter time.Duration
	// Retention is how long entities are kept after their last write. 0
	// means worker.DefaultLedgerRetention.
	Retention time.Duration
	// PruneLimit is the most entities one pruning pass deletes. 0 means
	// DefaultPruneLimit.
	PruneLimit int
	// CallTimeout bounds each call to the table service (retries
	// included) when the caller's context has no earlier deadline. 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ClientOptions are passed to the aztables client; nil means two
	// retries with short delays.
	ClientOptions *aztables.ClientOptions
}

// Ledger is a worker.Ledger backed by an Azure Storage table. Its methods
// are safe for concurrent use; Close stops the heartbeat.
type Ledger struct {
	client *aztables.Client
	table  string
	owner  string
	opts   Options

	mu   sync.Mutex
	held map[string]*claim // claims this owner holds (or is making)

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// claim is one claim this owner holds.
type claim struct {
	unfinished bool
	etag       azcore.ETag // the entity's ETag after our last write ("" while claiming)
}

// entity is the stored form of one job.
type entity struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	State        int    `json:"State"`
	Reply        string `json:"Reply"`
	Owner        string `json:"Owner"`
	AtType       string `json:"At@odata.type,omitempty"`
	At           string `json:"At"`
	Job          string `json:"Job"`
	ETag         string `json:"odata.etag,omitempty"`
}

var _ worker.Ledger = (*Ledger)(nil)

// ErrConnectionString is returned by Open for a connection string it
// cannot use; the string itself is never part of an error.
var ErrConnectionString = errors.New("ledgertable: invalid connection string (need AccountName and AccountKey, or a SAS, and a TableEndpoint or EndpointSuffix)")

// Azurite's well-known development account (public, not a secret), for
// "UseDevelopmentStorage=true".
const (
	devAccount  = "devstoreaccount1"
	devKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devEndpoint = "http://127.0.0.1:10002"
)

// tableName is what Azure accepts as a table name.
var tableName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)

// CheckTableName says why Azure would refuse a table name, or nil.
func CheckTableName(table string) error {
	if !tableName.MatchString(table) {
		return fmt.Errorf("ledgertable: table name %q: need 3 to 63 letters and digits, starting with a letter", table)
	}
	return nil
}

// Open connects to the table service of an Azure Storage account (a
// connection string such as AZURE_STORAGE_CONNECTION_STRING; with Azurite
// it needs a TableEndpoint, or UseDevelopmentStorage=true), creates the
// table if it is missing, prunes old entities and starts the heartbeat.
func Open(ctx context.Context, connectionString, table string, opts *Options) (*Ledger, error) {
	if err := CheckTableName(table); err != nil {
		return nil, err
	}
	cs := expandDev(connectionString)
	co := (*aztables.ClientOptions)(nil)
	if opts != nil {
		co = opts.ClientOptions
	}
	if co == nil {
		co = &aztables.ClientOptions{}
		co.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
	}
	svc, err := aztables.NewServiceClientFromConnectionString(cs, co)
	if err != nil {
		// The SDK's parse errors do not echo the key, but do not rely on it.
		return nil, ErrConnectionString
	}
	return New(ctx, svc.NewClient(table), table, opts)
}

// New is Open for a client built by the caller (another credential, a
// custom pipeline). table is only used in error texts.
func New(ctx context.Context, client *aztables.Client, table string, opts *Options) (*Ledger, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Heartbeat < 0 || o.StaleAfter < 0 || o.Retention < 0 || o.PruneLimit < 0 || o.CallTimeout < 0 {
		return nil, errors.New("ledgertable: negative Heartbeat, StaleAfter, Retention, PruneLimit or CallTimeout")
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = 4 * o.Heartbeat
	}
	if o.StaleAfter <= o.Heartbeat {
		return nil, fmt.Errorf("ledgertable: StaleAfter %v must be longer than Heartbeat %v", o.StaleAfter, o.Heartbeat)
	}
	if o.Retention == 0 {
		o.Retention = worker.DefaultLedgerRetention
	}
	if o.Retention <= o.StaleAfter {
		return nil, fmt.Errorf("ledgertable: Retention %v must be longer than StaleAfter %v", o.Retention, o.StaleAfter)
	}
	if o.PruneLimit == 0 {
		o.PruneLimit = DefaultPruneLimit
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Ledger{client: client, table: table, owner: newOwner(), opts: o,
		held: make(map[string]*claim), stop: make(chan struct{})}
	if err := l.createTable(ctx); err != nil {
		return nil, l.wrap("create table", "", err)
	}
	l.prune(ctx)
	l.wg.Add(1)
	go l.beat()
	return l, nil
}

// createTable creates the table unless it exists.
func (l *Ledger) createTable(ctx context.Context) error {
	cctx, cancel := l.call(ctx)
	defer cancel()
	_, err := l.client.CreateTable(cctx, nil)
	if err != nil && !hasStatus(err, http.StatusConflict) {
		return err
	}
	return nil
}

// newOwner names this Ledger value: host, process and a random part.
func newOwner() string {
	host, _ := os.Hostname()
	var id [8]byte
	_, _ = rand.Read(id[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(id[:])
}

// Owner returns the name this Ledger writes into its claims.
func (l *Ledger) Owner() string { return l.owner }

// Table returns the table's name.
func (l *Ledger) Table() string { return l.table }

// Close stops the heartbeat. Claims still held become stale and are read
// back on their next copy.
func (l *Ledger) Close() error {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	return nil
}

// DefaultTableName is the ledger table for a queue: "ledger" followed by
// the queue name's letters and digits, and, when the name had other
// characters (a queue name's hyphens), 8 hex digits of its hash so that
// "a-b" and "ab" get different tables.
func DefaultTableName(queueName string) string {
	var b strings.Builder
	b.WriteString("ledger")
	for _, r := range queueName {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	name := b.String()
	if name[len("ledger"):] != queueName {
		sum := sha256.Sum256([]byte(queueName))
		name = name[:min(len(name), 63-8)] + hex.EncodeToString(sum[:4])
	}
	return name[:min(len(name), 63)]
}

// PartitionKey is the partition of a job id's entity: two hex digits of
// its SHA-256.
func PartitionKey(jobID string) string {
	sum := sha256.Sum256([]byte(jobID))
	return hex.EncodeToString(sum[:1])
}

// RowKey is a job id as a table key: letters, digits and ":._-" stay,
// every other byte becomes "~" and two hex digits (so "/", "\", "#", "?",
// "'", control characters and "~" itself never appear). An escaped id
// longer than 512 bytes becomes "~h" and the hex SHA-256 of the id (keys
// hold at most 1 KiB).
func RowKey(jobID string) string {
	var b strings.Builder
	for i := 0; i < len(jobID); i++ {
		c := jobID[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "~%02x", c)
	}
	if b.Len() > 512 {
		sum := sha256.Sum256([]byte(jobID))
		return "~h" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

func (l *Ledger) now() time.Time { return l.opts.Now() }

func (l *Ledger) at(t time.Time) string { return t.UTC().Format(atFormat) }

// call bounds one service call.
func (l *Ledger) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.opts.CallTimeout)
}

// Claim implements worker.Ledger.
func (l *Ledger) Claim(ctx context.Context, jobID string) (worker.Claim, error) {
	if jobID == "" {
		return worker.Claim{}, errors.New("ledgertable: claim: empty job id")
	}
	l.mu.Lock()
	if _, ok := l.held[jobID]; ok {
		l.mu.Unlock()
		return worker.Claim{}, worker.ErrClaimed
	}
	c := &claim{}
	l.held[jobID] = c // keeps a second handler of this process out meanwhile
	l.mu.Unlock()

	res, etag, err := l.claim(ctx, jobID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || res.Done != "" {
		delete(l.held, jobID)
		return res, err
	}
	c.unfinished, c.etag = res.Unfinished, etag
	return res, nil
}

// claim does Claim's work against the table: insert, or read and decide,
// or take over. A row deleted between the insert and the read (a release
// or a prune) is tried again, a few times.
func (l *Ledger) claim(ctx context.Context, jobID string) (worker.Claim, azcore.ETag, error) {
	pk, rk := PartitionKey(jobID), RowKey(jobID)
	for range 3 {
		now := l.now()
		e := entity{PartitionKey: pk, RowKey: rk, State: stateClaimed, Owner: l.owner,
			AtType: "Edm.DateTime", At: l.at(now), Job: jobID}
		body, _ := json.Marshal(e)
		cctx, cancel := l.call(ctx)
		resp, err := l.client.AddEntity(cctx, body, nil)
		cancel()
		if err == nil {
			return worker.Claim{}, resp.ETag, nil
		}
		if hasStatus(err, http.StatusNotFound) { // the table was deleted
			if err := l.createTable(ctx); err != nil {
				return worker.Claim{}, "", l.wrap("create table", "", err)
			}
			continue
		}
		if !hasStatus(err, http.StatusConflict) {
			return worker.Claim{}, "", l.wrap("claim", jobID, err)
		}
		cur, etag, err := l.get(ctx, pk, rk)
		if hasStatus(err, http.StatusNotFound) {
			continue
		}
		if err != nil {
			return worker.Claim{}, "", l.wrap("claim", jobID, err)
		}
		switch {
		case cur.State == stateDone:
			return worker.Claim{Done: cur.Reply}, "", nil
		case cur.State == stateClaimed && cur.Owner != l.owner && now.Sub(cur.at()) < l.opts.StaleAfter:
			return worker.Claim{}, "", worker.ErrClaimed
		}
		// Unfinished, a claim whose owner stopped beating, or our own claim
		// whose insert answer was lost (or whose release failed): take it
		// over and read back first. Of two owners doing this, the ETag
		// lets one win.
		body, _ = json.Marshal(e)
		cctx, cancel = l.call(ctx)
		up, err := l.client.UpdateEntity(cctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		cancel()
		switch {
		case err == nil:
			return worker.Claim{Unfinished: true}, up.ETag, nil
		case hasStatus(err, http.StatusPreconditionFailed):
			return worker.Claim{}, "", worker.ErrClaimed
		case hasStatus(err, http.StatusNotFound):
			continue
		}
		return worker.Claim{}, "", l.wrap("claim", jobID, err)
	}
	// The entity came and went three times in a row: someone else is busy
	// with this job.
	return worker.Claim{}, "", worker.ErrClaimed
}

// get reads one entity and its ETag.
func (l *Ledger) get(ctx context.Context, pk, rk string) (entity, azcore.ETag, error) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	resp, err := l.client.GetEntity(cctx, pk, rk, nil)
	if err != nil {
		return entity{}, "", err
	}
	var e entity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return entity{}, "", fmt.Errorf("decoding the entity: %w", err)
	}
	return e, resp.ETag, nil
}

// at parses the entity's At; a missing or bad one is long ago (stale).
func (e entity) at() time.Time {
	t, err := time.Parse(time.RFC3339Nano, e.At)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Done implements worker.Ledger.
func (l *Ledger) Done(ctx context.Context, jobID, replyID string) error {
	l.mu.Lock()
	delete(l.held, jobID)
	l.mu.Unlock()
	e := entity{PartitionKey: PartitionKey(jobID), RowKey: RowKey(jobID), State: stateDone, Reply: replyID,
		AtType: "Edm.DateTime", At: l.at(l.now()), Job: jobID}
	body, _ := json.Marshal(e)
	cctx, cancel := l.call(ctx)
	defer cancel()
	if _, err := l.client.UpsertEntity(cctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return l.wrap("done", jobID, err)
	}
	return nil
}

// Release implements worker.Ledger.
func (l *Ledger) Release(ctx context.Context, jobID string, uncertain bool) error {
	l.mu.Lock()
	c, ok := l.held[jobID]
	if ok {
		delete(l.held, jobID)
	}
	l.mu.Unlock()
	if !ok {
		return nil
	}
	keep := uncertain || c.unfinished
	err := l.ifMine(ctx, jobID, c.etag, func(ctx context.Context, e entity, etag azcore.ETag) (azcore.ETag, error) {
		if !keep {
			_, err := l.client.DeleteEntity(ctx, e.PartitionKey, e.RowKey, &aztables.DeleteEntityOptions{IfMatch: &etag})
			return "", err
		}
		e.State, e.Owner, e.At, e.AtType = stateUnfinished, "", l.at(l.now()), "Edm.DateTime"
		e.ETag = ""
		body, _ := json.Marshal(e)
		resp, err := l.client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
		return resp.ETag, err
	})
	if err != nil {
		return l.wrap("release", jobID, err)
	}
	return nil
}

// ifMine runs write on the job's entity while it is claimed by this owner,
// guarded by its ETag: first with etag (the one of our last write), then,
// when that fails because the entity changed (our own heartbeat may have
// renewed it meanwhile), with a fresh read, a few times. A job that is no
// longer ours (taken over, answered, pruned) is left alone: nil.
func (l *Ledger) ifMine(ctx context.Context, jobID string, etag azcore.ETag,
	write func(context.Context, entity, azcore.ETag) (azcore.ETag, error)) error {
	pk, rk := PartitionKey(jobID), RowKey(jobID)
	e := entity{PartitionKey: pk, RowKey: rk, State: stateClaimed, Owner: l.owner, Job: jobID}
	for try := 0; try < 4; try++ {
		if etag == "" || try > 0 {
			var err error
			e, etag, err = l.get(ctx, pk, rk)
			if hasStatus(err, http.StatusNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if e.State != stateClaimed || e.Owner != l.owner {
				return nil
			}
		}
		cctx, cancel := l.call(ctx)
		_, err := write(cctx, e, etag)
		cancel()
		switch {
		case err == nil, hasStatus(err, http.StatusNotFound):
			return nil
		case hasStatus(err, http.StatusPreconditionFailed):
			continue
		}
		return err
	}
	return errors.New("the entity kept changing")
}

// beat renews this owner's claims every Heartbeat and prunes about hourly.
func (l *Ledger) beat() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.Heartbeat)
	defer t.Stop()
	lastPrune := l.now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.Heartbeat)
		l.renew(ctx)
		if l.now().Sub(lastPrune) > time.Hour {
			lastPrune = l.now()
			l.prune(ctx)
		}
		cancel()
	}
}

// renew writes a fresh At into every claim this owner holds.
func (l *Ledger) renew(ctx context.Context) {
	l.mu.Lock()
	jobs := make(map[string]*claim, len(l.held))
	for id, c := range l.held {
		if c.etag != "" { // not while Claim is still making it
			jobs[id] = c
		}
	}
	l.mu.Unlock()
	for id, c := range jobs {
		l.mu.Lock()
		etag := c.etag
		l.mu.Unlock()
		_ = l.ifMine(ctx, id, etag, func(ctx context.Context, e entity, etag azcore.ETag) (azcore.ETag, error) {
			patch, _ := json.Marshal(map[string]string{"PartitionKey": e.PartitionKey, "RowKey": e.RowKey,
				"At@odata.type": "Edm.DateTime", "At": l.at(l.now())})
			resp, err := l.client.UpdateEntity(ctx, patch, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeMerge})
			if err == nil {
				l.mu.Lock()
				if l.held[id] == c {
					c.etag = resp.ETag
				}
				l.mu.Unlock()
			}
			return resp.ETag, err
		})
	}
}

// prune deletes up to PruneLimit entities whose At is older than
// Retention. A claim that old was abandoned long ago (a live one is
// renewed every Heartbeat). Each delete is guarded by the listed ETag, so
// an entity written meanwhile stays.
func (l *Ledger) prune(ctx context.Context) int {
	cut := l.at(l.now().Add(-l.opts.Retention))
	filter := "At lt datetime'" + cut + "'"
	sel := "PartitionKey,RowKey,At"
	top := int32(100)
	pager := l.client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel, Top: &top})
	n := 0
	for n < l.opts.PruneLimit && pager.More() {
		cctx, cancel := l.call(ctx)
		page, err := pager.NextPage(cctx)
		cancel()
		if err != nil {
			return n
		}
		for _, raw := range page.Entities {
			if n >= l.opts.PruneLimit {
				break
			}
			var e entity
			if json.Unmarshal(raw, &e) != nil {
				continue
			}
			etag := azcore.ETag(e.ETag)
			if etag == "" {
				etag = azcore.ETagAny
			}
			cctx, cancel := l.call(ctx)
			_, err := l.client.DeleteEntity(cctx, e.PartitionKey, e.RowKey, &aztables.DeleteEntityOptions{IfMatch: &etag})
			cancel()
			if err == nil {
				n++
			}
		}
	}
	return n
}

// hasStatus says whether err is the service's answer with this status.
func hasStatus(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

// wrap makes a one-line error: the service's status and code, never the
// request's query (which may hold a SAS) nor the connection string.
func (l *Ledger) wrap(op, jobID string, err error) error {
	what := "ledgertable " + l.table + ": " + op
	if jobID != "" {
		what += " " + jobID
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: status %d %s", what, re.StatusCode, re.ErrorCode)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s", what, redact(err.Error()))
}

// redact drops query strings (which may hold a SAS) from error texts.
func redact(s string) string {
	for {
		i := strings.Index(s, "sig=")
		if i < 0 {
			return s
		}
		j := strings.IndexAny(s[i:], "& \"")
		if j < 0 {
			return s[:i] + "sig=REDACTED"
		}
		s = s[:i] + "sig=REDACTED" + s[i+j:]
	}
}

// expandDev maps "UseDevelopmentStorage=true" (which the SDK's parser
// rejects) to Azurite's well-known account and table endpoint (port 10002,
// or DevelopmentStorageProxyUri's host), and returns other strings as
// they are.
func expandDev(cs string) string {
	fields := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[strings.ToLower(k)] = v
		}
	}
	if !strings.EqualFold(fields["usedevelopmentstorage"], "true") {
		return cs
	}
	endpoint := devEndpoint
	if proxy := fields["developmentstorageproxyuri"]; proxy != "" {
		if scheme, rest, ok := strings.Cut(proxy, "://"); ok && rest != "" {
			host, _, _ := strings.Cut(rest, "/")
			if h, _, ok := strings.Cut(host, ":"); ok {
				host = h
			}
			endpoint = scheme + "://" + host + ":10002"
		}
	}
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=%s/%s;",
		devAccount, devKey, endpoint, devAccount)
}
