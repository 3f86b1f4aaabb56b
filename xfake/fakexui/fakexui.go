// Package fakexui is a control page for a standalone xfake server (manual
// runs of the webhook and the worker without X): the environment to
// export, a form that delivers a mention or a DM to the registered
// webhook, and the ledger of the bot's replies. examples/fakex serves it.
//
// Routes: GET / (the page), POST /mention and POST /dm (form fields text
// and user; they answer with the delivery status), GET /env (the
// environment, as export lines), GET /ledger (the bot's posts and DMs, one
// per line).
package fakexui

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/xfake"
)

// DefaultUserID is the id of the fake user who writes to the bot.
const DefaultUserID = "1247048165561270272"

// Env is the environment the webhook and the worker need to talk to x,
// one export line each (values are xfake's fixed test credentials).
func Env(x *xfake.Server) string {
	c := x.Config()
	return fmt.Sprintf(`export X_API_BASE=%s
export BOT_USER_ID=%s
export X_CONSUMER_KEY=%s
export X_CONSUMER_SECRET=%s
export X_ACCESS_TOKEN=%s
export X_ACCESS_TOKEN_SECRET=%s
export X_BEARER_TOKEN=%s
`, x.URL(), c.BotUserID, c.ConsumerKey, c.ConsumerSecret, c.AccessToken, c.AccessTokenSecret, c.BearerToken)
}

// Ledger lists the bot's replies and DMs, oldest first.
func Ledger(x *xfake.Server) []string {
	bot := x.Config().BotUserID
	var out []string
	for _, p := range x.Posts() {
		if p.AuthorID == bot {
			out = append(out, fmt.Sprintf("post %s in reply to %s media=%d: %s", p.ID, p.InReplyToTweetID, len(p.MediaIDs), p.Text))
		}
	}
	for _, d := range x.DMs() {
		if d.SenderID == bot {
			out = append(out, fmt.Sprintf("dm %s to %s media=%d: %s", d.EventID, d.RecipientID, len(d.MediaIDs), d.Text))
		}
	}
	return out
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>fake X</title>
<h1>fake X at {{.URL}}</h1>
<h2>Environment</h2><pre>{{.Env}}</pre>
<h2>Deliver</h2>
<form method="post" action="mention">Mention from @<input name="user" value="alice" size="10">:
<input name="text" value="@{{.Bot}} moerand" size="40"> <button>post</button></form>
<form method="post" action="dm">DM from @<input name="user" value="alice" size="10">:
<input name="text" value="moename sakura" size="40"> <button>send</button></form>
<h2>Replies</h2><ul>{{range .Ledger}}<li>{{.}}</li>{{else}}<li>none yet</li>{{end}}</ul>
`))

// Handler serves the control page for x.
func Handler(x *xfake.Server) http.Handler {
	var seq atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, map[string]any{"URL": x.URL(), "Env": Env(x), "Bot": x.Config().BotScreenName, "Ledger": Ledger(x)})
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, Env(x))
	})
	mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, l := range Ledger(x) {
			fmt.Fprintln(w, l)
		}
	})
	deliver := func(dm bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			text, user := strings.TrimSpace(r.FormValue("text")), strings.TrimSpace(r.FormValue("user"))
			if text == "" {
				http.Error(w, "text is required", http.StatusBadRequest)
				return
			}
			if user == "" {
				user = "alice"
			}
			sender := xfake.Sender{UserID: DefaultUserID, ScreenName: user}
			var payload []byte
			var err error
			if dm {
				d := x.SeedDM(xfake.DM{SenderID: DefaultUserID, RecipientID: x.Config().BotUserID, Text: text})
				payload, err = x.DMPayload(d, sender)
			} else {
				p := x.SeedPost(xfake.Post{AuthorID: DefaultUserID, Text: text, CreatedAt: time.Now().UTC()})
				payload, err = x.MentionPayload(p, sender)
			}
			if err == nil {
				var status int
				status, err = x.Deliver(r.Context(), payload)
				if err == nil {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					fmt.Fprintf(w, "delivered #%d: the webhook answered %d\n", seq.Add(1), status)
					return
				}
			}
			http.Error(w, "not delivered: "+err.Error()+" (is the webhook running with WEBHOOK_URL and the environment above?)", http.StatusBadGateway)
		}
	}
	mux.HandleFunc("POST /mention", deliver(false))
	mux.HandleFunc("POST /dm", deliver(true))
	return mux
}
