// Package testimap starts real IMAP servers (Dovecot) for tests and
// benchmarks.
//
// The harness expects to run as root on a Debian-like system with Dovecot
// 2.3 installed (see scripts/install-test-deps.sh). Every instance gets its
// own temporary directory, base_dir, ports and log file, so any number of
// instances can run side by side in parallel tests.
package testimap

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Paths of the Dovecot binaries (Debian packages dovecot-core and
// dovecot-imapd).
const (
	DovecotBin = "/usr/sbin/dovecot"
	DoveadmBin = "/usr/bin/doveadm"
)

// Mailbox layouts understood by StartDovecot.
const (
	// LayoutFS: hierarchy separator "/", no namespace prefix; folders live
	// at the top level next to INBOX (e.g. "Projects/2024").
	LayoutFS = "fs"
	// LayoutMaildirPP: hierarchy separator ".", personal namespace prefix
	// "INBOX."; all folders live under INBOX (e.g. "INBOX.Projects.2024"),
	// like Courier-IMAP and many hosting providers.
	LayoutMaildirPP = "maildir++"
)

// DovecotOptions configures StartDovecot.
type DovecotOptions struct {
	// Layout is LayoutFS ("fs", the default) or LayoutMaildirPP
	// ("maildir++").
	Layout string
	// Users are the mailbox users; at least one is required.
	Users []User
	// MasterUser, if set, may log in as any user via SASL PLAIN with an
	// authorization identity (authzid = target user, authcid = master
	// user), or with LOGIN "target*master" (auth_master_user_separator).
	MasterUser *User
	// AppendLimit, if > 0, is the maximum message size the server accepts;
	// it is advertised as APPENDLIMIT=n in CAPABILITY (both before and after
	// login) and enforced (APPEND of a larger message fails with NO
	// [LIMIT]). 0 means no limit.
	AppendLimit int64
	// Quota, if > 0, gives every user a storage quota of this many bytes
	// (the quota plugin, with imap_quota: QUOTA, GETQUOTAROOT); SetQuota
	// changes one user's. A message that would take a mailbox over it is
	// refused with NO [OVERQUOTA].
	Quota int64
	// TLS additionally listens with implicit TLS (imaps, TLSAddr) and offers
	// STARTTLS on the plain port, using a self-signed certificate for
	// 127.0.0.1/localhost generated at start (trusted by RootCAs).
	TLS bool
	// OAuth2IntrospectionURL, when set, also accepts XOAUTH2 and
	// OAUTHBEARER logins: Dovecot's oauth2 passdb checks each token at this
	// RFC 7662 introspection endpoint (POST), e.g. testoauth's
	// IntrospectURL. Passwords keep working for PLAIN and LOGIN.
	OAuth2IntrospectionURL string
	// OAuth2Mechanisms are the OAuth2 SASL mechanisms offered with
	// OAuth2IntrospectionURL: "xoauth2 oauthbearer" when empty (e.g.
	// "oauthbearer" alone for a server that offers only RFC 7628's).
	OAuth2Mechanisms string
}

// User is an IMAP account.
type User struct{ Name, Password string }

// Dovecot is a running Dovecot instance started by StartDovecot.
type Dovecot struct {
	Addr    string         // 127.0.0.1:port of plain IMAP (STARTTLS offered when TLS)
	TLSAddr string         // 127.0.0.1:port of imaps when TLS, else ""
	RootCAs *x509.CertPool // trusts the server certificate when TLS, else nil
	Dir     string         // the instance's temporary directory
	Config  string         // path of its dovecot.conf

	Host     string // "127.0.0.1"
	Port     int    // port of Addr
	TLSPort  int    // port of TLSAddr when TLS, else 0
	CertFile string // PEM server certificate when TLS (usable as ssl_client_ca_file)
	LogFile  string // Dovecot's log (master, login, imap, auth)

	Layout string // LayoutFS or LayoutMaildirPP
	Delim  rune   // hierarchy separator: '/' (fs) or '.' (maildir++)
	Prefix string // personal namespace prefix: "" (fs) or "INBOX." (maildir++)

	Opts DovecotOptions // effective options (Layout filled in)

	mu    sync.Mutex
	users map[string]string // name -> password

	mailUID, mailGID int
	usersFile        string
	homeDir          string

	tb     testing.TB
	cmd    *exec.Cmd
	exited <-chan struct{}
	exit   procExit // how the server process ended
	killed bool
}

// StartDovecot starts a private Dovecot instance and waits until its IMAP
// port(s) greet. It registers tb.Cleanup to stop the server and remove its
// files. On failure it calls tb.Fatalf with the tail of Dovecot's log.
func StartDovecot(tb testing.TB, opts DovecotOptions) *Dovecot {
	tb.Helper()

	if _, err := os.Stat(DovecotBin); err != nil {
		tb.Fatalf("testimap: %s not found (%v): install the test dependencies with scripts/install-test-deps.sh (run as root; `make` runs it)", DovecotBin, err)
	}
	if os.Geteuid() != 0 {
		tb.Fatalf("testimap: StartDovecot must run as root (Dovecot switches to the dovecot/dovenull/mail users)")
	}

	d := &Dovecot{
		Host:   "127.0.0.1",
		tb:     tb,
		Opts:   opts,
		users:  map[string]string{},
		exited: make(chan struct{}),
	}
	switch opts.Layout {
	case "", LayoutFS:
		d.Layout, d.Delim, d.Prefix = LayoutFS, '/', ""
	case LayoutMaildirPP:
		d.Layout, d.Delim, d.Prefix = LayoutMaildirPP, '.', "INBOX."
	default:
		tb.Fatalf("testimap: unknown Dovecot layout %q (want %q or %q)", opts.Layout, LayoutFS, LayoutMaildirPP)
	}
	d.Opts.Layout = d.Layout
	if len(opts.Users) == 0 {
		tb.Fatalf("testimap: DovecotOptions.Users must contain at least one user")
	}
	for _, u := range opts.Users {
		if err := dcCheckUser(u); err != nil {
			tb.Fatalf("testimap: %v", err)
		}
		if _, dup := d.users[u.Name]; dup {
			tb.Fatalf("testimap: duplicate user %q", u.Name)
		}
		d.users[u.Name] = u.Password
	}
	if opts.MasterUser != nil {
		if err := dcCheckUser(*opts.MasterUser); err != nil {
			tb.Fatalf("testimap: master user: %v", err)
		}
		if _, dup := d.users[opts.MasterUser.Name]; dup {
			tb.Fatalf("testimap: master user %q is also a normal user", opts.MasterUser.Name)
		}
	}

	var err error
	d.mailUID, d.mailGID, err = dcMailOwner()
	if err != nil {
		tb.Fatalf("testimap: %v", err)
	}

	// Our own directory (t.TempDir is 0700 root-only, which dovenull,
	// dovecot and the mail user could not traverse). Keep it short: unix
	// socket paths under base_dir are limited to 108 bytes.
	d.Dir, err = os.MkdirTemp("", "ferry-dovecot-")
	if err != nil {
		tb.Fatalf("testimap: %v", err)
	}
	tb.Cleanup(d.cleanup)
	if err := os.Chmod(d.Dir, 0o755); err != nil {
		tb.Fatalf("testimap: %v", err)
	}
	d.Config = filepath.Join(d.Dir, "dovecot.conf")
	d.LogFile = filepath.Join(d.Dir, "dovecot.log")
	d.usersFile = filepath.Join(d.Dir, "users")
	d.homeDir = filepath.Join(d.Dir, "home")

	if err := d.writeFiles(); err != nil {
		tb.Fatalf("testimap: %v", err)
	}

	// Pick free ports and start; retry when another process grabbed a port
	// between our probe and Dovecot's bind.
	const attempts = 8
	for attempt := 1; ; attempt++ {
		retry, err := d.start()
		if err == nil {
			return d
		}
		if !retry || attempt == attempts {
			tb.Fatalf("testimap: starting dovecot: %v\n--- dovecot log tail (%s) ---\n%s", err, d.LogFile, d.LogTail())
		}
		tb.Logf("testimap: dovecot start attempt %d: %v; retrying with other ports", attempt, err)
	}
}

func dcCheckUser(u User) error {
	if u.Name == "" || strings.ContainsAny(u.Name, ":/\n\r\t *%") {
		return fmt.Errorf("invalid user name %q", u.Name)
	}
	if strings.ContainsAny(u.Password, ":\n\r") {
		return fmt.Errorf("password of %q must not contain ':' or newlines", u.Name)
	}
	return nil
}

// dcMailOwner returns the unprivileged uid/gid owning the mail files.
func dcMailOwner() (uid, gid int, err error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return 65534, 65534, nil
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("cannot parse uid/gid of user nobody: %q/%q", u.Uid, u.Gid)
	}
	return uid, gid, nil
}

func (d *Dovecot) writeFiles() error {
	if err := os.Mkdir(d.homeDir, 0o755); err != nil {
		return err
	}
	if err := os.Chown(d.homeDir, d.mailUID, d.mailGID); err != nil {
		return err
	}
	var b strings.Builder
	for _, u := range d.Opts.Users {
		fmt.Fprintf(&b, "%s:{PLAIN}%s::::::\n", u.Name, u.Password)
	}
	if err := os.WriteFile(d.usersFile, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if m := d.Opts.MasterUser; m != nil {
		line := fmt.Sprintf("%s:{PLAIN}%s::::::\n", m.Name, m.Password)
		if err := os.WriteFile(filepath.Join(d.Dir, "masters"), []byte(line), 0o644); err != nil {
			return err
		}
	}
	if u := d.Opts.OAuth2IntrospectionURL; u != "" {
		conf := "introspection_mode = post\nintrospection_url = " + u + "\nforce_introspection = yes\n" +
			"username_attribute = username\nactive_attribute = active\nactive_value = true\ntimeout_msecs = 10000\n"
		if err := os.WriteFile(filepath.Join(d.Dir, "oauth2.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
	}
	if d.Opts.TLS {
		if err := d.writeCert(); err != nil {
			return fmt.Errorf("generating TLS certificate: %w", err)
		}
	}
	return nil
}

func (d *Dovecot) writeCert() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ferry test dovecot", Organization: []string{"ferry tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	d.CertFile = filepath.Join(d.Dir, "cert.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(d.CertFile, certPEM, 0o644); err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(d.Dir, "key.pem"), keyPEM, 0o600); err != nil {
		return err
	}
	d.RootCAs = x509.NewCertPool()
	d.RootCAs.AddCert(cert)
	return nil
}

func (d *Dovecot) config() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	dir := d.Dir
	p("# Generated by ferry internal/testimap for a test instance.")
	p("instance_name = %s", filepath.Base(dir))
	p("base_dir = %s", filepath.Join(dir, "run"))
	p("state_dir = %s", filepath.Join(dir, "state"))
	p("log_path = %s", d.LogFile)
	p("protocols = imap")
	p("# Lets the startup probe tell this instance from whatever else may")
	p("# listen on a recycled port.")
	p("login_greeting = %s", d.greeting())
	p("listen = 127.0.0.1")
	p("shutdown_clients = yes")
	p("")
	p("# Dovecot refuses to run login processes as root.")
	p("default_login_user = dovenull")
	p("default_internal_user = dovecot")
	p("mail_uid = %d", d.mailUID)
	p("mail_gid = %d", d.mailGID)
	p("first_valid_uid = 1")
	p("first_valid_gid = 1")
	p("")
	p("disable_plaintext_auth = no")
	if d.Opts.OAuth2IntrospectionURL != "" {
		mechs := d.Opts.OAuth2Mechanisms
		if mechs == "" {
			mechs = "xoauth2 oauthbearer"
		}
		p("auth_mechanisms = plain login %s", mechs)
		p("passdb {")
		p("  driver = oauth2")
		p("  mechanisms = %s", mechs)
		p("  args = %s", filepath.Join(dir, "oauth2.conf"))
		p("}")
	} else {
		p("auth_mechanisms = plain login")
	}
	p("auth_verbose = yes")
	p("auth_master_user_separator = *")
	p("# No 2 s delay after a failed login (Dovecot 2.3 still answers failures")
	p("# only every 0.5 s) ...")
	p("auth_failure_delay = 0")
	if d.Opts.MasterUser != nil {
		p("passdb {")
		p("  driver = passwd-file")
		p("  args = scheme=PLAIN %s", filepath.Join(dir, "masters"))
		p("  master = yes")
		p("  # also look the target up in the normal passdb (unknown -> auth failure)")
		p("  pass = yes")
		p("}")
	}
	p("passdb {")
	p("  driver = passwd-file")
	p("  args = scheme=PLAIN %s", d.usersFile)
	p("}")
	p("userdb {")
	p("  driver = passwd-file")
	p("  args = %s", d.usersFile)
	p("  default_fields = uid=%d gid=%d home=%s/%%u", d.mailUID, d.mailGID, d.homeDir)
	p("}")
	p("")
	switch d.Layout {
	case LayoutFS:
		p("mail_location = maildir:~/Maildir:LAYOUT=fs")
	case LayoutMaildirPP:
		p("mail_location = maildir:~/Maildir")
	}
	p("namespace inbox {")
	p("  inbox = yes")
	p("  separator = %c", d.Delim)
	p("  prefix = %s", d.Prefix)
	p("  mailbox Drafts {")
	p("    special_use = \\Drafts")
	p("  }")
	p("  mailbox Sent {")
	p("    special_use = \\Sent")
	p("  }")
	p("  mailbox Trash {")
	p("    special_use = \\Trash")
	p("  }")
	p("  mailbox Junk {")
	p("    special_use = \\Junk")
	p("  }")
	p("}")
	p("mail_fsync = never")
	p("")
	p("# imapc (used by `doveadm ... backup imapc:` runs against other instances;")
	p("# host/port/user/password come from -o options, see ImapcArgs).")
	p("# Defaults as recommended for dsync migrations.")
	p("imapc_host = 127.0.0.1")
	p("imapc_features = rfc822.size fetch-headers")
	p("imapc_cmd_timeout = 60s")
	p("mail_prefetch_count = 20")
	p("")
	p("protocol imap {")
	p("  mail_max_userip_connections = 1000")
	if d.Opts.AppendLimit > 0 {
		// Dovecot 2.3 does not advertise APPENDLIMIT itself; the quota
		// plugin's quota_max_mail_size enforces the limit.
		p("  imap_capability = +APPENDLIMIT=%d", d.Opts.AppendLimit)
	}
	if d.Opts.Quota > 0 {
		p("  mail_plugins = $mail_plugins quota imap_quota")
	}
	p("}")
	if d.Opts.AppendLimit > 0 || d.Opts.Quota > 0 {
		p("mail_plugins = $mail_plugins quota")
		p("plugin {")
		p("  quota = count:User quota")
		p("  quota_vsizes = yes")
		if d.Opts.AppendLimit > 0 {
			p("  quota_max_mail_size = %d", d.Opts.AppendLimit)
		}
		if d.Opts.Quota > 0 {
			p("  quota_rule = *:storage=%dB", d.Opts.Quota)
		}
		p("}")
	}
	p("")
	if d.Opts.TLS {
		p("ssl = yes")
		p("ssl_cert = <%s", d.CertFile)
		p("ssl_key = <%s", filepath.Join(dir, "key.pem"))
	} else {
		p("ssl = no")
	}
	p("")
	p("default_process_limit = 1000")
	p("default_client_limit = 4000")
	p("service imap-login {")
	p("  # high-performance mode: one login process serves many connections")
	p("  service_count = 0")
	p("  process_min_avail = 2")
	p("  inet_listener imap {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.Port)
	p("  }")
	p("  inet_listener imaps {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.TLSPort)
	p("    ssl = yes")
	p("  }")
	p("}")
	p("service imap {")
	p("  process_limit = 1000")
	p("}")
	p("service auth {")
	p("  client_limit = 5000")
	p("}")
	p("# ... and no auth penalty (login delays doubling up to 15 s after")
	p("# repeated failures from one IP): without its anvil socket it is off.")
	p("service anvil {")
	p("  unix_listener anvil-auth-penalty {")
	p("    mode = 0")
	p("  }")
	p("}")
	return b.String()
}

// start makes one attempt with fresh ports. retry reports whether the
// failure looks like a port conflict.
func (d *Dovecot) start() (retry bool, err error) {
	ports, err := dcFreePorts(2)
	if err != nil {
		return false, err
	}
	d.Port, d.TLSPort = ports[0], 0
	d.Addr, d.TLSAddr = net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), ""
	if d.Opts.TLS {
		d.TLSPort = ports[1]
		d.TLSAddr = net.JoinHostPort(d.Host, strconv.Itoa(d.TLSPort))
	}
	if err := os.WriteFile(d.Config, []byte(d.config()), 0o644); err != nil {
		return false, err
	}
	// A stale base_dir from a failed attempt would make Dovecot think
	// another instance is running.
	os.RemoveAll(filepath.Join(d.Dir, "run"))

	logf, err := os.OpenFile(d.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)

	cmd := exec.Command(DovecotBin, "-F", "-c", d.Config)
	cmd.Dir = d.Dir
	cmd.Stdout = logf // early fatal errors (bad config) go to stderr
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so cleanup can kill all of Dovecot's processes
	setPdeathsig(cmd.SysProcAttr)
	exited, err := startOnLockedThread(cmd, &d.exit)
	if err != nil {
		return false, fmt.Errorf("exec %s: %w", DovecotBin, err)
	}
	d.mu.Lock()
	d.cmd, d.exited, d.killed = cmd, exited, false
	d.mu.Unlock()

	err = d.waitReady(10 * time.Second)
	if err == nil {
		return false, nil
	}
	d.kill()
	logText, _ := os.ReadFile(d.LogFile)
	if int64(len(logText)) >= logStart && bytes.Contains(logText[logStart:], []byte("Address already in use")) {
		return true, err
	}
	return false, err
}

func dcFreePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitReady polls until the listeners greet with "* OK" (which Dovecot only
// sends once the auth service is ready).
func (d *Dovecot) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for _, tlsConn := range []bool{false, true} {
		if tlsConn && !d.Opts.TLS {
			continue
		}
		for {
			select {
			case <-d.exited:
				return fmt.Errorf("dovecot exited during startup: %v", d.exit.get())
			default:
			}
			if lastErr = d.probe(tlsConn); lastErr == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("dovecot did not greet within %v: %v", timeout, lastErr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

func (d *Dovecot) probe(useTLS bool) error {
	addr := d.Addr
	if useTLS {
		addr = d.TLSAddr
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if useTLS {
		tc := tls.Client(conn, d.TLSConfig())
		if err := tc.Handshake(); err != nil {
			return err
		}
		conn = tc
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading greeting from %s: %w", addr, err)
	}
	if !strings.HasPrefix(line, "* OK") || !strings.Contains(line, d.greeting()) {
		return fmt.Errorf("unexpected greeting from %s: %q", addr, line)
	}
	fmt.Fprintf(conn, "z LOGOUT\r\n")
	return nil
}

// greeting is the instance's unique login_greeting.
func (d *Dovecot) greeting() string {
	return "Dovecot ready (" + filepath.Base(d.Dir) + ")."
}

// kill stops the current Dovecot process group immediately (SIGKILL; a
// graceful SIGTERM shutdown takes Dovecot about 2 s) and waits for the
// master to exit.
func (d *Dovecot) kill() {
	d.mu.Lock()
	cmd, exited, killed := d.cmd, d.exited, d.killed
	d.killed = true
	d.mu.Unlock()
	if cmd == nil || cmd.Process == nil || killed {
		return
	}
	select {
	case <-exited:
		// The master is gone (and reaped): its pid, and so the process
		// group id, may already belong to someone else.
		return
	default:
	}
	// The master leads its own process group (Setpgid), so this reaches
	// all of Dovecot's processes.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

func (d *Dovecot) cleanup() {
	d.kill()
	if d.tb.Failed() {
		d.tb.Logf("testimap: dovecot log tail (%s):\n%s", d.LogFile, d.LogTail())
	}
	for i := 0; ; i++ {
		err := os.RemoveAll(d.Dir)
		if err == nil || i == 20 {
			return
		}
		time.Sleep(50 * time.Millisecond) // a dying process may still create files
	}
}

// Stop kills the server now (the cleanup registered by StartDovecot also
// does this). The files are kept until cleanup.
func (d *Dovecot) Stop() { d.kill() }

// MailDir returns the Maildir where user's mail lives (the user's home is
// its parent). With LayoutFS, folder "a/b" is the Maildir MailDir/a/b; with
// LayoutMaildirPP, "INBOX.a.b" is MailDir/.a.b. Files are owned by the
// unprivileged mail user (nobody) and created on the user's first login.
func (d *Dovecot) MailDir(user string) string {
	return filepath.Join(d.homeDir, user, "Maildir")
}

// Password returns the password of a configured user ("" if unknown).
func (d *Dovecot) Password(user string) string {
	pw, _ := d.lookup(user)
	return pw
}

// AddUser adds a mailbox user to the running server. Dovecot notices the
// changed passwd-file only in the next wall-clock second, so AddUser may
// sleep up to a second; prefer DovecotOptions.Users.
func (d *Dovecot) AddUser(tb testing.TB, u User) {
	tb.Helper()
	if err := dcCheckUser(u); err != nil {
		tb.Fatalf("testimap: %v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.users[u.Name]; dup {
		tb.Fatalf("testimap: duplicate user %q", u.Name)
	}
	f, err := os.OpenFile(d.usersFile, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s:{PLAIN}%s::::::\n", u.Name, u.Password)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		tb.Fatalf("testimap: adding user: %v", err)
	}
	d.users[u.Name] = u.Password
	d.Opts.Users = append(slices.Clip(d.Opts.Users), u)
	// Dovecot re-checks a passwd-file at most once per second (per wall
	// clock second); make sure the next lookup happens in a later second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
}

// SetQuota gives user a storage quota of bytes (0: the default of
// DovecotOptions.Quota), which needs DovecotOptions.Quota set. Like
// AddUser it may sleep up to a second for Dovecot to see the change.
func (d *Dovecot) SetQuota(tb testing.TB, user string, bytes int64) {
	tb.Helper()
	if d.Opts.Quota <= 0 {
		tb.Fatalf("testimap: SetQuota needs DovecotOptions.Quota")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := os.ReadFile(d.usersFile)
	if err != nil {
		tb.Fatalf("testimap: set quota: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	found := false
	for i, l := range lines {
		fields := strings.SplitN(l, ":", 8)
		if len(fields) != 8 || fields[0] != user {
			continue
		}
		fields[7] = ""
		if bytes > 0 {
			fields[7] = fmt.Sprintf("userdb_quota_rule=*:storage=%dB", bytes)
		}
		lines[i], found = strings.Join(fields, ":"), true
	}
	if !found {
		tb.Fatalf("testimap: set quota: no user %q", user)
	}
	if err := os.WriteFile(d.usersFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		tb.Fatalf("testimap: set quota: %v", err)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
}

// TLSConfig returns a client TLS config trusting the server (nil without
// TLS).
func (d *Dovecot) TLSConfig() *tls.Config {
	if d.RootCAs == nil {
		return nil
	}
	return &tls.Config{RootCAs: d.RootCAs, ServerName: d.Host}
}

// Login dials the plain port (no TLS), logs in as user with its configured
// password and registers tb.Cleanup to close the connection.
func (d *Dovecot) Login(tb testing.TB, user string) *imapclient.Client {
	tb.Helper()
	pw, ok := d.lookup(user)
	if !ok {
		tb.Fatalf("testimap: unknown user %q", user)
	}
	c, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		tb.Fatalf("testimap: dial %s: %v", d.Addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		tb.Fatalf("testimap: login %s: %v\n%s", user, err, d.LogTail())
	}
	return c
}

func (d *Dovecot) lookup(user string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pw, ok := d.users[user]
	return pw, ok
}

// Doveadm runs `doveadm -c <config> args...` for this instance and returns
// its standard output. doveadm's own log messages (which would otherwise go
// to the instance log) go to stderr, are appended to Dir/doveadm.log and,
// on failure, included in the error.
//
// Global doveadm options such as the ones returned by ImapcArgs must come
// before the command name, e.g.
//
//	dst.Doveadm(append(src.ImapcArgs("alice", pw), "backup", "-R", "-u", "alice", "imapc:")...)
func (d *Dovecot) Doveadm(args ...string) ([]byte, error) {
	full := append([]string{"-c", d.Config, "-o", "log_path=/dev/stderr", "-o", "info_log_path=/dev/stderr"}, args...)
	cmd := exec.Command(DoveadmBin, full...)
	cmd.Dir = d.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		if f, ferr := os.OpenFile(filepath.Join(d.Dir, "doveadm.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
			fmt.Fprintf(f, "### doveadm %s\n%s", strings.Join(dcRedact(args), " "), stderr.Bytes())
			f.Close()
		}
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("doveadm %s: %w\n%s", strings.Join(dcRedact(args), " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func dcRedact(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if k, _, ok := strings.Cut(a, "="); ok && strings.HasSuffix(k, "password") {
			out[i] = k + "=***"
		}
	}
	return out
}

// ImapcArgs returns doveadm global options ("-o", "key=value", ...) that
// make imapc read from this instance's plain port, logging in as user with
// password. They are meant for another instance's Doveadm (the
// destination), before the command name:
//
//	dst.Doveadm(append(src.ImapcArgs("alice", pw), "backup", "-R", "-u", "alice", "imapc:")...)
//
// settings are extra "key=value" settings that override the defaults with
// the same key, e.g. "imapc_features=rfc822.size fetch-headers modseq",
// "mail_prefetch_count=50", "imapc_master_user=admin" (then user is the
// target user and password the master user's), or ImapcTLSSettings() to
// connect to the imaps port instead.
//
// Besides imapc_host/port/user/password/ssl, the options handle namespace
// prefixes so that every layout combination works:
//
//   - imapc_list_prefix=INBOX when this (source) instance is maildir++, so
//     its "INBOX.a.b" arrives as "a.b" rather than "INBOX.INBOX.a.b";
//   - namespace/inbox/prefix= (empty) for the doveadm run: with the
//     destination's "INBOX." prefix, dsync in Dovecot 2.3 auto-creates the
//     local INBOX before syncing and `backup` then fails with "INBOX can't be
//     deleted". The prefix only changes the names doveadm sees; the
//     maildir++ files on disk are the same. No-op for fs destinations.
func (d *Dovecot) ImapcArgs(user, password string, settings ...string) []string {
	kv := []string{
		"imapc_host=" + d.Host,
		"imapc_port=" + strconv.Itoa(d.Port),
		"imapc_user=" + user,
		"imapc_password=" + password,
		"imapc_ssl=no",
		"namespace/inbox/prefix=",
	}
	if d.Layout == LayoutMaildirPP {
		kv = append(kv, "imapc_list_prefix=INBOX")
	}
	for _, s := range settings {
		k, _, _ := strings.Cut(s, "=")
		kv = slices.DeleteFunc(kv, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		kv = append(kv, s)
	}
	out := make([]string, 0, 2*len(kv))
	for _, s := range kv {
		out = append(out, "-o", s)
	}
	return out
}

// ImapcTLSSettings returns ImapcArgs settings that connect to this
// instance's imaps port (TLSAddr), verifying its certificate. nil without
// TLS.
func (d *Dovecot) ImapcTLSSettings() []string {
	if !d.Opts.TLS {
		return nil
	}
	return []string{
		"imapc_port=" + strconv.Itoa(d.TLSPort),
		"imapc_ssl=imaps",
		"imapc_ssl_verify=yes",
		"ssl_client_ca_file=" + d.CertFile,
	}
}

// LogTail returns the last lines of Dovecot's log (and of doveadm's, if
// any).
func (d *Dovecot) LogTail() string {
	s := dcTail(d.LogFile, 60)
	if t := dcTail(filepath.Join(d.Dir, "doveadm.log"), 30); t != "" {
		s += "\n--- doveadm.log ---\n" + t
	}
	return s
}

func dcTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// setPdeathsig asks the kernel to SIGTERM Dovecot's master when the test
// binary dies without running cleanups (e.g. go test -timeout), so servers
// don't leak. The field only exists on Linux, hence reflection (this file
// has no build constraint so the package builds everywhere).
func setPdeathsig(attr *syscall.SysProcAttr) {
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGTERM))
	}
}

// startOnLockedThread starts cmd and waits for it on one locked OS thread,
// then records how it ended in done and closes the returned channel. The
// parent-death signal (Pdeathsig) follows the thread that forked, not the
// process, so that thread must live as long as the server; the goroutine
// unlocks before it returns, because returning locked would end the thread
// and whatever it started before (ferry workers, PostgreSQL, other
// servers) would get its parent-death signal.
func startOnLockedThread(cmd *exec.Cmd, done *procExit) (<-chan struct{}, error) {
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		started <- nil
		done.set(cmd.Wait())
		close(exited)
	}()
	return exited, <-started
}

// procExit is how a server process ended, for error messages.
type procExit struct {
	mu  sync.Mutex
	err error
}

func (p *procExit) set(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
}

func (p *procExit) get() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}
