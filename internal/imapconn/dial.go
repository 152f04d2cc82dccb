package imapconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// DefaultTimeout is how long a server may stay silent while Ferry waits for it.
const DefaultTimeout = 90 * time.Second

// Options tune a connection.
type Options struct {
	// Timeout: a connection with a command outstanding and no byte received
	// for this long is declared dead and closed. Zero means DefaultTimeout.
	Timeout time.Duration
	// DialContext replaces net.Dialer (tests route through fault proxies).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// DeferNamespace: Dial does not read the personal namespace (Delim
	// and Prefix stay unset); the caller asks with StartNamespace, in the
	// same round trip as its first command, or never, when another
	// connection to the same mailbox told it already.
	DeferNamespace bool
}

// Conn is a logged-in IMAP connection.
type Conn struct {
	*imapclient.Client
	Endpoint Endpoint
	// Delim is the hierarchy separator, 0 for a flat server.
	Delim rune
	// Prefix is the personal namespace prefix ("" or e.g. "INBOX.").
	Prefix string
	// AppendLimit is the largest message the server accepts (APPENDLIMIT), 0 when unknown.
	AppendLimit int64

	watch *watchedConn
	tail  *byeTail
	// lit sends literals non-synchronizing once the login is done and the
	// server has LITERAL+ (it sits after TLS: Ferry performs STARTTLS
	// itself, see startTLS).
	lit *litPlusConn
}

// Dial connects, secures and logs in. Errors are *Error; a refused login is
// permanent, a network failure temporary. The watchdog runs from the first
// byte: a server silent for opt.Timeout at connect, TLS, greeting or login
// ends Dial (ErrSilentServer), and so does ctx.
func Dial(ctx context.Context, ep Endpoint, opt Options) (*Conn, error) {
	side := ep.String()
	w, err := dialWatched(ctx, ep, opt)
	if err != nil {
		return nil, err
	}
	w.eofIsMidAnswer = true
	tlsConf := ep.tlsConfig()
	tail := &byeTail{}
	copts := &imapclient.Options{TLSConfig: tlsConf, DebugWriter: tail}

	var c *imapclient.Client
	var lit *litPlusConn
	upgraded := false // secured by STARTTLS already
	w.begin()
	switch ep.Security {
	case SecurityTLS:
		tc := tls.Client(w, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			w.Close()
			return nil, w.setupErr("TLS handshake with "+side, err, "check the host and port (imaps:// is usually port 993) and the server certificate")
		}
		lit = newLitPlusConn(tc)
		c = imapclient.New(lit, copts)
	default:
		// A greeting that offers STARTTLS lets this connection be secured
		// at once; without it the capabilities are asked for below.
		greeting, replay, err := readGreeting(w)
		if err != nil {
			w.end()
			w.Close()
			return nil, w.setupErr("greeting from "+side, err, "")
		}
		if ep.Security == SecurityStartTLS && greetingOffers(greeting, imap.CapStartTLS) {
			tc, err := startTLS(ctx, w, replay, tlsConf)
			if err != nil {
				w.end()
				w.Close()
				return nil, w.setupErr("STARTTLS with "+side, err, startTLSHint(err))
			}
			lit = newLitPlusConn(tc)
			c = imapclient.New(lit, copts)
			upgraded = true
		} else {
			lit = newLitPlusConn(replay)
			c = imapclient.New(lit, copts)
		}
	}
	if err := c.WaitGreeting(); err != nil {
		w.end()
		c.Close()
		return nil, w.setupErr("greeting from "+side, err, "")
	}
	w.end()
	conn := &Conn{Client: c, Endpoint: ep, watch: w, tail: tail, lit: lit}
	if ep.Security == SecurityStartTLS && !upgraded {
		if c.Caps().Has(imap.CapStartTLS) {
			// The connection is secured before anything else is said on it:
			// redo it.
			c.Close()
			if w, err = dialWatched(ctx, ep, opt); err != nil {
				return nil, err
			}
			w.eofIsMidAnswer = true
			w.begin()
			var tc net.Conn
			_, replay, err := readGreeting(w)
			if err == nil {
				tc, err = startTLS(ctx, w, replay, tlsConf)
			}
			if err == nil {
				lit = newLitPlusConn(tc)
				c = imapclient.New(lit, copts)
				err = c.WaitGreeting()
			}
			w.end()
			if err != nil {
				w.Close()
				return nil, w.setupErr("STARTTLS with "+side, err, startTLSHint(err))
			}
			conn.Client, conn.watch, conn.lit = c, w, lit
		} else if !ep.AllowPlaintext {
			c.Close()
			return nil, errNoStartTLS(side)
		}
	}
	if err := conn.login(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	tail.armed.Store(true) // after the login: credentials never enter the tail
	if err := conn.learn(opt.DeferNamespace); err != nil {
		conn.Close()
		return nil, err
	}
	if conn.lit != nil && conn.Caps().Has(imap.CapLiteralPlus) {
		// After the login: its literals (the password) stay synchronizing.
		conn.lit.on.Store(true)
	}
	return conn, nil
}

// maxGreeting bounds the greeting line read before the IMAP client takes
// the connection over.
const maxGreeting = 16 << 10

// readGreeting reads the server's greeting line and returns it with a
// connection that hands it out again first, for the IMAP client.
func readGreeting(w *watchedConn) (string, net.Conn, error) {
	br := bufio.NewReaderSize(w, 4096)
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		line = append(line, part...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull || len(line) > maxGreeting {
			if err == bufio.ErrBufferFull {
				err = fmt.Errorf("greeting longer than %d bytes", maxGreeting)
			}
			return "", nil, err
		}
	}
	return string(line), &replayConn{Conn: w, r: io.MultiReader(bytes.NewReader(line), br)}, nil
}

// errStartTLSRefused: the server answered STARTTLS with NO or BAD.
var errStartTLSRefused = errors.New("the server refused STARTTLS")

// startTLSHint is the hint for a failed STARTTLS.
func startTLSHint(err error) string {
	if errors.Is(err, errStartTLSRefused) {
		return "the server offered STARTTLS but refused it; use imaps:// (usually port 993)"
	}
	return "the server offered STARTTLS but the TLS handshake failed; check its certificate"
}

// startTLS secures a connection whose greeting was read (r reads on after
// it) with STARTTLS. What the server sends after its OK and before the
// handshake is dropped (it could be an attacker's, injected in clear).
// imapclient
// takes the secured connection over as a new one: it reads a greeting of
// Ferry's (without capabilities, which are asked for again over TLS).
func startTLS(ctx context.Context, w *watchedConn, r io.Reader, conf *tls.Config) (net.Conn, error) {
	if _, err := io.WriteString(w, "S1 STARTTLS\r\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull {
				err = errors.New("answer to STARTTLS too long")
			}
			return nil, err
		}
		if tagged, ok := bytes.CutPrefix(line, []byte("S1 ")); ok {
			if len(tagged) < 2 || !strings.EqualFold(string(tagged[:2]), "OK") {
				return nil, fmt.Errorf("%w: %s", errStartTLSRefused, bytes.TrimSpace(tagged))
			}
			break
		}
	}
	tc := tls.Client(w, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return &replayConn{Conn: tc, r: io.MultiReader(strings.NewReader("* OK TLS is on\r\n"), tc)}, nil
}

// greetingOffers says whether the greeting's CAPABILITY response code
// ("* OK [CAPABILITY ... STARTTLS ...] ready") names the capability.
func greetingOffers(greeting string, c imap.Cap) bool {
	rest, ok := strings.CutPrefix(strings.ToUpper(greeting), "* OK [CAPABILITY ")
	if !ok {
		return false
	}
	caps, _, ok := strings.Cut(rest, "]")
	return ok && slices.Contains(strings.Fields(caps), strings.ToUpper(string(c)))
}

// replayConn reads from r (the greeting again, then the connection).
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// recordingSASL notes each SASL answer as it goes to the server (base64,
// as the server sees it), so that a server quoting it back in a refusal
// has it cut from its words: a PLAIN answer holds the password.
type recordingSASL struct {
	sasl.Client
	sent *[]string
}

func (r *recordingSASL) Start() (string, []byte, error) {
	mech, ir, err := r.Client.Start()
	r.note(ir)
	return mech, ir, err
}

func (r *recordingSASL) Next(challenge []byte) ([]byte, error) {
	resp, err := r.Client.Next(challenge)
	r.note(resp)
	return resp, err
}

func (r *recordingSASL) note(b []byte) {
	if len(b) > 0 {
		*r.sent = append(*r.sent, base64.StdEncoding.EncodeToString(b))
	}
}

// dialWatched opens the TCP connection, bounded by the timeout and ctx, and
// starts its watchdog.
func dialWatched(ctx context.Context, ep Endpoint, opt Options) (*watchedConn, error) {
	if opt.Timeout == 0 {
		opt.Timeout = DefaultTimeout
	}
	dial := opt.DialContext
	if dial == nil {
		// A TCP connect that takes more than 30 s is not coming; a shorter
		// --timeout bounds it too.
		d := &net.Dialer{Timeout: min(opt.Timeout, 30*time.Second), KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	raw, err := dial(ctx, "tcp", ep.Addr())
	if err != nil {
		e := Classify("connect to "+ep.String(), err)
		e.Temporary = ctx.Err() == nil
		return nil, e
	}
	w := newWatchedConn(raw, opt.Timeout)
	go w.watch(ctx)
	return w, nil
}

// setupErr classifies a failure while the connection is set up, saying so
// when the cause was the server's silence.
func (w *watchedConn) setupErr(op string, err error, hint string) *Error {
	switch {
	case w.stopped.Load():
		err = context.Canceled // the connection was closed because the run is stopping
	case w.killed.Load():
		err = fmt.Errorf("%w for %s", ErrSilentServer, w.timeout)
	}
	e := Classify(op, err)
	if hint != "" && e.Hint == "" {
		e.Hint = hint
	}
	return e
}

func (c *Conn) login(ctx context.Context) error {
	ep := c.Endpoint
	op := "log in to " + ep.String()
	var err error
	// sent: a token from a source, and the SASL answers as they went out
	// (base64), to keep out of the server's words.
	var sent []string
	authenticate := func(sc sasl.Client) error { return c.Authenticate(&recordingSASL{Client: sc, sent: &sent}) }
	c.watch.begin()
	defer c.watch.end()
	switch {
	case ep.usesOAuth2():
		mech := ep.oauth2Mechanism(c.Caps())
		err = xoauth2Login(ctx, ep, op, func(token string) error {
			sent = append(sent, token)
			return authenticate(&oauth2SASL{mech: mech, ir: oauth2Response(mech, ep.Mailbox(), ep.Host, ep.Port, token)})
		})
	case ep.ActAs != "":
		if !c.Caps().Has(imap.Cap("AUTH=PLAIN")) {
			return &Error{Op: op, Err: errors.New("the server does not offer AUTH=PLAIN"), Hint: "an administrator login acting for a mailbox needs SASL PLAIN with an authorization identity"}
		}
		err = authenticate(sasl.NewPlainClient(ep.ActAs, ep.User, ep.Password))
	case c.Caps().Has(imap.Cap("AUTH=PLAIN")):
		err = authenticate(sasl.NewPlainClient("", ep.User, ep.Password))
	default:
		err = c.Login(ep.User, ep.Password).Wait()
	}
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) { // some servers quote the credentials they refused
			redacted := *ie
			redacted.Text = redactSecrets(ie.Text, append([]string{ep.Password, ep.OAuth2Token}, sent...)...)
			ie, err = &redacted, &redacted
		}
		e := c.watch.setupErr(op, err, "")
		e.Login = ie != nil
		if ie != nil && !e.Temporary && ep.usesOAuth2() {
			if e.Hint == "" || ep.Tokens == nil {
				e.Hint = "the server refused the OAuth2 token: it may have expired (tokens last about an hour) or not be valid for this mailbox; give the app's credentials instead (--from/--to-oauth2-client-id and a secret or certificate, or a Google service account key) and Ferry renews tokens itself"
			}
		} else if ie != nil && !e.Temporary {
			e.Hint = "check the user name and password"
			if ep.ActAs != "" {
				e.Hint = "check the administrator's name and password and that it may act for " + ep.ActAs
			}
			if ie.Code == imap.ResponseCodePrivacyRequired || strings.Contains(strings.ToLower(ie.Text), "plaintext") {
				e.Hint = "the server wants an encrypted login: use imaps:// or STARTTLS"
			}
		}
		return e
	}
	return nil
}

// learn reads what the rest of Ferry needs to know about the server: the
// namespace too, unless deferNamespace.
func (c *Conn) learn(deferNamespace bool) error {
	c.watch.begin()
	defer c.watch.end()
	caps := c.Caps()
	if len(caps) == 0 {
		var err error
		if caps, err = c.Capability().Wait(); err != nil {
			return c.watch.setupErr("read capabilities of "+c.Endpoint.String(), err, "")
		}
	}
	for cap := range caps {
		if v, ok := strings.CutPrefix(string(cap), "APPENDLIMIT="); ok {
			fmt.Sscan(v, &c.AppendLimit)
		}
	}
	if deferNamespace {
		return nil
	}
	return c.StartNamespace()()
}

// StartNamespace sends the command that reads the personal namespace
// (its prefix and hierarchy separator) and returns what waits for its
// answer and sets Delim and Prefix. Commands sent before the wait share
// its round trip. Run both within Do.
func (c *Conn) StartNamespace() (wait func() error) {
	var ns *imapclient.NamespaceCommand
	if c.Caps().Has(imap.CapNamespace) {
		ns = c.Namespace()
	}
	return func() error {
		if ns != nil {
			data, err := ns.Wait()
			if err != nil {
				return c.watch.setupErr("read namespaces of "+c.Endpoint.String(), err, "")
			}
			if len(data.Personal) > 0 {
				c.Prefix = data.Personal[0].Prefix
				c.Delim = data.Personal[0].Delim
			}
		}
		if c.Delim == 0 {
			list, err := c.List("", "", nil).Collect()
			if err != nil {
				return c.watch.setupErr("read the hierarchy separator of "+c.Endpoint.String(), err, "")
			}
			if len(list) > 0 {
				c.Delim = list[0].Delim
			}
		}
		return nil
	}
}

// Do runs fn with the dead-connection watchdog armed: if the server sends
// nothing for the timeout while fn waits, the connection is closed and fn's
// wait returns an error that Classify calls temporary.
func (c *Conn) Do(fn func() error) error {
	c.watch.begin()
	defer c.watch.end()
	err := fn()
	if err != nil && c.watch.killed.Load() {
		return fmt.Errorf("%w: %v", ErrDeadConnection, err)
	}
	if err != nil && c.State() == imap.ConnStateLogout {
		if words := c.tail.bye(); words != "" {
			// The server said why before it closed the connection.
			return fmt.Errorf("%w (%v)", &imap.Error{Type: imap.StatusResponseTypeBye, Text: words}, err)
		}
	}
	return err
}

// byeTail keeps the last bytes of a connection's traffic, so that the
// words of a BYE the server sent just before closing the connection reach
// the user: imapclient reads such a BYE but reports only io.ErrUnexpectedEOF.
// It sees the traffic after TLS (imapclient's DebugWriter) and records
// nothing until armed after the login.
type byeTail struct {
	armed atomic.Bool
	mu    sync.Mutex
	buf   []byte
}

const byeTailSize = 512

func (t *byeTail) Write(p []byte) (int, error) {
	if !t.armed.Load() {
		return len(p), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= byeTailSize {
		t.buf = append(t.buf[:0], p[len(p)-byeTailSize:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - byeTailSize; over > 0 {
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// bye is the text of the last untagged BYE in the tail, or "".
func (t *byeTail) bye() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := bytes.LastIndex(t.buf, []byte("* BYE "))
	if i < 0 || i > 0 && t.buf[i-1] != '\n' {
		return ""
	}
	line := t.buf[i+len("* BYE "):]
	if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	return string(line)
}

// Close drops the connection without a LOGOUT round trip. It waits for
// imapclient's reader goroutine to end, and that goroutine waits for every
// message body of a FETCH it handed over to be read to its end (or to fail):
// Close with a body handed over and unread never returns. A FETCH given up
// in the middle is ended with Cut first.
func (c *Conn) Close() error { return c.Client.Close() }

// Cut closes the connection's socket at once, without waiting for anyone:
// nothing more arrives, what the client had already buffered can still be
// read (a read past it fails), and the server sees the connection end.
// Close afterwards.
func (c *Conn) Cut() { c.watch.Close() }

// Logout says goodbye politely, bounded in time.
func (c *Conn) Logout() {
	done := make(chan struct{})
	go func() { c.Client.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	c.Client.Close()
}

// errClosedMidAnswer is what reading the connection of an imapclient
// returns, instead of io.EOF, when the server closes it while a command is
// outstanding (see watchedConn.Read).
var errClosedMidAnswer = fmt.Errorf("the server closed the connection before it finished answering: %w", io.ErrUnexpectedEOF)

// watchedConn notices when a server goes silent while a command is
// outstanding: a read has waited for the timeout with no byte moving either
// way. Ferry's own pauses are not the server's silence: while nothing reads
// (a message body waits for a slow destination) or while the bytes of a
// long upload still leave, the connection is alive. lastByte is when a byte
// was last read or written.
type watchedConn struct {
	net.Conn
	timeout  time.Duration
	busy     atomic.Int32
	lastByte atomic.Int64
	killed   atomic.Bool // closed by the watchdog: the server was silent
	stopped  atomic.Bool // closed because the context ended
	once     sync.Once
	closed   chan struct{}

	// eofIsMidAnswer: the server closing the connection while a command is
	// outstanding reads as errClosedMidAnswer (connections of imapclient).
	eofIsMidAnswer bool
	// readSince is when the pending Read began, 0 when none is pending.
	readSince atomic.Int64
}

func newWatchedConn(c net.Conn, timeout time.Duration) *watchedConn {
	w := &watchedConn{Conn: c, timeout: timeout, closed: make(chan struct{})}
	w.lastByte.Store(time.Now().UnixNano())
	return w
}

func (w *watchedConn) Read(p []byte) (int, error) {
	w.readSince.Store(time.Now().UnixNano())
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.lastByte.Store(time.Now().UnixNano())
	}
	w.readSince.Store(0)
	if err == io.EOF && w.eofIsMidAnswer && w.busy.Load() > 0 {
		// imapclient (go-imap v2.0.0-beta.8, beta.9 alike) takes io.EOF
		// inside a message body for the body's end: the short body reads as
		// whole, and its reader goroutine goes on reading the connection
		// while FetchCommand.Close or FetchMessageData.Collect read "the
		// rest of the body" from the caller's goroutine, a data race on
		// its buffer. Any other error leaves the body open, so that the
		// reader goroutine stops without reading ("cannot decode while a
		// literal is open"). Not io.ErrUnexpectedEOF itself: crypto/tls
		// turns that back into io.EOF at a record boundary.
		err = errClosedMidAnswer
	}
	return n, err
}

func (w *watchedConn) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	if n > 0 {
		w.lastByte.Store(time.Now().UnixNano())
	}
	return n, err
}

// ReadFrom keeps writes going through Write (the embedded connection's
// ReadFrom would send around it, unseen by the watchdog).
func (w *watchedConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w}, r)
}

func (w *watchedConn) Close() error {
	w.once.Do(func() { close(w.closed) })
	return w.Conn.Close()
}

func (w *watchedConn) begin() {
	if w.busy.Add(1) == 1 {
		w.lastByte.Store(time.Now().UnixNano())
	}
}

func (w *watchedConn) end() { w.busy.Add(-1) }

// silent: a command is outstanding and a read has waited longer than the
// timeout, with no byte read or written meanwhile.
func (w *watchedConn) silent() bool {
	since := w.readSince.Load()
	if w.busy.Load() == 0 || since == 0 {
		return false
	}
	return time.Since(time.Unix(0, max(since, w.lastByte.Load()))) > w.timeout
}

func (w *watchedConn) watch(ctx context.Context) {
	tick := w.timeout / 8
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-w.closed:
			return
		case <-ctx.Done():
			w.stopped.Store(true)
			w.Close()
			return
		case <-t.C:
			if w.silent() {
				w.killed.Store(true)
				w.Close()
				return
			}
		}
	}
}

// oauth2SASL is the SASL XOAUTH2 mechanism (Google, Microsoft), absent
// from go-sasl, or OAUTHBEARER (RFC 7628; go-sasl's answers the server's
// error challenge with a client error instead of the dummy response, so
// the server's NO, which renews the token, would never come).
type oauth2SASL struct {
	mech OAuth2Mechanism
	ir   []byte
}

func (x *oauth2SASL) Start() (string, []byte, error) { return string(x.mech), x.ir, nil }

// Next answers the server's error challenge so that it sends its final NO.
// The protocol asks for an empty response, but imapclient writes an empty
// response as "=", which Dovecot refuses as bad base64 and then drops the
// connection; a single 0x01 (the dummy response of OAUTHBEARER, RFC 7628
// 3.2.3) ends the exchange with the NO everywhere.
func (x *oauth2SASL) Next([]byte) ([]byte, error) { return []byte{1}, nil }

func (ep Endpoint) tlsConfig() *tls.Config {
	conf := &tls.Config{}
	if ep.TLSConfig != nil {
		conf = ep.TLSConfig.Clone()
	}
	if conf.ServerName == "" {
		conf.ServerName = ep.Host
	}
	return conf
}
