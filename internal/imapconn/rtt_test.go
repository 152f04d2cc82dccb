package imapconn_test

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

// On Linux the kernel tells a connection's network round trip: on
// loopback far below a millisecond however busy the server is, where the
// time of a command's answer counts the server's work too. Through a
// dialer of Ferry's caller (a proxy, a test's fault injector) it cannot
// say, and the engine measures a command instead.
func TestNetworkRTT(t *testing.T) {
	t.Parallel()
	srv := testimap.StartMem(t, testimap.User{Name: "alice", Password: "pw"})
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	ep := imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: "alice", Password: "pw", AllowPlaintext: true}
	for _, tc := range []struct {
		name   string
		dialer func(ctx context.Context, network, addr string) (net.Conn, error)
		wantOK bool
	}{
		{"dialed by Ferry", nil, runtime.GOOS == "linux"},
		{"dialed by the caller", func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return struct{ net.Conn }{c}, err
		}, false},
	} {
		c, err := imapconn.Dial(context.Background(), ep, imapconn.Options{DialContext: tc.dialer})
		if err != nil {
			t.Fatal(err)
		}
		rtt, ok := c.NetworkRTT()
		c.Logout()
		if ok != tc.wantOK {
			t.Errorf("%s: told a round trip: %v, want %v", tc.name, ok, tc.wantOK)
		}
		if ok && (rtt <= 0 || rtt > 50*time.Millisecond) {
			t.Errorf("%s: round trip on loopback %s", tc.name, rtt)
		}
	}
}
