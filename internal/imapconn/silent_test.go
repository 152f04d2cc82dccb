package imapconn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

func endpointAt(t *testing.T, addr string, sec imapconn.Security) imapconn.Endpoint {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return imapconn.Endpoint{Host: host, Port: p, Security: sec, User: "alice", Password: "pw", AllowPlaintext: true}
}

// TestSilentServersEndWithinTheTimeout: a server that accepts and never
// greets (or never answers the TLS handshake), or greets and never answers
// LOGIN, must not hold Dial or DialAppender beyond the timeout, and the
// error must say that the server went silent and is not worth retrying.
func TestSilentServersEndWithinTheTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	silent, mute := testimap.StartSilent(t), testimap.StartMuteAfterGreeting(t)
	tests := []struct {
		name string
		addr string
		sec  imapconn.Security
		op   string
	}{
		{"no greeting", silent, imapconn.SecurityStartTLS, "greeting"},
		{"no TLS handshake", silent, imapconn.SecurityTLS, "TLS handshake"},
		{"no answer to LOGIN", mute, imapconn.SecurityStartTLS, "log in"},
	}
	dialers := map[string]func(context.Context, imapconn.Endpoint, imapconn.Options) error{
		"Dial": func(ctx context.Context, ep imapconn.Endpoint, o imapconn.Options) error {
			c, err := imapconn.Dial(ctx, ep, o)
			if err == nil {
				c.Close()
			}
			return err
		},
		"DialAppender": func(ctx context.Context, ep imapconn.Endpoint, o imapconn.Options) error {
			a, err := imapconn.DialAppender(ctx, ep, o)
			if err == nil {
				a.Close()
			}
			return err
		},
	}
	for _, tt := range tests {
		for dname, dial := range dialers {
			t.Run(tt.name+"/"+dname, func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				done := make(chan error, 1)
				go func() {
					done <- dial(context.Background(), endpointAt(t, tt.addr, tt.sec), imapconn.Options{Timeout: timeout})
				}()
				var err error
				select {
				case err = <-done:
				case <-time.After(20 * timeout):
					t.Fatalf("still connecting after %s (timeout %s)", 20*timeout, timeout)
				}
				if took := time.Since(start); took > 5*timeout {
					t.Errorf("took %s with a timeout of %s", took, timeout)
				}
				if err == nil || !strings.Contains(err.Error(), tt.op) || !strings.Contains(err.Error(), "sent nothing") {
					t.Fatalf("err = %v, want a %q failure saying the server sent nothing", err, tt.op)
				}
				if imapconn.IsTemporary(err) {
					t.Errorf("a server that accepts and stays silent is reported temporary (retried): %v", err)
				}
			})
		}
	}
}

// TestCancelEndsConnectingToASilentServer: a signal (the context) ends a
// connection attempt at once, even with a long timeout.
func TestCancelEndsConnectingToASilentServer(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{testimap.StartSilent(t), testimap.StartMuteAfterGreeting(t)} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := imapconn.Dial(ctx, endpointAt(t, addr, imapconn.SecurityStartTLS), imapconn.Options{Timeout: time.Hour})
			done <- err
		}()
		time.AfterFunc(100*time.Millisecond, cancel)
		select {
		case err := <-done:
			if err == nil || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "closed") {
				t.Errorf("%s: err = %v", addr, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Dial did not end within 5s of its context's cancellation", addr)
		}
	}
}

// TestUntrustedCertificateIsPermanent: a certificate Ferry does not trust
// is a permanent error naming the certificate (not retried as a network
// failure), with implicit TLS and with STARTTLS, on both connection kinds.
func TestUntrustedCertificateIsPermanent(t *testing.T) {
	t.Parallel()
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}, TLS: true})
	for _, tt := range []struct {
		name string
		ep   imapconn.Endpoint
	}{
		{"imaps", endpointAt(t, d.TLSAddr, imapconn.SecurityTLS)},
		{"STARTTLS", endpointAt(t, d.Addr, imapconn.SecurityStartTLS)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for dname, dial := range map[string]func() error{
				"Dial": func() error {
					_, err := imapconn.Dial(context.Background(), tt.ep, imapconn.Options{Timeout: 5 * time.Second})
					return err
				},
				"DialAppender": func() error {
					_, err := imapconn.DialAppender(context.Background(), tt.ep, imapconn.Options{Timeout: 5 * time.Second})
					return err
				},
			} {
				err := dial()
				if err == nil || !strings.Contains(err.Error(), "certificate") || imapconn.IsTemporary(err) {
					t.Errorf("%s: err = %v (temporary %v), want a permanent certificate error", dname, err, imapconn.IsTemporary(err))
				}
			}
		})
	}
}

// TestStartTLSOnTheFirstConnection: a server whose greeting offers STARTTLS
// is secured on the connection that greeted, not on a second one: each
// connection costs the server a login process's work and the link round
// trips. A server that does not offer it is used as it is (AllowPlaintext).
func TestStartTLSOnTheFirstConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tls  bool
	}{
		{"STARTTLS offered", true},
		{"no STARTTLS, plaintext allowed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}, TLS: tc.tls})
			ep := endpointAt(t, d.Addr, imapconn.SecurityStartTLS)
			if tc.tls {
				ep.TLSConfig = &tls.Config{RootCAs: d.RootCAs, ServerName: "127.0.0.1"}
			}
			var dials atomic.Int32
			var d0 net.Dialer
			opts := imapconn.Options{Timeout: 5 * time.Second, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return d0.DialContext(ctx, network, addr)
			}}
			c, err := imapconn.Dial(context.Background(), ep, opts)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Logout()
			if n := dials.Load(); n != 1 {
				t.Errorf("Dial opened %d connections, want 1", n)
			}
			if err := c.Noop().Wait(); err != nil {
				t.Errorf("NOOP after login: %v", err)
			}
		})
	}
}
