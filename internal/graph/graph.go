// Package graph writes calendars, contacts and To Do tasks into a Microsoft
// 365 mailbox through Microsoft Graph (v1.0): events and calendars, contact
// folders and contacts, To Do lists and tasks. It signs in app-only
// (client credentials, scope https://graph.microsoft.com/.default, tokens
// from internal/oauth), renews the token when Graph answers 401
// InvalidAuthenticationToken, follows @odata.nextLink pages, reads up to
// 20 items per JSON $batch, and waits out 429 and 503 answers for as long
// as their Retry-After says.
//
// The Client presents the mailbox as DAV collections and objects
// (internal/dav types), converted both ways (convert.go), so that
// internal/davsync copies into it as into a CalDAV/CardDAV account.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
)

// Scope is the app-only scope Graph's tokens are asked for.
const Scope = "https://graph.microsoft.com/.default"

// DefaultURL is Microsoft Graph v1.0 in the global cloud.
const DefaultURL = "https://graph.microsoft.com/v1.0"

// maxBatch is how many requests one JSON $batch may hold (Graph's limit).
const maxBatch = 20

// TokenSource hands out app-only access tokens (internal/oauth.Source).
type TokenSource interface {
	Token(ctx context.Context, mailbox string) (string, error)
	Refused(mailbox, token string)
}

// Config says which mailbox to reach and how.
type Config struct {
	URL     string // Graph base, DefaultURL when empty
	Mailbox string // the user principal name (or id) written into
	Tokens  TokenSource
	HTTP    *http.Client // nil: one with a 2-minute timeout
	// MaxWait is the longest a throttled request waits in all before the
	// error is reported (the next pass retries it); default 10 minutes.
	MaxWait time.Duration
}

// Client talks to one mailbox through Graph. Safe for concurrent use.
type Client struct {
	base    string
	mailbox string
	tokens  TokenSource
	http    *http.Client
	maxWait time.Duration
	sleep   func(context.Context, time.Duration) error
}

// New checks cfg and returns a Client; it does not reach Graph.
func New(cfg Config) (*Client, error) {
	base := strings.TrimSuffix(cfg.URL, "/")
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fault.InvalidField("graph_url", "%q is not the https URL of Microsoft Graph, e.g. %s", cfg.URL, DefaultURL)
	}
	if strings.TrimSpace(cfg.Mailbox) == "" {
		return nil, fault.InvalidField("graph_mailbox", "the Microsoft 365 mailbox (user principal name) is missing")
	}
	if cfg.Tokens == nil {
		return nil, fault.InvalidField("oauth2", "Microsoft Graph needs the app's OAuth2 credentials (tenant, client ID, secret or certificate)")
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	wait := cfg.MaxWait
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	return &Client{base: base, mailbox: cfg.Mailbox, tokens: cfg.Tokens, http: hc, maxWait: wait, sleep: sleepCtx}, nil
}

// String names the mailbox and service, never a token.
func (c *Client) String() string { return c.mailbox + " on " + c.base }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// userPath is the path of a mailbox-relative resource.
func (c *Client) userPath(rel string) string {
	return "/users/" + url.PathEscape(c.mailbox) + "/" + strings.TrimPrefix(rel, "/")
}

// response is one answer, read whole (Graph answers are small JSON).
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// apiError is Graph's error body: {"error":{"code":..,"message":..}}.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends one request to the mailbox-relative (or absolute, for
// @odata.nextLink) target and returns its answer; it renews the token once
// on 401 InvalidAuthenticationToken and waits out 429/503/504 answers.
// Answers other than 2xx come back as errors with a fault kind.
func (c *Client) do(ctx context.Context, method, target string, body any, hdr http.Header) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if b, ok := body.([]byte); ok {
			payload = b
		} else if payload, err = json.Marshal(body); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "cannot write the request for %s", target)
		}
	}
	full := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		full = c.base + target
	}
	renewed := false
	waited := time.Duration(0)
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, method, full, payload, body, hdr)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.Status == http.StatusUnauthorized && !renewed && graphCode(resp.Body) == "InvalidAuthenticationToken":
			// The token expired or was revoked before its time: get a new
			// one and ask again, once.
			renewed = true
			continue
		case resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable || resp.Status == http.StatusGatewayTimeout:
			d := retryAfter(resp.Header, attempt)
			if waited+d > c.maxWait {
				return nil, statusError(method, target, resp, waited)
			}
			if err := c.sleep(ctx, d); err != nil {
				return nil, err
			}
			waited += d
			continue
		case resp.Status/100 != 2:
			return nil, statusError(method, target, resp, waited)
		}
		return resp, nil
	}
}

func (c *Client) once(ctx context.Context, method, full string, payload []byte, body any, hdr http.Header) (*response, error) {
	tok, err := c.tokens.Token(ctx, c.mailbox)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, full, rd)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%s %s", method, redactURL(full))
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if payload != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fault.Wrap(fault.Temporary, err, "%s %s: the connection to Microsoft Graph failed (the next pass retries)", method, redactURL(full))
		}
		return nil, fault.Wrap(fault.Temporary, err, "%s %s", method, redactURL(full))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fault.Wrap(fault.Temporary, err, "%s %s: reading the answer", method, redactURL(full))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		c.tokens.Refused(c.mailbox, tok)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func graphCode(body []byte) string {
	var e apiError
	json.Unmarshal(body, &e)
	return e.Error.Code
}

// retryAfter is how long Graph asked to wait (Retry-After in seconds),
// else an exponential back-off from 2 s, at most 5 minutes.
func retryAfter(h http.Header, attempt int) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h.Get("Retry-After")); err == nil {
		return max(0, time.Until(t))
	}
	return min(5*time.Minute, time.Duration(2<<min(attempt, 8))*time.Second)
}

// statusError turns an answer into a fault error carrying Graph's words.
func statusError(method, target string, resp *response, waited time.Duration) error {
	var e apiError
	json.Unmarshal(resp.Body, &e)
	words := strings.TrimSpace(e.Error.Code + ": " + e.Error.Message)
	if e.Error.Code == "" {
		words = strings.TrimSpace(string(resp.Body))
	}
	if len(words) > 300 {
		words = words[:300] + "..."
	}
	what := fmt.Sprintf("%s %s: Microsoft Graph answered %d %s: %s", method, redactURL(target), resp.Status, http.StatusText(resp.Status), words)
	switch {
	case resp.Status == http.StatusUnauthorized:
		return fault.New(fault.Unauthenticated, "%s (check the app's credentials and that its secret or certificate has not expired)", what)
	case resp.Status == http.StatusForbidden:
		return fault.New(fault.Forbidden, "%s (grant the app the application permissions Calendars.ReadWrite, Contacts.ReadWrite and Tasks.ReadWrite.All with admin consent)", what)
	case resp.Status == http.StatusNotFound:
		return fault.New(fault.NotFound, "%s", what)
	case resp.Status == http.StatusPreconditionFailed || resp.Status == http.StatusConflict:
		return fault.New(fault.Conflict, "%s", what)
	case resp.Status == http.StatusRequestEntityTooLarge:
		return fault.New(fault.TooLarge, "%s", what)
	case resp.Status == http.StatusTooManyRequests || resp.Status >= 500:
		if waited > 0 {
			what += fmt.Sprintf(" (still throttled after waiting %s)", waited.Round(time.Second))
		}
		return fault.New(fault.Temporary, "%s", what)
	}
	return fault.New(fault.Refused, "%s", what)
}

// redactURL keeps a URL's path and drops its query (which can hold
// skip tokens that mean nothing to a person).
func redactURL(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}

// list reads every page of a collection (following @odata.nextLink) and
// hands each item's raw JSON to fn.
func (c *Client) list(ctx context.Context, target string, fn func(json.RawMessage) error) error {
	for target != "" {
		resp, err := c.do(ctx, http.MethodGet, target, nil, nil)
		if err != nil {
			return err
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return fault.Wrap(fault.Refused, err, "GET %s: Microsoft Graph's answer is not a collection", redactURL(target))
		}
		for _, v := range page.Value {
			if err := fn(v); err != nil {
				return err
			}
		}
		target = page.NextLink
		if target != "" && !strings.HasPrefix(target, c.base) {
			return fault.New(fault.Refused, "GET %s: the next page %s is not on %s; not followed", redactURL(target), redactURL(page.NextLink), c.base)
		}
	}
	return nil
}

// batchRequest is one request of a JSON $batch.
type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batch sends GET requests (mailbox-relative URLs) in JSON batches of at
// most 20 and returns each answer by index. A request throttled inside
// the batch (its own 429, with its own Retry-After) is sent again after
// the wait; other failed answers come back as errors in errs.
func (c *Client) batch(ctx context.Context, urls []string) ([]json.RawMessage, []error, error) {
	out := make([]json.RawMessage, len(urls))
	errs := make([]error, len(urls))
	pending := make([]int, len(urls))
	for i := range urls {
		pending[i] = i
	}
	waited := time.Duration(0)
	for attempt := 0; len(pending) > 0; attempt++ {
		var again []int
		var wait time.Duration
		for len(pending) > 0 {
			n := min(maxBatch, len(pending))
			chunk := pending[:n]
			pending = pending[n:]
			req := struct {
				Requests []batchRequest `json:"requests"`
			}{}
			for _, i := range chunk {
				req.Requests = append(req.Requests, batchRequest{ID: strconv.Itoa(i), Method: http.MethodGet, URL: c.userPath(urls[i])})
			}
			resp, err := c.do(ctx, http.MethodPost, "/$batch", req, nil)
			if err != nil {
				return nil, nil, err
			}
			var ans struct {
				Responses []batchResponse `json:"responses"`
			}
			if err := json.Unmarshal(resp.Body, &ans); err != nil {
				return nil, nil, fault.Wrap(fault.Refused, err, "POST $batch: Microsoft Graph's answer is not a batch answer")
			}
			seen := map[int]bool{}
			for _, r := range ans.Responses {
				i, err := strconv.Atoi(r.ID)
				if err != nil || i < 0 || i >= len(urls) {
					continue
				}
				seen[i] = true
				switch {
				case r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable:
					h := http.Header{}
					for k, v := range r.Headers {
						h.Set(k, v)
					}
					wait = max(wait, retryAfter(h, attempt))
					again = append(again, i)
				case r.Status/100 != 2:
					errs[i] = statusError(http.MethodGet, urls[i], &response{Status: r.Status, Body: r.Body}, 0)
				default:
					out[i] = r.Body
				}
			}
			for _, i := range chunk {
				if !seen[i] {
					errs[i] = fault.New(fault.Temporary, "GET %s: the $batch answer left this request out", urls[i])
				}
			}
		}
		if len(again) > 0 {
			if waited+wait > c.maxWait {
				for _, i := range again {
					errs[i] = fault.New(fault.Temporary, "GET %s: still throttled after waiting %s", urls[i], waited.Round(time.Second))
				}
				break
			}
			if err := c.sleep(ctx, wait); err != nil {
				return nil, nil, err
			}
			waited += wait
		}
		pending = again
	}
	return out, errs, nil
}
