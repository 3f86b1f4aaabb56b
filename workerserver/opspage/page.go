package opspage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueadmin"
)

// Path is where the page lives; every route of a Page is below it.
const Path = "/ops/"

// Limits of a Page.
const (
	// DefaultPoisonShown is how many poison messages the page lists.
	DefaultPoisonShown = 20
	// MaxFormBytes caps a requeue POST's body.
	MaxFormBytes = 4 << 10
	// maxIDLen caps a requeued message id (Azure's are GUIDs, SQLite's numbers).
	maxIDLen = 128
	// queueTimeout bounds the queue calls of one request.
	queueTimeout = 10 * time.Second
)

// Headers set on every response of a Page.
const (
	// ContentSecurityPolicy allows the page's own stylesheet, thumbnails and
	// form, and nothing else: no script at all, no framing.
	ContentSecurityPolicy = "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'"
)

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"ms":    millis,
	"when":  func(t time.Time) string { return t.UTC().Format("01-02 15:04:05") },
	"stamp": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"tone":  tone,
}).ParseFS(assets, "assets/page.html"))

// Fact is one line of the page's status header ("device", "cuda").
type Fact struct {
	Name, Value string
}

// Config configures a Page. Queue and Poison are required; every other
// zero value means what its comment says.
type Config struct {
	// Queue is the job queue (its depth is shown; requeue writes to it).
	Queue queue.Queue
	// Poison is its poison queue (listed; requeue takes from it).
	Poison queue.Queue
	// Recorder holds the recent jobs; nil means the page lists none.
	Recorder *Recorder
	// Token is the operator token (Env.Token). Empty means the page
	// answers loopback connections only.
	Token string
	// Title heads the page; empty means "moetron worker".
	Title string
	// Facts returns extra status lines (device, jobs in flight, ...); nil
	// means none. It is called once per page view.
	Facts func() []Fact
	// PoisonShown is how many poison messages are listed; 0 means
	// DefaultPoisonShown.
	PoisonShown int
	// Logger receives a record per requeue and per refused token; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock of the page's "as of" line; nil means time.Now.
	Now func() time.Time
}

// Page is the operator page, an http.Handler for the routes below Path:
//
//	GET  /ops/             the page
//	GET  /ops/style.css    its stylesheet
//	GET  /ops/thumb/{seq}  a job's thumbnail (JPEG)
//	POST /ops/requeue      form field id: put that poison message back on the queue
type Page struct {
	cfg   Config
	log   *slog.Logger
	token []byte // SHA-256 of Config.Token; nil without one
	key   []byte // this process's CSRF key
	cop   *http.CrossOriginProtection
	mux   *http.ServeMux
	admin *queueadmin.Admin
	now   func() time.Time

	mu      sync.Mutex // serializes poison peeks and requeues (a peek hides messages for a moment)
	created bool       // the poison queue was created
}

// New checks cfg and returns the page.
func New(cfg Config) (*Page, error) {
	var probs []string
	if cfg.Queue == nil {
		probs = append(probs, "Queue is required")
	}
	if cfg.Poison == nil {
		probs = append(probs, "Poison is required")
	}
	if cfg.Token != "" && len(cfg.Token) < MinTokenLen {
		probs = append(probs, fmt.Sprintf("Token (%s) is shorter than %d characters", EnvToken, MinTokenLen))
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrConfig, strings.Join(probs, "; "))
	}
	p := &Page{cfg: cfg, log: cfg.Logger, now: cfg.Now, cop: http.NewCrossOriginProtection(),
		admin: &queueadmin.Admin{Queue: cfg.Queue, Poison: cfg.Poison}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.cfg.Title == "" {
		p.cfg.Title = "moetron worker"
	}
	if p.cfg.PoisonShown <= 0 {
		p.cfg.PoisonShown = DefaultPoisonShown
	}
	if cfg.Token != "" {
		d := sha256.Sum256([]byte(cfg.Token))
		p.token = d[:]
	}
	p.key = make([]byte, 32)
	rand.Read(p.key)
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /ops", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ops/", http.StatusMovedPermanently)
	})
	p.mux.HandleFunc("GET /ops/{$}", p.page)
	p.mux.HandleFunc("GET /ops/style.css", p.style)
	p.mux.HandleFunc("GET /ops/thumb/{seq}", p.thumb)
	p.mux.HandleFunc("POST /ops/requeue", p.requeue)
	return p, nil
}

// ServeHTTP sets the security headers, checks access and routes.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	acc, status, err := p.authorize(r)
	if err != nil {
		if status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Basic realm="moetron operator page", charset="UTF-8"`)
		}
		http.Error(w, err.Error(), status)
		return
	}
	p.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accessKey{}, acc)))
}

type accessKey struct{}

func accessOf(r *http.Request) access {
	a, _ := r.Context().Value(accessKey{}).(access)
	return a
}

func (p *Page) style(w http.ResponseWriter, _ *http.Request) {
	b, _ := assets.ReadFile("assets/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}

func (p *Page) thumb(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || p.cfg.Recorder == nil {
		http.NotFound(w, r)
		return
	}
	b, ok := p.cfg.Recorder.Thumb(seq)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// view is what the template renders.
type view struct {
	Title, Now, Stamp string
	QueueDepth        string
	PoisonDepth       string
	Facts             []Fact
	Jobs, Errors      []Entry
	HasRecorder       bool
	Poison            []poisonRow
	PoisonMore        int
	PoisonErr         string
	CSRF              string
	Notice, Problem   string
}

// poisonRow is one poison message as listed: no message text.
type poisonRow struct {
	ID         string
	PoisonedAt time.Time
	Reason     string
	Tries      int
	Err        string
	JobID      string
	Kind       string
	Command    string
	User       string
	UserID     string
	Truncated  bool
}

func (p *Page) page(w http.ResponseWriter, r *http.Request) {
	v := p.view(w, r)
	if id := r.URL.Query().Get("requeued"); validID(id) {
		v.Notice = "Requeued poison message " + id + ": it is back on the job queue."
	}
	p.render(w, http.StatusOK, v)
}

// view gathers the page's data.
func (p *Page) view(w http.ResponseWriter, r *http.Request) view {
	ctx, cancel := context.WithTimeout(r.Context(), queueTimeout)
	defer cancel()
	now := p.now()
	v := view{Title: p.cfg.Title, Now: now.UTC().Format("2006-01-02 15:04:05 UTC"), Stamp: now.UTC().Format(time.RFC3339),
		HasRecorder: p.cfg.Recorder != nil}
	if p.cfg.Facts != nil {
		v.Facts = p.cfg.Facts()
	}
	v.QueueDepth = depth(p.cfg.Queue.Len(ctx))
	if p.cfg.Recorder != nil {
		v.Jobs, v.Errors = p.cfg.Recorder.Jobs(), p.cfg.Recorder.Errors()
	}
	if accessOf(r) != accessBearer {
		v.CSRF = p.csrfToken(p.csrfNonce(w, r))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.createPoison(ctx); err != nil {
		v.PoisonDepth, v.PoisonErr = "?", Redact(err.Error())
		return v
	}
	n, err := p.cfg.Poison.Len(ctx)
	v.PoisonDepth = depth(n, err)
	ms, err := p.admin.PoisonPeek(ctx, p.cfg.PoisonShown)
	if err != nil {
		v.PoisonErr = cut(Redact(err.Error()), MaxErrorLen)
	}
	for _, m := range ms {
		v.Poison = append(v.Poison, poisonRowOf(m))
	}
	v.PoisonMore = max(0, n-len(v.Poison))
	return v
}

// createPoison creates the poison queue once (the consumer creates it at
// its first poisoning; until then Len would fail).
func (p *Page) createPoison(ctx context.Context) error {
	if p.created {
		return nil
	}
	if err := p.cfg.Poison.Create(ctx); err != nil {
		return fmt.Errorf("opspage: poison queue %s: %w", p.cfg.Poison.Name(), err)
	}
	p.created = true
	return nil
}

func depth(n int, err error) string {
	if err != nil {
		return "?"
	}
	return strconv.Itoa(n)
}

// poisonRowOf shows a poison message without its text: the job's id,
// kind, command and user from the body when it is a job's JSON.
func poisonRowOf(m queueadmin.Poisoned) poisonRow {
	rec := m.Record
	row := poisonRow{ID: m.ID, PoisonedAt: rec.PoisonedAt, Reason: rec.Reason, Tries: rec.DequeueCount,
		Err: cut(Redact(rec.Error), MaxErrorLen), Truncated: rec.BodyTruncated}
	var j struct {
		MsgType    string `json:"msg_type"`
		ID         string `json:"id"`
		Command    string `json:"command"`
		UserID     string `json:"user_id"`
		ScreenName string `json:"screen_name"`
	}
	if json.Unmarshal([]byte(rec.Body), &j) == nil {
		row.JobID, row.Kind, row.Command, row.UserID = short(j.ID), short(j.MsgType), short(j.Command), short(j.UserID)
		row.User = short(j.ScreenName)
	}
	return row
}

// validID reports whether id can be a queue message id: 1 to maxIDLen
// printable characters without spaces.
func validID(id string) bool {
	return id != "" && len(id) <= maxIDLen &&
		strings.IndexFunc(id, func(c rune) bool { return !unicode.IsPrint(c) || c == ' ' }) < 0
}

// short keeps a field from a foreign body to a sane length.
func short(s string) string { return cut(s, 64) }

// requeue puts one poison message back on the job queue.
func (p *Page) requeue(w http.ResponseWriter, r *http.Request) {
	acc := accessOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		// Not the page: the request has not passed the CSRF checks.
		http.Error(w, "requeue refused: the form does not parse (at most "+strconv.Itoa(MaxFormBytes)+" bytes)", http.StatusBadRequest)
		return
	}
	if acc != accessBearer {
		if err := p.checkCSRF(r); err != nil {
			p.log.Warn("operator page: requeue refused", "reason", err, "remote", r.RemoteAddr)
			// Not the page: the request may come from anywhere.
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
	}
	id := r.PostForm.Get("id")
	if !validID(id) {
		p.fail(w, r, acc, http.StatusBadRequest, fmt.Sprintf("requeue refused: %q is not a message id", cut(id, 40)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queueTimeout)
	defer cancel()
	p.mu.Lock()
	err := p.createPoison(ctx)
	var done []string
	if err == nil {
		done, err = p.admin.Requeue(ctx, id)
	}
	p.mu.Unlock()
	switch {
	case errors.Is(err, queueadmin.ErrNotFound):
		p.fail(w, r, acc, http.StatusNotFound, "No poison message has id "+id+": it was requeued already, or the id is wrong.")
		return
	case err != nil:
		p.log.Error("operator page: requeue failed", "id", id, "err", err)
		p.fail(w, r, acc, http.StatusInternalServerError, "Requeue of "+id+" failed: "+cut(Redact(err.Error()), MaxErrorLen))
		return
	}
	p.log.Info("operator page: poison message requeued", "id", id, "requeued", done, "via", acc.String())
	if acc == accessBearer {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "requeued %s\n", id)
		return
	}
	http.Redirect(w, r, "./?requeued="+url.QueryEscape(id), http.StatusSeeOther)
}

func (a access) String() string {
	switch a {
	case accessLoopback:
		return "loopback"
	case accessBasic:
		return "token (browser)"
	case accessBearer:
		return "token (bearer)"
	}
	return "none"
}

// fail answers a requeue that could not be done: plain text to a script,
// the page with the problem to a browser.
func (p *Page) fail(w http.ResponseWriter, r *http.Request, acc access, status int, msg string) {
	if acc == accessBearer {
		http.Error(w, msg, status)
		return
	}
	v := p.view(w, r)
	v.Problem = msg
	p.render(w, status, v)
}

func (p *Page) render(w http.ResponseWriter, status int, v view) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, v); err != nil {
		p.log.Error("operator page: rendering", "err", err)
		http.Error(w, "the operator page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.Copy(w, &buf)
}

// millis shows a duration for a table cell.
func millis(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
}

// tone is the CSS class of an outcome.
func tone(outcome string) string {
	switch outcome {
	case "replied", "already_replied":
		return "ok"
	case "rate_limited", "in_flight":
		return "wait"
	default:
		return "bad"
	}
}
