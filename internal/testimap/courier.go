package testimap

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Courier-IMAP 5.0 (Debian bookworm's courier-imap 5.0.13) as a real test
// server.
//
// courier-imap conflicts with dovecot-imapd (both provide imap-server), so
// scripts/install-test-deps.sh unpacks courier-imap and courier-base with
// dpkg -x into CourierRoot (not installed, no services) and installs only
// the packages that do not conflict: courier-authlib (authdaemond,
// libcourierauth), courier-authlib-userdb and the libraries.
//
// The login chain is Courier's own: couriertcpd accepts, imaplogin reads
// LOGIN and asks authdaemond (module authuserdb) over a unix socket, and on
// success runs imapd as the unprivileged mail user. libcourierauth has the
// socket path /run/courier/authdaemon/socket compiled in, and authdaemond
// reads /etc/courier/authdaemonrc and /etc/courier/userdb.dat. So that
// several test processes can each run their own Courier, every instance
// runs in its own mount namespace (unshare(1), as root) in which the
// instance's directory is bind-mounted over /etc/courier and /run/courier;
// outside the namespace those two are only empty mount points.
//
// One Courier serves a whole test binary (starting it takes a moment and
// its login answers failures only after 5 s): StartCourier starts it on
// first use and gives every test its own users.

// CourierRootEnv names the environment variable that overrides where the
// courier-imap and courier-base packages were unpacked.
const CourierRootEnv = "FERRY_COURIER_ROOT"

// DefaultCourierRoot is where scripts/install-test-deps.sh unpacks Courier.
const DefaultCourierRoot = "/opt/ferry-test/courier"

// Paths of the installed courier-authlib programs (package courier-authlib).
const (
	courierAuthdaemond = "/usr/lib/courier/courier-authlib/authdaemond"
	courierMakedat     = "/usr/lib/courier/courier-authlib/makedatprog"
)

// The system paths compiled into Courier that each instance replaces, in
// its mount namespace, by its own directories.
const (
	courierSysEtc = "/etc/courier"
	courierSysRun = "/run/courier"
)

const courierDirPrefix = "ferry-courier-"

// CourierRoot returns the directory holding the unpacked Courier packages.
func CourierRoot() string {
	if r := os.Getenv(CourierRootEnv); r != "" {
		return r
	}
	return DefaultCourierRoot
}

// Courier is one test's view of the shared Courier-IMAP server: the address
// and the users that test added.
type Courier struct {
	Addr string // 127.0.0.1:port, plain IMAP (Courier offers no STARTTLS here)
	Host string // "127.0.0.1"
	Port int

	Delim  rune   // hierarchy separator: '.'
	Prefix string // personal namespace prefix: "INBOX."

	srv   *courierServer
	mu    sync.Mutex
	users map[string]string // name -> password, this test's users
}

// StartCourier returns the test binary's Courier-IMAP server, starting it on
// first use, with users added for this test. User names are global to the
// server: two tests of one binary must not use the same name. When the test
// ends its users and their mail are removed. On failure it calls tb.Fatalf
// with the tail of the server's log.
func StartCourier(tb testing.TB, users ...User) *Courier {
	tb.Helper()
	srv, err := sharedCourierServer()
	if err != nil {
		tb.Fatalf("testimap: %v", err)
	}
	c := &Courier{
		Addr: srv.addr, Host: "127.0.0.1", Port: srv.port,
		Delim: '.', Prefix: "INBOX.",
		srv: srv, users: map[string]string{},
	}
	for _, u := range users {
		c.AddUser(tb, u)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("testimap: courier log, this test's users and the server's complaints (%s):\n%s", srv.logFile, c.LogTail())
		}
	})
	return c
}

// AddUser adds a mailbox user (with an empty Maildir) for the rest of the
// test; it can log in as soon as AddUser returns.
func (c *Courier) AddUser(tb testing.TB, u User) {
	tb.Helper()
	if err := courierCheckUser(u); err != nil {
		tb.Fatalf("testimap: %v", err)
	}
	if err := c.srv.addUser(u); err != nil {
		tb.Fatalf("testimap: courier: adding user %q: %v", u.Name, err)
	}
	c.mu.Lock()
	c.users[u.Name] = u.Password
	c.mu.Unlock()
	tb.Cleanup(func() {
		if err := c.srv.removeUser(u.Name); err != nil {
			tb.Errorf("testimap: courier: removing user %q: %v", u.Name, err)
		}
	})
}

// Login dials the server, logs in as one of the test's users and registers
// tb.Cleanup to close the connection.
func (c *Courier) Login(tb testing.TB, user string) *imapclient.Client {
	tb.Helper()
	c.mu.Lock()
	pw, ok := c.users[user]
	c.mu.Unlock()
	if !ok {
		tb.Fatalf("testimap: courier: %q is not a user of this test", user)
	}
	return Dial(tb, c.Addr, user, pw)
}

// MailDir returns the Maildir of user: INBOX is the Maildir itself, folder
// "INBOX.a.b" is MailDir/.a.b (Maildir++). Files belong to the mail user.
func (c *Courier) MailDir(user string) string { return c.srv.mailDir(user) }

// LogTail returns the last lines of the server's log (couriertcpd,
// imaplogin, imapd and authdaemond write to it) that concern this test:
// those naming one of its users and those that name no user but are not
// routine (the log is shared by every test of the binary).
func (c *Courier) LogTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keep []string
	for line := range strings.Lines(dcTail(c.srv.logFile, 5000)) {
		user, named := courierLogUser(line)
		_, ours := c.users[user]
		routine := strings.HasPrefix(line, "DEBUG: ") || strings.HasPrefix(line, "INFO: ")
		if ours || (!named && !routine) {
			keep = append(keep, line)
		}
	}
	if len(keep) > 60 {
		keep = keep[len(keep)-60:]
	}
	return strings.Join(keep, "")
}

// courierLogUser returns the user a log line names ("user=NAME,").
func courierLogUser(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, "user=")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, ",")
	return strings.TrimSpace(name), true
}

func courierCheckUser(u User) error {
	if err := dcCheckUser(u); err != nil {
		return err
	}
	// userdb records are "name<TAB>field=value|field=value"; authuserdb
	// looks names up as given.
	if strings.ContainsAny(u.Name, "|=") || strings.ToLower(u.Name) != u.Name {
		return fmt.Errorf("invalid Courier user name %q (lower case, no '|' or '=')", u.Name)
	}
	return nil
}

// courierServer is the running Courier of this test process.
type courierServer struct {
	dir     string // the instance's directory
	etcDir  string // mounted over /etc/courier
	runDir  string // mounted over /run/courier
	homeDir string // one home (with a Maildir) per user
	logFile string
	addr    string
	port    int

	mailUID, mailGID int
	owner            *os.File // locked while this process lives (see removeStaleCourierDirs)

	mu        sync.Mutex
	users     map[string]string // name -> password
	lastMtime time.Time         // of userdb.dat, see writeUserDB

	cmd    *exec.Cmd
	exited <-chan struct{}
	exit   procExit // how the server process ended
}

var (
	courierMu     sync.Mutex
	courierShared *courierServer
	courierErr    error // sticky: a server that would not start will not start for the next test either
)

func sharedCourierServer() (*courierServer, error) {
	courierMu.Lock()
	defer courierMu.Unlock()
	if courierShared == nil && courierErr == nil {
		courierShared, courierErr = startCourierServer()
	}
	if courierErr != nil {
		return nil, courierErr
	}
	select {
	case <-courierShared.exited:
		return nil, fmt.Errorf("courier: the server of this test binary has exited (%v)\n--- log tail (%s) ---\n%s",
			courierShared.exit.get(), courierShared.logFile, dcTail(courierShared.logFile, 40))
	default:
	}
	return courierShared, nil
}

func startCourierServer() (*courierServer, error) {
	root := CourierRoot()
	need := []string{
		filepath.Join(root, "usr/sbin/couriertcpd"),
		filepath.Join(root, "usr/lib/courier/courier/imaplogin"),
		filepath.Join(root, "usr/bin/imapd"),
		filepath.Join(root, "etc/courier/imapd"),
		courierAuthdaemond,
		courierMakedat,
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("courier: %v: install the test dependencies with scripts/install-test-deps.sh "+
				"(run as root; `make test` runs it), or point %s at the unpacked courier-imap and courier-base packages", err, CourierRootEnv)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("courier: StartCourier must run as root (it mounts in a private mount namespace, and Courier switches to the mail user)")
	}
	for _, p := range []string{courierSysEtc, courierSysRun} {
		// Mount points only; /run is emptied at boot.
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("courier: creating mount point: %w", err)
		}
	}

	removeStaleCourierDirs()
	dir, err := os.MkdirTemp("", courierDirPrefix)
	if err != nil {
		return nil, err
	}
	s := &courierServer{
		dir:     dir,
		etcDir:  filepath.Join(dir, "etc"),
		runDir:  filepath.Join(dir, "run"),
		homeDir: filepath.Join(dir, "home"),
		logFile: filepath.Join(dir, "courier.log"),
		users:   map[string]string{},
		exited:  make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			s.kill()
			s.owner.Close()
			os.RemoveAll(dir)
		}
	}()
	if s.owner, err = courierLockOwner(filepath.Join(dir, "owner.lock")); err != nil {
		return nil, err
	}
	if s.mailUID, s.mailGID, err = dcMailOwner(); err != nil {
		return nil, err
	}
	if err := s.writeFiles(); err != nil {
		return nil, fmt.Errorf("courier: %w", err)
	}
	const attempts = 8
	for attempt := 1; ; attempt++ {
		retry, err := s.start(root)
		if err == nil {
			ok = true
			return s, nil
		}
		if !retry || attempt == attempts {
			return nil, fmt.Errorf("courier: starting: %v\n--- log tail (%s) ---\n%s", err, s.logFile, dcTail(s.logFile, 40))
		}
	}
}

func (s *courierServer) writeFiles() error {
	// MkdirTemp made dir 0700; imapd runs as the mail user and must reach
	// the homes.
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{s.etcDir, filepath.Join(s.runDir, "authdaemon"), s.homeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Debian's authdaemonrc with the userdb module only (Debian enables
	// authpam, i.e. the system's accounts).
	rc := "authmodulelist=\"authuserdb\"\n" +
		"daemons=2\n" +
		"authdaemonvar=" + courierSysRun + "/authdaemon\n" +
		"DEBUG_LOGIN=0\n" +
		"DEFAULTOPTIONS=\"\"\n" +
		"LOGGEROPTS=\"\"\n"
	if err := os.WriteFile(filepath.Join(s.etcDir, "authdaemonrc"), []byte(rc), 0o644); err != nil {
		return err
	}
	return s.writeUserDB()
}

// script is what runs inside the instance's mount namespace: mount its
// directories over Courier's compiled-in ones, start authdaemond, then run
// couriertcpd with the settings of Debian's /etc/courier/imapd as Debian's
// init script does (sourced from the unpacked package).
func (s *courierServer) script(root string) string {
	q := shellQuote
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("set -e")
	p("mount --bind %s %s", q(s.etcDir), courierSysEtc)
	p("mount --bind %s %s", q(s.runDir), courierSysRun)
	p("# authdaemond ends with couriertcpd (this shell becomes couriertcpd).")
	p("setpriv --pdeathsig TERM %s &", courierAuthdaemond)
	p("set -a")
	p(". %s", q(filepath.Join(root, "etc/courier/imapd")))
	p("# No certificate here: no STARTTLS.")
	p("IMAP_STARTTLS=NO")
	p("ulimit -v \"$IMAP_ULIMITD\"")
	p("umask \"$IMAP_UMASK\"")
	p("# All tests connect from 127.0.0.1: Debian's MAXPERIP=20 would refuse")
	p("# parallel tests' connections.")
	p("exec %s -address=127.0.0.1 -maxprocs=500 -maxperip=500 $TCPDOPTS %d %s %s \"$MAILDIRPATH\"",
		q(filepath.Join(root, "usr/sbin/couriertcpd")), s.port,
		q(filepath.Join(root, "usr/lib/courier/courier/imaplogin")), q(filepath.Join(root, "usr/bin/imapd")))
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// start makes one attempt on a free port. retry reports whether the failure
// looks like a port conflict.
func (s *courierServer) start(root string) (retry bool, err error) {
	ports, err := dcFreePorts(1)
	if err != nil {
		return false, err
	}
	s.port = ports[0]
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	os.Remove(filepath.Join(s.runDir, "authdaemon", "socket"))

	logf, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)

	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", s.script(root))
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so kill reaches every Courier process
	setPdeathsig(cmd.SysProcAttr)
	exited, err := startOnLockedThread(cmd, &s.exit)
	if err != nil {
		return false, fmt.Errorf("exec unshare (util-linux): %w", err)
	}
	s.cmd, s.exited = cmd, exited

	if err = s.waitReady(15 * time.Second); err == nil {
		return false, nil
	}
	s.kill()
	logText, _ := os.ReadFile(s.logFile)
	if int64(len(logText)) >= logStart && bytes.Contains(logText[logStart:], []byte("in use")) {
		return true, err
	}
	return false, err
}

// waitReady polls until authdaemond's socket exists and the port greets as
// Courier.
func (s *courierServer) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	socket := filepath.Join(s.runDir, "authdaemon", "socket")
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("courier exited during startup: %v", s.exit.get())
		default:
		}
		_, err := os.Stat(socket)
		if err == nil {
			if err = courierProbe(s.addr); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("courier not ready within %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func courierProbe(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading greeting from %s: %w", addr, err)
	}
	if !strings.HasPrefix(line, "* OK") || !strings.Contains(line, "Courier-IMAP ready") {
		return fmt.Errorf("unexpected greeting from %s: %q", addr, line)
	}
	fmt.Fprintf(conn, "z LOGOUT\r\n")
	return nil
}

// kill stops every process of the instance (it leads its own process
// group) and waits for the leader to exit.
func (s *courierServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return // reaped: the group id may belong to someone else now
	default:
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
}

func (s *courierServer) mailDir(user string) string {
	return filepath.Join(s.homeDir, user, "Maildir")
}

func (s *courierServer) addUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.users[u.Name]; dup {
		return errors.New("the name is taken by another test of this binary (user names are global to the shared Courier)")
	}
	home := filepath.Join(s.homeDir, u.Name)
	os.RemoveAll(home)
	for _, d := range []string{home, s.mailDir(u.Name), filepath.Join(s.mailDir(u.Name), "cur"), filepath.Join(s.mailDir(u.Name), "new"), filepath.Join(s.mailDir(u.Name), "tmp")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, s.mailUID, s.mailGID); err != nil {
			return err
		}
	}
	s.users[u.Name] = u.Password
	if err := s.writeUserDB(); err != nil {
		delete(s.users, u.Name)
		return err
	}
	return nil
}

func (s *courierServer) removeUser(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, name)
	if err := s.writeUserDB(); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(s.homeDir, name))
}

// writeUserDB compiles the users into userdb.dat (home, Maildir, mail
// user) and userdbshadow.dat (passwords, as {SHA} hashes), as makeuserdb
// does, with makedatprog. authuserdb reopens userdb.dat when its mtime or
// inode changed; a new file's inode may be the one just freed, so the
// mtime is made to move forward on every write. Called with s.mu held.
func (s *courierServer) writeUserDB() error {
	names := make([]string, 0, len(s.users))
	for n := range s.users {
		names = append(names, n)
	}
	slices.Sort(names)
	var db, shadow strings.Builder
	for _, n := range names {
		home := filepath.Join(s.homeDir, n)
		fmt.Fprintf(&db, "%s\tuid=%d|gid=%d|home=%s|mail=%s|_=\n", n, s.mailUID, s.mailGID, home, s.mailDir(n))
		sum := sha1.Sum([]byte(s.users[n]))
		fmt.Fprintf(&shadow, "%s\tsystempw={SHA}%s\n", n, base64.StdEncoding.EncodeToString(sum[:]))
	}
	db.WriteString(".\n")
	shadow.WriteString(".\n")
	// The shadow first: once userdb.dat names a user, its password must
	// be there.
	if err := courierMakedatFile(filepath.Join(s.etcDir, "userdbshadow"), shadow.String(), 0o600); err != nil {
		return err
	}
	dat := filepath.Join(s.etcDir, "userdb")
	if err := courierMakedatFile(dat, db.String(), 0o644); err != nil {
		return err
	}
	mtime := time.Now().Truncate(time.Second)
	if !mtime.After(s.lastMtime) {
		mtime = s.lastMtime.Add(time.Second)
	}
	s.lastMtime = mtime
	return os.Chtimes(dat+".dat", mtime, mtime)
}

// courierMakedatFile writes base.dat from records ("key\tvalue" lines
// ending with ".") through base.tmp, replacing base.dat atomically.
func courierMakedatFile(base, records string, perm os.FileMode) error {
	cmd := exec.Command(courierMakedat, "-", base+".tmp", base+".dat")
	cmd.Stdin = strings.NewReader(records)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s.dat: %v: %s", courierMakedat, base, err, strings.TrimSpace(string(out)))
	}
	return os.Chmod(base+".dat", perm)
}

// courierLockOwner creates path and locks it for as long as this process
// lives, so other test processes see the directory is in use.
func courierLockOwner(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// removeStaleCourierDirs removes the directories of Couriers whose test
// process has ended (its server died with it: parent-death signal): those
// whose owner lock is free. A directory without a lock file may be being
// created right now and is left alone unless old.
func removeStaleCourierDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), courierDirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, "owner.lock"))
		if err != nil {
			if fi, err := os.Stat(dir); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(dir)
			}
			continue
		}
		fi, statErr := f.Stat()
		free := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
		f.Close()
		// Its owner locks the file right after creating it: a young,
		// unlocked file may be in that moment.
		if free && statErr == nil && time.Since(fi.ModTime()) > time.Minute {
			os.RemoveAll(dir)
		}
	}
}
