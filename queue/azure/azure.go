package azure

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/v2/queueerror"

	"github.com/moetron/moetron/queue"
)

// Encoding is how a message body is written into Azure's MessageText.
type Encoding int

const (
	// Text writes the body as it is (what the original bot and the Python
	// SDK's default write). Bodies holding characters that XML 1.0 cannot
	// carry are refused with queue.ErrInvalidBody, because the service
	// would silently replace them.
	Text Encoding = iota
	// Base64 writes standard base64 of the body (what Azure Functions'
	// trigger expects by default). Binary-safe.
	Base64
)

// Azurite's well-known development account (published in Azurite's README).
const (
	devAccount  = "devstoreaccount1"
	devKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devEndpoint = "http://127.0.0.1:10001"
)

// MaxMessageText is the service's limit on MessageText, in bytes (64 KiB).
const MaxMessageText = 64 * 1024

// Config configures a Queue.
type Config struct {
	// ConnectionString is an Azure Storage connection string (AccountName,
	// AccountKey, QueueEndpoint or EndpointSuffix, SharedAccessSignature),
	// or "UseDevelopmentStorage=true" for Azurite on 127.0.0.1:10001
	// (optionally with DevelopmentStorageProxyUri=http://host). Required.
	ConnectionString string
	// Name is the queue's name (3-63 lowercase letters, digits and
	// hyphens). Required.
	Name string
	// Encoding of message bodies. Zero means Text. Receive reads both: in
	// Base64 mode a text that is not valid base64 is returned as it is.
	Encoding Encoding
	// CallTimeout bounds every call to the service (the SDK can otherwise
	// wait out a stalled service for minutes). Zero means 30 s.
	CallTimeout time.Duration
	// ClientOptions are passed to the SDK; nil means defaults with a
	// per-try timeout of CallTimeout and two retries.
	ClientOptions *azqueue.ClientOptions
}

// Queue is an Azure Storage Queue. It implements queue.Queue.
type Queue struct {
	client  *azqueue.QueueClient
	name    string
	enc     Encoding
	timeout time.Duration

	// Azure's Update Message always sends a body (an empty one erases the
	// message), so a visibility-only Update must re-send the text the
	// message holds. texts remembers it for every message this process
	// has received and not yet deleted.
	mu    sync.Mutex
	texts map[string]leaseText
}

type leaseText struct {
	text    string
	expires time.Time // when to forget it if nobody deletes the message
}

var _ queue.Queue = (*Queue)(nil)

// New returns a client for the named queue. It does not contact the
// service; call Create to make sure the queue exists.
func New(cfg Config) (*Queue, error) {
	if cfg.ConnectionString == "" {
		return nil, errors.New("azure queue: connection string is required")
	}
	if err := queue.ValidateName(cfg.Name); err != nil {
		return nil, fmt.Errorf("azure queue: %w", err)
	}
	if cfg.Encoding != Text && cfg.Encoding != Base64 {
		return nil, fmt.Errorf("azure queue: unknown encoding %d", cfg.Encoding)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	cs, err := ExpandConnectionString(cfg.ConnectionString)
	if err != nil {
		return nil, err
	}
	opts := cfg.ClientOptions
	if opts == nil {
		opts = &azqueue.ClientOptions{}
		opts.Retry = policy.RetryOptions{MaxRetries: 2, TryTimeout: cfg.CallTimeout, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
	}
	svc, err := azqueue.NewServiceClientFromConnectionString(cs, opts)
	if err != nil {
		// The SDK's parse errors do not echo the key, but do not rely on it.
		return nil, errors.New("azure queue: invalid connection string (need AccountName and AccountKey, or a SAS, and an endpoint)")
	}
	return &Queue{
		client:  svc.NewQueueClient(cfg.Name),
		name:    cfg.Name,
		enc:     cfg.Encoding,
		timeout: cfg.CallTimeout,
		texts:   make(map[string]leaseText),
	}, nil
}

// ExpandConnectionString maps "UseDevelopmentStorage=true" (which the SDK's
// parser rejects) to Azurite's well-known account and endpoint, and returns
// other connection strings unchanged.
func ExpandConnectionString(cs string) (string, error) {
	fields := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[strings.ToLower(k)] = v
		}
	}
	if !strings.EqualFold(fields["usedevelopmentstorage"], "true") {
		return cs, nil
	}
	endpoint := devEndpoint
	if proxy := fields["developmentstorageproxyuri"]; proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil || u.Scheme == "" || u.Hostname() == "" {
			return "", fmt.Errorf("azure queue: invalid DevelopmentStorageProxyUri %q", proxy)
		}
		endpoint = u.Scheme + "://" + u.Hostname() + ":10001"
	}
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;QueueEndpoint=%s/%s;",
		devAccount, devKey, endpoint, devAccount), nil
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

func (q *Queue) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, q.timeout)
}

// Create creates the queue if it does not exist.
func (q *Queue) Create(ctx context.Context) error {
	ctx, cancel := q.call(ctx)
	defer cancel()
	_, err := q.client.Create(ctx, nil)
	if err != nil && queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return nil
	}
	return q.mapErr("create", err)
}

// Enqueue adds a message.
func (q *Queue) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	delay, ttl, err := queue.EnqueueArgs(body, opts)
	if err != nil {
		return nil, err
	}
	text, err := q.encode(body)
	if err != nil {
		return nil, err
	}
	o := &azqueue.EnqueueMessageOptions{}
	if delay > 0 {
		o.VisibilityTimeout = ptr(seconds(delay))
	}
	if ttl < 0 {
		o.TimeToLive = ptr(int32(-1))
	} else {
		o.TimeToLive = ptr(seconds(ttl))
		if delay > 0 && *o.TimeToLive <= *o.VisibilityTimeout {
			return nil, fmt.Errorf("%w: TTL %v must exceed delay %v in whole seconds", queue.ErrInvalidArgument, ttl, delay)
		}
	}
	ctx, cancel := q.call(ctx)
	defer cancel()
	resp, err := q.client.EnqueueMessage(ctx, text, o)
	if err != nil {
		return nil, q.mapErr("enqueue", err)
	}
	if len(resp.Messages) == 0 || resp.Messages[0] == nil {
		return nil, fmt.Errorf("%w: enqueue: empty response", queue.ErrUnavailable)
	}
	m := resp.Messages[0]
	return &queue.Message{
		ID:          deref(m.MessageID),
		InsertedAt:  derefTime(m.InsertionTime),
		ExpiresAt:   expiry(m.ExpirationTime),
		Receipt:     deref(m.PopReceipt),
		NextVisible: derefTime(m.TimeNextVisible),
	}, nil
}

// Receive takes up to max visible messages and hides them for visibility
// (rounded up to whole seconds, at least 1 s, as the service requires).
func (q *Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*queue.Message, error) {
	if err := queue.ReceiveArgs(max, visibility); err != nil {
		return nil, err
	}
	ctx, cancel := q.call(ctx)
	defer cancel()
	resp, err := q.client.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
		NumberOfMessages:  ptr(int32(max)),
		VisibilityTimeout: ptr(seconds(visibility)),
	})
	if err != nil {
		return nil, q.mapErr("receive", err)
	}
	out := make([]*queue.Message, 0, len(resp.Messages))
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	q.forgetExpiredLocked(now)
	for _, m := range resp.Messages {
		if m == nil {
			continue
		}
		text := deref(m.MessageText)
		msg := &queue.Message{
			ID:          deref(m.MessageID),
			Body:        q.decode(text),
			InsertedAt:  derefTime(m.InsertionTime),
			ExpiresAt:   expiry(m.ExpirationTime),
			Receipt:     deref(m.PopReceipt),
			NextVisible: derefTime(m.TimeNextVisible),
		}
		if m.DequeueCount != nil {
			msg.DequeueCount = int(*m.DequeueCount)
		}
		q.texts[msg.ID] = leaseText{text: text, expires: forgetAt(now, msg.NextVisible, msg.ExpiresAt)}
		out = append(out, msg)
	}
	return out, nil
}

// Delete removes a message.
func (q *Queue) Delete(ctx context.Context, id, receipt string) error {
	if err := queue.DeleteArgs(id, receipt); err != nil {
		return err
	}
	ctx, cancel := q.call(ctx)
	defer cancel()
	_, err := q.client.DeleteMessage(ctx, id, receipt, nil)
	err = q.mapErr("delete", err)
	if err == nil || errors.Is(err, queue.ErrLeaseLost) {
		q.mu.Lock()
		delete(q.texts, id)
		q.mu.Unlock()
	}
	return err
}

// Update changes a received message's visibility and optionally its body.
// Azure always replaces the text on update, so with a nil body Update
// re-sends the text this process received; updating a message received by
// another client needs its body; without it Update reports
// queue.ErrLeaseLost, since this client holds no lease on the message (it
// never received it, or deleted it, or the message expired).
func (q *Queue) Update(ctx context.Context, id, receipt string, visibility time.Duration, body []byte) (string, error) {
	if err := queue.UpdateArgs(id, receipt, visibility, body); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("azure queue %s update: %w", q.name, err)
	}
	var text string
	if body != nil {
		t, err := q.encode(body)
		if err != nil {
			return "", err
		}
		text = t
	} else {
		q.mu.Lock()
		lt, ok := q.texts[id]
		q.mu.Unlock()
		if !ok {
			return "", fmt.Errorf("%w: this client holds no lease on message %s (pass the body to update a message received elsewhere)", queue.ErrLeaseLost, id)
		}
		text = lt.text
	}
	ctx, cancel := q.call(ctx)
	defer cancel()
	// Always pass the visibility explicitly: with nil options the SDK sends
	// 0 and the message becomes visible at once.
	resp, err := q.client.UpdateMessage(ctx, id, receipt, text, &azqueue.UpdateMessageOptions{VisibilityTimeout: ptr(seconds(visibility))})
	if err != nil {
		err = q.mapErr("update", err)
		if errors.Is(err, queue.ErrLeaseLost) {
			q.mu.Lock()
			delete(q.texts, id)
			q.mu.Unlock()
		}
		return "", err
	}
	next := derefTime(resp.TimeNextVisible)
	q.mu.Lock()
	q.texts[id] = leaseText{text: text, expires: forgetAt(time.Now(), next, time.Time{})}
	q.mu.Unlock()
	return deref(resp.PopReceipt), nil
}

// Len returns the approximate number of messages, visible or not.
func (q *Queue) Len(ctx context.Context) (int, error) {
	ctx, cancel := q.call(ctx)
	defer cancel()
	resp, err := q.client.GetProperties(ctx, nil)
	if err != nil {
		return 0, q.mapErr("len", err)
	}
	if resp.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*resp.ApproximateMessagesCount), nil
}

// Destroy deletes the whole queue (tests and tooling). A missing queue is
// not an error.
func (q *Queue) Destroy(ctx context.Context) error {
	ctx, cancel := q.call(ctx)
	defer cancel()
	_, err := q.client.Delete(ctx, nil)
	if err != nil && queueerror.HasCode(err, queueerror.QueueNotFound) {
		return nil
	}
	return q.mapErr("destroy", err)
}

func (q *Queue) encode(body []byte) (string, error) {
	var text string
	if q.enc == Base64 {
		text = base64.StdEncoding.EncodeToString(body)
	} else {
		if i := xmlInvalid(body); i >= 0 {
			return "", fmt.Errorf("%w: byte %d is a character XML cannot carry; use Base64 encoding", queue.ErrInvalidBody, i)
		}
		text = string(body)
	}
	if len(text) > MaxMessageText {
		return "", fmt.Errorf("%w: %d bytes encoded, service limit %d", queue.ErrTooLarge, len(text), MaxMessageText)
	}
	return text, nil
}

func (q *Queue) decode(text string) []byte {
	if q.enc == Base64 {
		if b, err := base64.StdEncoding.Strict().DecodeString(text); err == nil {
			return b
		}
	}
	return []byte(text)
}

// xmlInvalid returns the offset of the first rune outside XML 1.0's Char
// production, or -1.
func xmlInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		ok := r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok || r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func (q *Queue) forgetExpiredLocked(now time.Time) {
	for id, lt := range q.texts {
		if now.After(lt.expires) {
			delete(q.texts, id)
		}
	}
}

// forgetAt keeps a received text for a while after its lease ends, so a
// late Update from a slow handler can still re-send it.
func forgetAt(now, nextVisible, expires time.Time) time.Time {
	t := nextVisible.Add(time.Hour)
	if t.Before(now) {
		t = now.Add(time.Hour)
	}
	if !expires.IsZero() && expires.Before(t) {
		t = expires
	}
	return t
}

// mapErr turns SDK errors into the queue package's errors, keeping the
// service's error code in the text (never the credentials).
func (q *Queue) mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		var kind error
		switch {
		case queueerror.HasCode(err, queueerror.PopReceiptMismatch, queueerror.MessageNotFound):
			kind = queue.ErrLeaseLost
		case queueerror.HasCode(err, queueerror.MessageTooLarge, queueerror.RequestBodyTooLarge) || re.StatusCode == 413:
			kind = queue.ErrTooLarge
		case queueerror.HasCode(err, queueerror.QueueNotFound):
			kind = queue.ErrQueueNotFound
		case queueerror.HasCode(err, queueerror.OutOfRangeQueryParameterValue, queueerror.InvalidQueryParameterValue,
			queueerror.InvalidResourceName, queueerror.InvalidXMLDocument):
			kind = queue.ErrInvalidArgument
		case re.StatusCode >= 500 || re.StatusCode == 408 || re.StatusCode == 429:
			kind = queue.ErrUnavailable
		default:
			return fmt.Errorf("azure queue %s %s: status %d %s", q.name, op, re.StatusCode, re.ErrorCode)
		}
		return fmt.Errorf("%w (azure queue %s %s: status %d %s)", kind, q.name, op, re.StatusCode, re.ErrorCode)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("azure queue %s %s: %w", q.name, op, context.Canceled)
	}
	// Transport failures and deadlines: the service could not be reached.
	return fmt.Errorf("%w (azure queue %s %s: %v)", queue.ErrUnavailable, q.name, op, redact(err))
}

// redact drops query strings (which may hold a SAS) from error texts.
func redact(err error) string {
	s := err.Error()
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

func seconds(d time.Duration) int32 {
	s := (d + time.Second - 1) / time.Second
	return int32(s)
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// expiry maps Azure's "never" (year 9999) to the zero time.
func expiry(t *time.Time) time.Time {
	if t == nil || t.Year() >= 9999 {
		return time.Time{}
	}
	return *t
}

// NoRetry returns SDK client options without retries, for callers that
// retry on their own (the queue.Consumer does).
func NoRetry() *azqueue.ClientOptions {
	return &azqueue.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
}
