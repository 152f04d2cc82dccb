package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Environment variables read by LoadKeyring.
const (
	EnvKey    = "FERRY_SECRET_KEY"     // base64 of the current key; when set, the key file is not used
	EnvOldKey = "FERRY_SECRET_KEY_OLD" // comma-separated base64 of older keys, for opening only
)

const maxKeyFile = 64 << 10

// lookupFunc is os.LookupEnv; tests pass their own so they can run in parallel.
type lookupFunc func(string) (string, bool)

// LoadKeyring returns the keyring to use. When FERRY_SECRET_KEY is set it
// holds the current key (base64 of 32 bytes) and FERRY_SECRET_KEY_OLD any
// older ones (comma-separated), and path is not touched. Otherwise the keys
// come from the key file at path (see the package documentation for its
// format), which is created on first use with a new random key, mode 0600,
// in directories created with mode 0700. A key file accessible by group or
// others, a malformed key or one of the wrong length is refused. Errors
// never contain key material.
func LoadKeyring(path string) (*Keyring, error) { return loadKeyring(path, os.LookupEnv) }

func loadKeyring(path string, lookup lookupFunc) (*Keyring, error) {
	if cur, ok := lookup(EnvKey); ok {
		return envKeyring(cur, lookup)
	}
	if old, ok := lookup(EnvOldKey); ok && strings.TrimSpace(old) != "" {
		return nil, fmt.Errorf("secrets: %s is set but %s is not: set %s to the current key, or unset %s to use the key file %s",
			EnvOldKey, EnvKey, EnvKey, EnvOldKey, path)
	}
	if path == "" {
		return nil, fmt.Errorf("secrets: no key file path given and %s is not set", EnvKey)
	}
	keys, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		keys, err = createKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return NewKeyring(keys[0], keys[1:]...)
}

func envKeyring(cur string, lookup lookupFunc) (*Keyring, error) {
	key, err := decodeKey(cur)
	if err != nil {
		return nil, fmt.Errorf("secrets: %s %v; set it to the base64 of %d random bytes, e.g. the output of: head -c %d /dev/urandom | base64",
			EnvKey, err, KeySize, KeySize)
	}
	var old [][]byte
	if list, ok := lookup(EnvOldKey); ok {
		n := 0
		for s := range strings.SplitSeq(list, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			n++
			k, err := decodeKey(s)
			if err != nil {
				return nil, fmt.Errorf("secrets: %s: key %d %v; it must be a comma-separated list of base64 keys of %d bytes each", EnvOldKey, n, err, KeySize)
			}
			old = append(old, k)
		}
	}
	return NewKeyring(key, old...)
}

// decodeKey decodes one base64 key. Its errors read after a subject
// ("FERRY_SECRET_KEY is empty") and never contain the input.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return nil, errors.New("is not valid base64")
		}
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(key), KeySize)
	}
	return key, nil
}

// readKeyFile reads and checks the key file; the error matches
// fs.ErrNotExist when there is none.
func readKeyFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secrets: key file %s has mode %04o, so group or others can access it: run 'chmod 600 %s' (and consider rotating the key, since others could have read it)",
			path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("secrets: key file %s is larger than %d bytes: it is not a ferry key file", path, maxKeyFile)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := decodeKey(line)
		if err != nil {
			return nil, fmt.Errorf("secrets: key file %s, line %d: the key %v; each line must be the base64 of %d bytes", path, i+1, err, KeySize)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("secrets: key file %s holds no key: restore it from a backup (values sealed with the lost key cannot be opened without it)", path)
	}
	return keys, nil
}

func newKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secrets: generate key: %w", err)
	}
	return key, nil
}

func encodeKeys(keys [][]byte) []byte {
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// createKeyFile creates the key file with a new key unless another process
// got there first, in which case it reads that one.
func createKeyFile(path string) ([][]byte, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	err = writeKeyFile(path, [][]byte{key}, false)
	if errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return [][]byte{key}, nil
}

// writeKeyFile writes keys to path with mode 0600, atomically: readers see
// the old file or the new one, never a part. With replace false it fails
// with an error matching fs.ErrExist if path exists.
func writeKeyFile(path string, keys [][]byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets: create key file directory: %w", err)
	}
	data := encodeKeys(keys)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	defer func() {
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("secrets: remove temporary key file: %w", rmErr)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		// A hard link never replaces an existing file, so two processes
		// creating the key at once cannot end up with different keys.
		err = os.Link(tmp.Name(), path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			err = writeExclusive(path, data) // file system without hard links
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	syncDir(dir)
	return nil
}

func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// syncDir makes a rename or link durable where the platform allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Rotate generates a new key and rewrites the key file at path with it as
// the current key, keeping the previous keys after it as old keys so values
// sealed before still open; it returns the new keyring. Reseal values for
// which NeedsReseal reports true, then call DropOldKeys. With
// FERRY_SECRET_KEY set the key file is not in use, so Rotate refuses and
// says how to rotate the environment variable instead.
func Rotate(path string) (*Keyring, error) { return rotate(path, os.LookupEnv) }

func rotate(path string, lookup lookupFunc) (*Keyring, error) {
	if _, ok := lookup(EnvKey); ok {
		return nil, fmt.Errorf("secrets: %s is set, so the key file is not used and rotating it would change nothing: "+
			"rotate the environment variable instead: move its current value into %s (comma-separated if there are several old keys), "+
			"set %s to a new key (e.g. head -c %d /dev/urandom | base64), restart, reseal, then unset %s",
			EnvKey, EnvOldKey, EnvKey, KeySize, EnvOldKey)
	}
	keys, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secrets: no key file at %s to rotate (it is created on first use)", path)
	}
	if err != nil {
		return nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	keys = append([][]byte{key}, keys...)
	k, err := NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		return nil, err
	}
	if err := writeKeyFile(path, dedupe(keys), true); err != nil {
		return nil, err
	}
	return k, nil
}

// DropOldKeys rewrites the key file at path with only its current key. Call
// it once every value has been resealed with the current key (NeedsReseal is
// false for all): values still sealed with an old key can no longer be
// opened. With FERRY_SECRET_KEY set it refuses; unset FERRY_SECRET_KEY_OLD
// instead.
func DropOldKeys(path string) error { return dropOldKeys(path, os.LookupEnv) }

func dropOldKeys(path string, lookup lookupFunc) error {
	if _, ok := lookup(EnvKey); ok {
		return fmt.Errorf("secrets: %s is set, so the key file is not used: to drop old keys, unset %s instead", EnvKey, EnvOldKey)
	}
	keys, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("secrets: no key file at %s", path)
	}
	if err != nil {
		return err
	}
	if len(keys) == 1 {
		return nil
	}
	return writeKeyFile(path, keys[:1], true)
}

func dedupe(keys [][]byte) [][]byte {
	seen := map[string]bool{}
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[string(k)] {
			seen[string(k)] = true
			out = append(out, k)
		}
	}
	return out
}
