// Package bench holds Ferry's end-to-end benchmarks (bench_test.go): Ferry
// against mbsync and `doveadm backup` on real Dovecot instances, on loopback
// and through a latency proxy, and Ferry's peak memory on a large folder.
//
// Run them with `make bench`; docs/benchmarks.md records the figures.
package bench
