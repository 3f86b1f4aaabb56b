package crc

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
)

// HandlerConfig configures Handler.
type HandlerConfig struct {
	// Secrets are the consumer secrets; the first one answers the CRC (X
	// checks against the current secret). At least one must be non-empty.
	Secrets []string
	// Logger receives one debug line per rejected request; nil discards.
	Logger *slog.Logger
}

// Handler answers X's CRC: GET ?crc_token=T with 200
// {"response_token":"sha256=..."}. A missing, repeated or non-token-shaped
// crc_token gets 400 (see ValidToken); other methods get 405.
type Handler struct {
	secret string
	log    *slog.Logger
}

// NewHandler returns a CRC handler, or ErrNoSecret.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	h := &Handler{log: cfg.Logger}
	for _, s := range cfg.Secrets {
		if s != "" {
			h.secret = s
			break
		}
	}
	if h.secret == "" {
		return nil, ErrNoSecret
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

type response struct {
	ResponseToken string `json:"response_token"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, err := Token(r)
	if err != nil {
		h.log.DebugContext(r.Context(), "crc: rejected challenge", "reason", err.Error())
		http.Error(w, "bad crc_token", http.StatusBadRequest)
		return
	}
	body, _ := json.Marshal(response{ResponseToken: ResponseToken(h.secret, token)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// Token returns the crc_token of r's query, or ErrInvalidToken if it is
// missing, given more than once, or not token-shaped.
func Token(r *http.Request) (string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", ErrInvalidToken
	}
	v := q["crc_token"]
	if len(v) != 1 || !ValidToken(v[0]) {
		return "", ErrInvalidToken
	}
	return v[0], nil
}
