package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// vmHWM is a process's peak resident memory, from /proc/PID/status.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestHostileImportsKeepServeSmall: 10 MB CSV files built to exhaust memory
// (one mailbox listed over and over; every row wrong, with a password in
// it), posted to a real `ferry serve` as imports and as a wave plan, get
// short answers that quote no password; then a hundred sign-ins arrive at
// once. The server's peak memory stays under 200 MB. On the way it checks
// that the files of a fresh data folder are private.
func TestHostileImportsKeepServeSmall(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	db := filepath.Join(dir, "ferry.db")
	tok, err := exec.Command(ferryBin, "token", "create", "--name", "test", "--database", db).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(tok))
	addr := freePort(t)
	serve := exec.Command(ferryBin, "serve", "--database", db, "--listen", addr, "--concurrency", "1")
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })

	call := func(method, path, contentType string, body []byte) (int, []byte) {
		t.Helper()
		for i := 0; ; i++ {
			req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if i > 100 {
					t.Fatalf("%s %s: %v\n%s", method, path, err, logs.String())
				}
				time.Sleep(100 * time.Millisecond) // the server is starting
				continue
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, raw
		}
	}
	create := func(path string, body map[string]any) string {
		t.Helper()
		b, _ := json.Marshal(body)
		code, raw := call("POST", path, "application/json", b)
		var out struct{ ID int64 }
		if code != 201 || json.Unmarshal(raw, &out) != nil {
			t.Fatalf("POST %s: %d %s", path, code, raw)
		}
		return strconv.FormatInt(out.ID, 10)
	}
	cust := create("/api/v1/customers", map[string]any{"name": "Contoso", "primary_domain": "contoso.com"})
	src := create("/api/v1/customers/"+cust+"/endpoints", map[string]any{"name": "old", "type": "imap", "host": "imap.old.example",
		"admin_user": "admin", "password": "admin-password-1"})
	dst := create("/api/v1/customers/"+cust+"/endpoints", map[string]any{"name": "new", "type": "imap", "host": "imap.new.example",
		"admin_user": "admin", "password": "admin-password-2"})
	proj := create("/api/v1/customers/"+cust+"/projects", map[string]any{"name": "Mail", "source_endpoint_id": atoi(src), "destination_endpoint_id": atoi(dst)})

	// The data folder and the database's files are private.
	for _, p := range []string{dir, db, db + "-wal", db + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v (expected while serve runs)", p, err)
		}
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}

	const size = 10<<20 - 1024 // just under the API's limit
	const pw = "Zq9-Secret-Pw"
	fill := func(header, row func(i int) string) []byte {
		var b bytes.Buffer
		b.WriteString(header(0))
		for i := 0; b.Len() < size-200; i++ {
			b.WriteString(row(i))
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		csv  []byte
	}{
		{"one mailbox over and over", fill(func(int) string { return "source,destination\n" },
			func(int) string { return "alice@contoso.com,alice@contoso.onmicrosoft.com\n" })},
		{"every row wrong, with a password", fill(func(int) string { return "source,destination,source_password\n" },
			func(i int) string { return fmt.Sprintf("user%d@contoso.com,%s\n", i, pw) })},
		{"under the row limit, every row a duplicate", fill(func(int) string { return "source,destination\n" },
			func(i int) string {
				if i >= 45000 {
					return "#" + strings.Repeat("x", 200) + "\n"
				}
				return "alice@contoso.com,alice@contoso.onmicrosoft.com\n"
			})},
	} {
		code, raw := call("POST", "/api/v1/projects/"+proj+"/items/import?apply=true", "text/csv", tc.csv)
		if code != 400 {
			t.Errorf("%s: %d, want 400: %.300s", tc.name, code, raw)
		}
		if len(raw) > 64<<10 {
			t.Errorf("%s: the answer is %d kB", tc.name, len(raw)>>10)
		}
		if bytes.Contains(raw, []byte(pw)) {
			t.Errorf("%s: the answer quotes the password", tc.name)
		}
	}
	// A wave plan carries its CSV files in JSON: the same 10 MB, every row
	// of the permissions export wrong.
	perms := fill(func(int) string { return "Mailbox,User,AccessRights\n" }, func(i int) string { return fmt.Sprintf("user%d@contoso.com,%s,Nonsense\n", i, pw) })
	perms = perms[:bytes.LastIndexByte(perms[:size*9/10], '\n')+1] // JSON writes each line break as two bytes
	plan, _ := json.Marshal(map[string]any{"permissions": string(perms), "max_per_wave": 5, "start": "2099-01-08"})
	if code, raw := call("POST", "/api/v1/projects/"+proj+"/waves/plan", "application/json", plan); code != 400 || len(raw) > 64<<10 || bytes.Contains(raw, []byte(pw)) {
		t.Errorf("a 10 MB wave plan, every row wrong: %d, %d bytes: %.300s", code, len(raw), raw)
	}

	t.Logf("peak resident memory before the sign-ins: %d MB", vmHWM(t, serve.Process.Pid)>>20)

	// A hundred sign-ins at once, each from its own address (so that the
	// throttle lets every one reach a password check): argon2id costs 19 MiB
	// a check while it runs, and only a few run together.
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}
			client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext}}
			const csrf = "0123456789abcdef0123456789abcdef"
			form := url.Values{"email": {fmt.Sprintf("guess%d@contoso.com", i)}, "password": {"guess guess guess"}, "csrf": {csrf}}
			req, _ := http.NewRequest("POST", "http://"+addr+"/signin", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "ferry_login_csrf", Value: csrf})
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("sign-in %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 100 {
		t.Errorf("%d of 100 wrong sign-ins from 100 addresses were refused as wrong, want all", refused.Load())
	}

	peak := vmHWM(t, serve.Process.Pid)
	t.Logf("ferry serve's peak resident memory after three 10 MB hostile imports, a 10 MB wave plan and 100 sign-ins at once: %d MB", peak>>20)
	if peak > 200<<20 {
		t.Errorf("ferry serve grew to %d MB, over 200 MB", peak>>20)
	}
}
