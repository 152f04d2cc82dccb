package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/testimap"
)

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeRunsPassesThroughTheAPI: `ferry serve` on its SQLite file, a
// token from `ferry token create`, a whole project driven through the REST
// API, a Full pass watched to completion, then a graceful SIGTERM.
func TestServeRunsPassesThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 5, 25)
	dir := t.TempDir()
	db := filepath.Join(dir, "ferry.db")
	tok, err := exec.Command(ferryBin, "token", "create", "--name", "test", "--database", db).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(tok))
	addr := freePort(t)
	serve := exec.Command(ferryBin, "serve", "--database", db, "--listen", addr, "--poll", "100ms", "--shutdown-timeout", "5s")
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	t.Cleanup(func() { serve.Process.Kill() })

	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+addr+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		for i := 0; ; i++ {
			resp, err = http.DefaultClient.Do(req)
			if err == nil || i > 50 {
				break
			}
			time.Sleep(100 * time.Millisecond) // the server is starting
			if body != nil {
				b, _ := json.Marshal(body)
				req.Body = io.NopCloser(bytes.NewReader(b))
			}
		}
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, logs.String())
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
		}
		if strings.Contains(string(raw), "admin-pw") {
			t.Fatalf("a password came back: %s", raw)
		}
		out := map[string]any{}
		json.Unmarshal(raw, &out)
		return out
	}
	id := func(m map[string]any) string { return strconv.Itoa(int(m["id"].(float64))) }

	cust := call("POST", "/api/v1/customers", map[string]any{"name": "Contoso", "primary_domain": "contoso.com"}, 201)
	var eps []string
	for i, d := range []*testimap.Dovecot{f.src, f.dst} {
		e := call("POST", "/api/v1/customers/"+id(cust)+"/endpoints", map[string]any{"name": fmt.Sprint("ep", i), "type": "dovecot", "host": d.Host,
			"port": d.Port, "security": "starttls", "allow_plaintext": true, "admin_user": "ferry-admin", "password": "admin-pw"}, 201)
		eps = append(eps, id(e))
	}
	proj := call("POST", "/api/v1/customers/"+id(cust)+"/projects", map[string]any{"name": "Mail", "source_endpoint_id": atoi(eps[0]),
		"destination_endpoint_id": atoi(eps[1]), "max_concurrent_migrations": 2}, 201)
	for _, u := range f.users {
		call("POST", "/api/v1/projects/"+id(proj)+"/items", map[string]any{"source": u, "destination": u}, 201)
	}
	res := call("POST", "/api/v1/projects/"+id(proj)+"/passes", map[string]any{"pass": "full", "all": true}, 202)
	if res["queued"].(float64) != 5 {
		t.Fatalf("queued %v", res)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list := call("GET", "/api/v1/projects/"+id(proj)+"/items", nil, 200)
		completed := 0
		for _, it := range list["items"].([]any) {
			if it.(map[string]any)["status"] == "Completed" {
				completed++
			}
		}
		if completed == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("items: %v\n%s", list, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	f.requireExact(t)
	item := call("GET", "/api/v1/items/1", nil, 200)
	if h, _ := item["history"].([]any); len(h) != 1 {
		t.Fatalf("item detail: %v", item)
	}

	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not stop within its shutdown timeout:\n%s", logs.String())
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
