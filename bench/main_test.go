package bench

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// tmpfsMagic is TMPFS_MAGIC, statfs's f_type of a tmpfs.
const tmpfsMagic = 0x01021994

// TestMain puts the benchmarks' servers, mail and state files in memory
// (under /dev/shm, when it is a tmpfs) unless FERRY_BENCH_DISK is set. On
// the shared machines these run on, a virtual disk's writeback and discard
// made the same Dovecot's CPU for the same copy grow from one run to the
// next (4.5 to 8.7 s for 200 small mailboxes within the hour): the tools
// are compared, not the disk, and every tool writes to the same kind of
// storage.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("FERRY_BENCH_DISK") != "" {
		return m.Run()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Type != tmpfsMagic {
		return m.Run()
	}
	dir, err := os.MkdirTemp("/dev/shm", "ferry-bench-")
	if err != nil {
		return m.Run()
	}
	defer os.RemoveAll(dir)
	// The servers' own users (dovenull, dovecot, postgres) pass through it.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	os.Setenv("TMPDIR", dir)
	return m.Run()
}
