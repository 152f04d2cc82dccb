package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalQuitsAtOnce: the first SIGTERM asks the run to stop
// (its context ends), the second ends the process at once with status 1.
// Not parallel: it signals its own process.
func TestSecondSignalQuitsAtOnce(t *testing.T) {
	exited := make(chan int, 1)
	exitNow = func(code int) { exited <- code }
	t.Cleanup(func() { exitNow = os.Exit })
	var stderr bytes.Buffer
	ctx, stop := stopOnSignal(context.Background(), &stderr)
	defer stop()

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first SIGTERM did not stop the run")
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exited:
		if code != ExitFailures {
			t.Fatalf("exit status %d, want %d", code, ExitFailures)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second SIGTERM did not end the process")
	}
	if out := stderr.String(); !strings.Contains(out, "send it again to quit at once") || !strings.Contains(out, "quit at once;") {
		t.Fatalf("stderr does not explain the two signals:\n%s", out)
	}
}
