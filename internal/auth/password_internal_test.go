package auth

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestArgonRunsFewAtOnce: however many passwords are checked at once, at
// most cap(argonSlots) argon2id computations (19 MiB each) run together,
// so a burst of sign-ins cannot grow the server by 19 MiB a request.
// Not parallel: it sets argonHeld, which every hash reads.
func TestArgonRunsFewAtOnce(t *testing.T) {
	// A cheap hash (64 KiB, 1 pass): the test measures overlap, not cost.
	const cheap = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$uSJjpa2qw3H8nIL3bbwjI5mA7RbDHIGh6LHgqFLF8ms"
	var busy, peak atomic.Int32
	argonHeld = func() {
		n := busy.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond) // long enough for the others to pile up
		busy.Add(-1)
	}
	t.Cleanup(func() { argonHeld = nil })
	var wg sync.WaitGroup
	for range 8 * cap(argonSlots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			VerifyPassword(cheap, "a wrong password")
		}()
	}
	wg.Wait()
	if got := peak.Load(); got > int32(cap(argonSlots)) || got < 1 {
		t.Errorf("%d argon2id computations ran at once, want 1 to %d", got, cap(argonSlots))
	}
}
