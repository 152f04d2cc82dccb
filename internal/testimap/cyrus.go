package testimap

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Cyrus IMAP 3.6 (Debian's cyrus-common and cyrus-imapd) conflicts with
// dovecot-imapd, so it is not installed but unpacked with dpkg -x into
// CyrusRoot() by scripts/install-test-deps.sh. Passwords live in a sasldb
// written with saslpasswd2 (sasl2-bin).
const (
	// CyrusRootEnv overrides where the unpacked Cyrus packages are.
	CyrusRootEnv     = "FERRY_CYRUS_ROOT"
	defaultCyrusRoot = "/opt/ferry-test/cyrus"
	saslpasswdBin    = "/usr/sbin/saslpasswd2"
	// cyrusSystemUser is the unprivileged user Cyrus runs as (created by
	// the install script, as the package's postinst would).
	cyrusSystemUser = "cyrus"
	cyrusAdmin      = "cyrusadmin"
)

// CyrusRoot is the directory the Cyrus packages are unpacked into.
func CyrusRoot() string {
	if r := os.Getenv(CyrusRootEnv); r != "" {
		return r
	}
	return defaultCyrusRoot
}

// CyrusOption configures StartCyrus and SharedCyrus.
type CyrusOption func(*cyrusConfig)

type cyrusConfig struct {
	sep rune
}

// CyrusSeparator chooses the hierarchy separator: '.' (the default, classic
// Cyrus: unixhierarchysep off, folders "INBOX.a.b") or '/' (unixhierarchysep
// on, folders "INBOX/a/b"). Both are common in the field.
func CyrusSeparator(sep rune) CyrusOption {
	return func(c *cyrusConfig) { c.sep = sep }
}

// Cyrus is a running Cyrus IMAP server started by StartCyrus or SharedCyrus.
//
// It keeps Cyrus's defaults that real users meet: munge8bit (8-bit bytes in
// headers become 'X'), refusal of some characters in folder names, "NO
// Mailbox already exists" without [ALREADYEXISTS] and "NO Over quota"
// without [OVERQUOTA]. Folders live under INBOX (altnamespace off, as
// Debian's imapd.conf has it); users are created by the admin over IMAP.
type Cyrus struct {
	Host    string // "127.0.0.1"
	Port    int
	Addr    string // Host:Port, plain IMAP (no TLS)
	Dir     string // the instance's directory
	LogFile string // master's stdout and stderr (Cyrus logs the rest to syslog)
	Delim   rune   // '.' or '/'
	Prefix  string // personal namespace prefix: "INBOX." or "INBOX/"

	root       string
	serverName string // unique, in the greeting and the SASL realm
	adminPass  string
	uid, gid   int

	mu    sync.Mutex // guards users and the sasldb file
	users map[string]string

	cmd    *exec.Cmd
	exited <-chan struct{}
	exit   procExit // how the server process ended
}

var (
	sharedCyrusMu sync.Mutex
	sharedCyrus   = map[rune]*Cyrus{}
	cyrusUserSeq  atomic.Int64
)

// SharedCyrus returns the test binary's Cyrus for these options, starting
// it on first use; it lives until the test binary exits (its master gets
// SIGTERM from the kernel then). Tests share it and create their own users
// with NewUser, which keeps a package's test time small.
func SharedCyrus(tb testing.TB, opts ...CyrusOption) *Cyrus {
	tb.Helper()
	cfg := cyrusOptions(tb, opts)
	sharedCyrusMu.Lock()
	defer sharedCyrusMu.Unlock()
	c := sharedCyrus[cfg.sep]
	if c == nil {
		var err error
		if c, err = startCyrus(cfg); err != nil {
			tb.Fatalf("testimap: starting Cyrus: %v", err)
		}
		sharedCyrus[cfg.sep] = c
	}
	select {
	case <-c.exited:
		tb.Fatalf("testimap: the shared Cyrus (%s) has exited: %v\n--- %s ---\n%s", c.Addr, c.exit.get(), c.LogFile, c.LogTail())
	default:
	}
	tb.Cleanup(func() {
		if tail := c.LogTail(); tb.Failed() && tail != "" {
			tb.Logf("testimap: shared Cyrus log tail (%s):\n%s", c.LogFile, tail)
		}
	})
	return c
}

// StartCyrus starts a private Cyrus that tb's cleanup stops and removes.
// Prefer SharedCyrus unless the test stops or breaks the server.
func StartCyrus(tb testing.TB, opts ...CyrusOption) *Cyrus {
	tb.Helper()
	c, err := startCyrus(cyrusOptions(tb, opts))
	if err != nil {
		tb.Fatalf("testimap: starting Cyrus: %v", err)
	}
	tb.Cleanup(func() {
		c.Stop()
		if tb.Failed() {
			tb.Logf("testimap: Cyrus log tail (%s):\n%s", c.LogFile, c.LogTail())
		}
		os.RemoveAll(c.Dir)
	})
	return c
}

func cyrusOptions(tb testing.TB, opts []CyrusOption) cyrusConfig {
	tb.Helper()
	cfg := cyrusConfig{sep: '.'}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.sep != '.' && cfg.sep != '/' {
		tb.Fatalf("testimap: Cyrus separator %q: want '.' or '/'", cfg.sep)
	}
	return cfg
}

func startCyrus(cfg cyrusConfig) (*Cyrus, error) {
	root := CyrusRoot()
	master := filepath.Join(root, "usr/lib/cyrus/bin/master")
	if _, err := os.Stat(master); err != nil {
		return nil, fmt.Errorf("%v: install the test dependencies with scripts/install-test-deps.sh (as root; `make test` runs it) or set %s", err, CyrusRootEnv)
	}
	if _, err := os.Stat(saslpasswdBin); err != nil {
		return nil, fmt.Errorf("%v: install sasl2-bin (scripts/install-test-deps.sh does)", err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("StartCyrus must run as root (it runs Cyrus as the cyrus user)")
	}
	u, err := user.Lookup(cyrusSystemUser)
	if err != nil {
		return nil, fmt.Errorf("%v: scripts/install-test-deps.sh creates the system user %q", err, cyrusSystemUser)
	}
	c := &Cyrus{Host: "127.0.0.1", Delim: cfg.sep, Prefix: "INBOX" + string(cfg.sep), root: root, users: map[string]string{}}
	c.uid, _ = strconv.Atoi(u.Uid)
	c.gid, _ = strconv.Atoi(u.Gid)
	removeStaleCyrusDirs()
	if c.Dir, err = os.MkdirTemp("", "ferry-cyrus-"); err != nil {
		return nil, err
	}
	c.serverName = filepath.Base(c.Dir)
	c.LogFile = filepath.Join(c.Dir, "master.log")
	c.adminPass = randomHex(12)
	if err := c.writeFiles(); err != nil {
		os.RemoveAll(c.Dir)
		return nil, err
	}
	// A port probed free may be taken before master binds it: try again
	// with another one, but only then.
	for attempt := 1; ; attempt++ {
		err := c.start()
		if err == nil {
			return c, nil
		}
		c.Stop()
		if attempt == 5 || !portTaken(c.Port) {
			err = fmt.Errorf("%w\n--- %s ---\n%s", err, c.LogFile, c.LogTail())
			os.RemoveAll(c.Dir)
			return nil, err
		}
	}
}

// removeStaleCyrusDirs removes the directories of shared instances whose
// test binary is gone (a shared Cyrus has no cleanup that could do it).
func removeStaleCyrusDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ferry-cyrus-*"))
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		os.RemoveAll(d)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Cyrus) writeFiles() error {
	if err := os.Chmod(c.Dir, 0o755); err != nil { // Cyrus must reach its files
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	// conf/socket holds the sockets imapd binds for IDLE (the package
	// creates the directory; imapd does not).
	for _, d := range []string{"conf", "conf/socket", "spool"} {
		p := filepath.Join(c.Dir, d)
		if err := os.Mkdir(p, 0o750); err != nil {
			return err
		}
		if err := os.Chown(p, c.uid, c.gid); err != nil {
			return err
		}
	}
	unixSep := "no"
	if c.Delim == '/' {
		unixSep = "yes"
	}
	conf := strings.Join([]string{
		"# Generated by ferry internal/testimap for a test instance.",
		"configdirectory: " + filepath.Join(c.Dir, "conf"),
		"partition-default: " + filepath.Join(c.Dir, "spool"),
		"servername: " + c.serverName,
		"cyrus_user: " + cyrusSystemUser,
		"admins: " + cyrusAdmin,
		"# As in Debian's imapd.conf: folders live under INBOX.",
		"altnamespace: no",
		"unixhierarchysep: " + unixSep,
		"allowplaintext: yes",
		"sasl_pwcheck_method: auxprop",
		"sasl_auxprop_plugin: sasldb",
		"sasl_sasldb_path: " + c.sasldb(),
		"sasl_mech_list: PLAIN LOGIN",
		"# Mailboxes stored by name, as before 3.6 and on every upgraded",
		"# server. 3.6's default stores them by a unique id that this build",
		"# draws from rand() seeded per process: INBOXes that separate imapd",
		"# processes create in the same second get the same id and share",
		"# their messages and quota root (seen with parallel tests).",
		"mailbox_legacy_dirs: yes",
		"# No 3 s pause after a failed login (tests try wrong passwords).",
		"failedloginpause: 0",
		"",
	}, "\n")
	if err := os.WriteFile(c.imapdConf(), []byte(conf), 0o644); err != nil {
		return err
	}
	return c.saslpasswd(cyrusAdmin, c.adminPass)
}

func (c *Cyrus) imapdConf() string { return filepath.Join(c.Dir, "imapd.conf") }
func (c *Cyrus) sasldb() string    { return filepath.Join(c.Dir, "sasldb2") }
func (c *Cyrus) bin(name string) string {
	return filepath.Join(c.root, "usr/lib/cyrus/bin", name)
}

// saslpasswd sets a password in the sasldb. imapd reads the file at every
// login, so the new version is written beside it and renamed over it:
// a login never sees a half-written file. Callers hold c.mu or own c.
func (c *Cyrus) saslpasswd(name, password string) error {
	tmp := c.sasldb() + ".new"
	os.Remove(tmp)
	if data, err := os.ReadFile(c.sasldb()); err == nil {
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
	}
	cmd := exec.Command(saslpasswdBin, "-p", "-c", "-f", tmp, "-u", c.serverName, name)
	cmd.Stdin = strings.NewReader(password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("saslpasswd2 for %s: %v: %s", name, err, out)
	}
	if err := os.Chown(tmp, c.uid, c.gid); err != nil {
		return err
	}
	return os.Rename(tmp, c.sasldb())
}

func (c *Cyrus) start() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.Addr = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	// master passes no -C to what it starts, so every command names it.
	conf := fmt.Sprintf(`START {
  recover cmd="%s -C %s -r"
}
SERVICES {
  imap cmd="%s -C %s" listen="%s" prefork=0
}
EVENTS {
}
`, c.bin("ctl_cyrusdb"), c.imapdConf(), c.bin("imapd"), c.imapdConf(), c.Addr)
	cyrusConf := filepath.Join(c.Dir, "cyrus.conf")
	if err := os.WriteFile(cyrusConf, []byte(conf), 0o644); err != nil {
		return err
	}
	libDirs, _ := filepath.Glob(filepath.Join(c.root, "usr/lib/*-linux-gnu"))
	pidFile := filepath.Join(c.Dir, "conf", "master.pid")
	cmd := exec.Command(c.bin("master"), "-C", c.imapdConf(), "-M", cyrusConf, "-p", pidFile, "-L", c.LogFile)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join(libDirs, ":"))
	// master starts as the cyrus user rather than switching to it itself:
	// a change of user would clear the parent-death signal below.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid), NoSetGroups: true},
	}
	setPdeathsig(cmd.SysProcAttr)
	// master logs its own start-up failures to -L, which it opens as the
	// cyrus user.
	if f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		f.Close()
		os.Chown(c.LogFile, c.uid, c.gid)
	}
	exited, err := startOnLockedThread(cmd, &c.exit)
	if err != nil {
		return fmt.Errorf("exec %s: %w", c.bin("master"), err)
	}
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	if err := c.waitReady(15 * time.Second); err != nil {
		return err
	}
	// The admin creates the users' INBOXes; check that it can log in.
	a, err := c.admin()
	if err != nil {
		return err
	}
	a.Close()
	return nil
}

func portTaken(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

func (c *Cyrus) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("Cyrus master exited during start-up: %v", c.exit.get())
		default:
		}
		err := c.probe()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Cyrus did not greet on %s within %v: %v", c.Addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probe reads the greeting, which names this instance's servername (so a
// recycled port's other listener does not pass).
func (c *Cyrus) probe() error {
	conn, err := net.DialTimeout("tcp", c.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") || !strings.Contains(line, c.serverName) {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	io.WriteString(conn, "z LOGOUT\r\n")
	return nil
}

// Stop ends master and its imapd processes (SIGKILL to the process group)
// and waits for master. The files stay until the cleanup.
func (c *Cyrus) Stop() {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-exited:
		return // reaped: its process group id may belong to someone else
	default:
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
	// The idle imapd processes accept on master's socket themselves and
	// may outlive master by a moment.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", c.Addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
	}
}

// LogTail returns the end of master's log. Cyrus reports most problems
// to syslog only, which tests do not run; the IMAP answers say the rest.
func (c *Cyrus) LogTail() string { return dcTail(c.LogFile, 40) }

func (c *Cyrus) admin() (*imapclient.Client, error) {
	a, err := imapclient.DialInsecure(c.Addr, nil)
	if err != nil {
		return nil, err
	}
	if err := a.Login(cyrusAdmin, c.adminPass).Wait(); err != nil {
		a.Close()
		return nil, fmt.Errorf("admin login: %w", err)
	}
	return a, nil
}

// UserMailbox is the admin's name for user's INBOX ("user.alice" or
// "user/alice").
func (c *Cyrus) UserMailbox(name string) string { return "user" + string(c.Delim) + name }

// AddUser creates a user with a password and an INBOX (the admin creates
// user.<name>). Names are lowercase letters, digits, '-' and '_'.
func (c *Cyrus) AddUser(tb testing.TB, u User) {
	tb.Helper()
	if u.Name == "" || strings.Trim(strings.ToLower(u.Name), "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" || u.Name != strings.ToLower(u.Name) {
		tb.Fatalf("testimap: Cyrus user name %q: use lowercase letters, digits, '-' and '_'", u.Name)
	}
	if u.Password == "" || strings.ContainsAny(u.Password, "\r\n") {
		tb.Fatalf("testimap: Cyrus user %q needs a one-line password", u.Name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.users[u.Name]; dup {
		tb.Fatalf("testimap: Cyrus user %q exists", u.Name)
	}
	if err := c.saslpasswd(u.Name, u.Password); err != nil {
		tb.Fatalf("testimap: %v", err)
	}
	a, err := c.admin()
	if err != nil {
		tb.Fatalf("testimap: Cyrus at %s: %v\n%s", c.Addr, err, c.LogTail())
	}
	defer a.Close()
	if err := a.Create(c.UserMailbox(u.Name), nil).Wait(); err != nil {
		tb.Fatalf("testimap: Cyrus: creating %s: %v", c.UserMailbox(u.Name), err)
	}
	c.users[u.Name] = u.Password
}

// NewUser adds a user with a name no other test of this binary uses and a
// random password.
func (c *Cyrus) NewUser(tb testing.TB) User {
	tb.Helper()
	u := User{Name: fmt.Sprintf("u%d-%s", cyrusUserSeq.Add(1), randomHex(3)), Password: randomHex(8)}
	c.AddUser(tb, u)
	return u
}

// SetQuota limits user's storage to kb kilobytes (the admin's SETQUOTA on
// the user's INBOX, which covers all their folders), and checks that the
// INBOX has it.
func (c *Cyrus) SetQuota(tb testing.TB, name string, kb int64) {
	tb.Helper()
	a, err := c.admin()
	if err != nil {
		tb.Fatalf("testimap: Cyrus at %s: %v", c.Addr, err)
	}
	defer a.Close()
	mbox := c.UserMailbox(name)
	limits := map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: kb}
	if err := a.SetQuota(mbox, limits).Wait(); err != nil {
		tb.Fatalf("testimap: Cyrus: SETQUOTA %s STORAGE %d: %v", mbox, kb, err)
	}
	roots, err := a.GetQuotaRoot(mbox).Wait()
	if err != nil || len(roots) != 1 || roots[0].Resources[imap.QuotaResourceStorage].Limit != kb {
		tb.Fatalf("testimap: Cyrus: after SETQUOTA %s STORAGE %d, GETQUOTAROOT says %+v (%v)", mbox, kb, roots, err)
	}
}

// Password returns a user's password ("" if unknown).
func (c *Cyrus) Password(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[name]
}

// Login dials the server, logs in as the user and closes the connection in
// tb's cleanup.
func (c *Cyrus) Login(tb testing.TB, name string) *imapclient.Client {
	tb.Helper()
	pw := c.Password(name)
	if pw == "" {
		tb.Fatalf("testimap: unknown Cyrus user %q", name)
	}
	return Dial(tb, c.Addr, name, pw)
}
