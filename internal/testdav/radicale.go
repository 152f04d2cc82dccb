// Package testdav starts Radicale, a real CalDAV and CardDAV server, for
// tests: one process per call, on a free port, with its collections and
// users in a temporary directory. It runs as any user (root included) and
// needs the Debian package radicale (scripts/install-test-deps.sh).
package testdav

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Radicale is one running server. URL is its base URL (http://127.0.0.1:port/);
// users log in with HTTP Basic and the passwords given to Start.
type Radicale struct {
	URL   string
	Dir   string
	users map[string]string
	log   *lockedBuffer
}

// lockedBuffer holds Radicale's output; the process writes while a failing
// test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start runs Radicale with the given users (name -> password) and stops it
// when the test ends. It fails the test if Radicale is not installed.
func Start(tb testing.TB, users map[string]string) *Radicale {
	tb.Helper()
	return StartWith(tb, Options{Users: users})
}

// Options change how Radicale runs.
type Options struct {
	Users map[string]string // name -> password
	// MaxContentLength is the largest request body Radicale takes (it
	// answers 413 above it); 0 means 100 MB.
	MaxContentLength int
}

// StartWith is Start with options.
func StartWith(tb testing.TB, opts Options) *Radicale {
	tb.Helper()
	users := opts.Users
	if opts.MaxContentLength == 0 {
		opts.MaxContentLength = 100_000_000
	}
	bin, err := exec.LookPath("radicale")
	if err != nil {
		tb.Fatalf("testdav: radicale is not installed (run scripts/install-test-deps.sh): %v", err)
	}
	dir := tb.TempDir()
	var htpasswd strings.Builder
	for u, p := range users {
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, p)
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(htpasswd.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		conf := fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
max_content_length = %d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[logging]
level = warning
`, port, opts.MaxContentLength, filepath.Join(dir, "users"), filepath.Join(dir, "collections"))
		confPath := filepath.Join(dir, "config")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			tb.Fatal(err)
		}
		r := &Radicale{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Dir: dir, users: users, log: new(lockedBuffer)}
		cmd := exec.Command(bin, "--config", confPath)
		cmd.Stdout, cmd.Stderr = r.log, r.log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("testdav: start radicale: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		err = waitListening(port, exited, 20*time.Second)
		if err == nil {
			return r
		}
		if attempt < 3 && strings.Contains(r.log.String(), "in use") {
			continue // another process took the port between freePort and bind
		}
		tb.Fatalf("testdav: radicale did not start: %v\n%s", err, r.log.String())
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls until the port accepts connections, or the process ends.
func waitListening(port int, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("radicale exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Password returns the password of user.
func (r *Radicale) Password(user string) string { return r.users[user] }

// MakeCalendar creates the calendar /user/name/ holding the given components
// (VEVENT, VTODO), with a display name and colour.
func (r *Radicale) MakeCalendar(tb testing.TB, user, name, displayName, color string, components ...string) string {
	tb.Helper()
	var comps strings.Builder
	for _, c := range components {
		fmt.Fprintf(&comps, `<C:comp name="%s"/>`, c)
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:I="http://apple.com/ns/ical/">
<D:set><D:prop><D:displayname>%s</D:displayname><I:calendar-color>%s</I:calendar-color>
<C:supported-calendar-component-set>%s</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`,
		displayName, color, comps.String())
	return r.mk(tb, "MKCALENDAR", user, name, body)
}

// MakeAddressBook creates the address book /user/name/.
func (r *Radicale) MakeAddressBook(tb testing.TB, user, name, displayName string) string {
	tb.Helper()
	body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
<D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
<D:displayname>%s</D:displayname></D:prop></D:set></D:mkcol>`, displayName)
	return r.mk(tb, "MKCOL", user, name, body)
}

func (r *Radicale) mk(tb testing.TB, method, user, name, body string) string {
	tb.Helper()
	path := "/" + user + "/" + name + "/"
	resp, err := r.Do(context.Background(), user, method, path, "application/xml", []byte(body))
	if err != nil {
		tb.Fatalf("testdav: %s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("testdav: %s %s: %s", method, path, resp.Status)
	}
	return path
}

// Put stores one object as given (bytes untouched) at path.
func (r *Radicale) Put(tb testing.TB, user, path, contentType string, data []byte) {
	tb.Helper()
	resp, err := r.Do(context.Background(), user, http.MethodPut, path, contentType, data)
	if err != nil {
		tb.Fatalf("testdav: PUT %s: %v", path, err)
	}
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("testdav: PUT %s: %s", path, resp.Status)
	}
}

// Do sends one request as user; the answer's body is read and closed (use
// DoBody for its bytes).
func (r *Radicale) Do(ctx context.Context, user, method, path, contentType string, body []byte) (*http.Response, error) {
	resp, _, err := r.DoBody(ctx, user, method, path, contentType, body)
	return resp, err
}

// DoBody is Do that also returns the answer's body.
func (r *Radicale) DoBody(ctx context.Context, user, method, path, contentType string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(r.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth(user, r.users[user])
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp, buf.Bytes(), err
}

// Log returns what Radicale printed, for failure messages.
func (r *Radicale) Log() string { return r.log.String() }
