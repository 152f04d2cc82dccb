package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// env is a fake environment, so tests need no t.Setenv and can run in parallel.
func env(vars map[string]string) lookupFunc {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

var noEnv = env(nil)

func mustKeyring(t *testing.T, key []byte, old ...[]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(key, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSeal(t *testing.T, k *Keyring, plaintext, ad string) string {
	t.Helper()
	s, err := k.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustKeyring(t, testKey(1))
	for _, tc := range []struct{ name, plaintext, ad string }{
		{"password", "hunter2", "endpoint:42:password"},
		{"empty", "", "endpoint:42:password"},
		{"unicode", "pässwörd ✓ 🔑", "endpoint:7:password"},
		{"oauth token", strings.Repeat("ya29.a0AfH6SMB", 200), "endpoint:42:oauth2"},
		{"binary", "\x00\xff\n:v1:", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sealed := mustSeal(t, k, tc.plaintext, tc.ad)
			if want := "v1:" + k.CurrentKeyID() + ":"; !strings.HasPrefix(sealed, want) {
				t.Errorf("sealed %q does not start with %q", sealed, want)
			}
			if tc.plaintext != "" && strings.Contains(sealed, tc.plaintext) {
				t.Error("sealed value contains the plaintext")
			}
			for _, c := range sealed {
				if c < 0x21 || c > 0x7e {
					t.Fatalf("sealed value has unprintable %q", c)
				}
			}
			if !IsSealed(sealed) {
				t.Error("IsSealed = false")
			}
			got, err := k.Open(sealed, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.plaintext {
				t.Errorf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	// First 8 hex characters of SHA-256 of 32 zero bytes.
	if got, want := KeyID(make([]byte, KeySize)), "66687aad"; got != want {
		t.Errorf("KeyID = %q, want %q", got, want)
	}
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	k := mustKeyring(t, testKey(1))
	const ad = "endpoint:42:password"
	sealed := mustSeal(t, k, "hunter2", ad)
	prefix, data, _ := strings.Cut(sealed[3:], ":")
	prefix = "v1:" + prefix + ":"
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return prefix + base64.StdEncoding.EncodeToString(b)
	}
	for _, tc := range []struct {
		name, sealed, ad string
		is               error
		want             string
	}{
		{"nonce tampered", flip(0), ad, ErrAuth, "modified"},
		{"ciphertext tampered", flip(nonceSize), ad, ErrAuth, "modified"},
		{"tag tampered", flip(len(raw) - 1), ad, ErrAuth, "modified"},
		{"truncated", prefix + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]), ad, ErrAuth, "modified"},
		{"too short", prefix + base64.StdEncoding.EncodeToString(raw[:nonceSize]), ad, ErrMalformed, "too short"},
		{"wrong associated data", sealed, "endpoint:43:password", ErrAuth, `"endpoint:43:password"`},
		{"other purpose", sealed, "endpoint:42:oauth2", ErrAuth, "associated data"},
		{"empty associated data", sealed, "", nil, "associated data is empty"},
		{"plain text", "hunter2", ad, ErrMalformed, "not a sealed value"},
		{"unknown version", "v2" + sealed[2:], ad, ErrMalformed, `unknown format "v2"`},
		{"bad key id", "v1:XYZ:" + data, ad, ErrMalformed, "key id"},
		{"bad base64", prefix + "!!!", ad, ErrMalformed, "base64"},
		{"other key id", "v1:00000000:" + data, ad, ErrUnknownKey, "sealed with key 00000000, which this keyring does not hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.Open(tc.sealed, tc.ad)
			wantErr(t, err, tc.want)
			if got != "" {
				t.Errorf("Open returned %q along with the error", got)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "hunter2") && tc.name != "plain text" {
				t.Errorf("error %q shows the plaintext", err)
			}
		})
	}
}

func TestSealRandomNonce(t *testing.T) {
	t.Parallel()
	k := mustKeyring(t, testKey(1))
	seen := map[string]bool{}
	for range 100 {
		s := mustSeal(t, k, "same", "endpoint:1:password")
		if seen[s] {
			t.Fatalf("sealing the same plaintext twice gave %q both times", s)
		}
		seen[s] = true
	}
}

func TestSealNeedsAssociatedData(t *testing.T) {
	t.Parallel()
	_, err := mustKeyring(t, testKey(1)).Seal("x", "")
	wantErr(t, err, "associated data is empty")
	_, err = (*Keyring)(nil).Seal("x", "a")
	wantErr(t, err, "empty keyring")
}

func TestNewKeyringLength(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  []byte
		old  [][]byte
		want string
	}{
		{"short", make([]byte, 16), nil, "current key is 16 bytes, want 32"},
		{"nil", nil, nil, "is 0 bytes"},
		{"old short", testKey(1), [][]byte{make([]byte, 31)}, "old key 1 is 31 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewKeyring(tc.key, tc.old...)
			wantErr(t, err, tc.want)
		})
	}
}

func TestKeyFileCreatedAndReused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "secret.key")
	k1, err := loadKeyring(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %04o, want 0600", perm)
		}
		for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
			di, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if perm := di.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("directory %s mode %04o, want 0700", d, perm)
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("key file has %d lines, want 1", len(lines))
	}
	key, err := base64.StdEncoding.DecodeString(lines[0])
	if err != nil || len(key) != KeySize {
		t.Fatalf("key file line is not base64 of 32 bytes (err %v, %d bytes)", err, len(key))
	}
	if KeyID(key) != k1.CurrentKeyID() {
		t.Errorf("file key id %s, keyring %s", KeyID(key), k1.CurrentKeyID())
	}
	if s := fmt.Sprintf("%v %+v %#v %s", k1, k1, k1, k1); strings.Contains(s, lines[0]) {
		t.Errorf("printing the keyring shows the key: %s", s)
	}

	sealed := mustSeal(t, k1, "hunter2", "endpoint:1:password")
	k2, err := loadKeyring(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if k2.CurrentKeyID() != k1.CurrentKeyID() {
		t.Errorf("second load has key %s, first %s", k2.CurrentKeyID(), k1.CurrentKeyID())
	}
	if got, err := k2.Open(sealed, "endpoint:1:password"); err != nil || got != "hunter2" {
		t.Errorf("Open after reload = %q, %v", got, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the key file", len(entries))
	}
}

func TestKeyFileRefused(t *testing.T) {
	t.Parallel()
	good := b64(testKey(1)) + "\n"
	for _, tc := range []struct {
		name    string
		content string
		mode    os.FileMode
		want    []string
	}{
		{"group readable", good, 0o640, []string{"mode 0640", "chmod 600"}},
		{"world readable", good, 0o644, []string{"mode 0644", "chmod 600"}},
		{"others readable only", good, 0o604, []string{"group or others"}},
		{"group writable", good, 0o620, []string{"chmod 600"}},
		{"malformed", "not a key!\n", 0o600, []string{"line 1", "not valid base64"}},
		{"wrong length", b64(testKey(1)[:24]) + "\n", 0o600, []string{"line 1", "decodes to 24 bytes, want 32"}},
		{"bad old key", good + "\n" + b64(make([]byte, 33)) + "\n", 0o600, []string{"line 3", "33 bytes"}},
		{"empty", "\n# nothing\n", 0o600, []string{"holds no key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.mode&0o077 != 0 && runtime.GOOS == "windows" {
				t.Skip("no Unix permissions")
			}
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := loadKeyring(path, noEnv)
			wantErr(t, err, append([]string{path}, tc.want...)...)
			if strings.Contains(err.Error(), strings.TrimSpace(good)) {
				t.Errorf("error %q shows the key", err)
			}
			if after, _ := os.ReadFile(path); string(after) != tc.content {
				t.Error("refused key file was modified")
			}
		})
	}
}

func TestKeyFileFormat(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	content := "# ferry keys\r\n\r\n" + b64(testKey(2)) + "\r\n" + base64.RawStdEncoding.EncodeToString(testKey(1)) + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := loadKeyring(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(k.KeyIDs(), ","), KeyID(testKey(2))+","+KeyID(testKey(1)); got != want {
		t.Errorf("key ids %s, want %s", got, want)
	}
}

func TestEnvKey(t *testing.T) {
	t.Parallel()
	fileKey, envKey, oldKey := testKey(1), testKey(2), testKey(3)
	sealedOld := mustSeal(t, mustKeyring(t, oldKey), "hunter2", "ad")
	for _, tc := range []struct {
		name     string
		env      map[string]string
		withFile bool
		wantIDs  []string
	}{
		{"env wins over file", map[string]string{EnvKey: b64(envKey)}, true, []string{KeyID(envKey)}},
		{"no file needed", map[string]string{EnvKey: b64(envKey)}, false, []string{KeyID(envKey)}},
		{"padding-free and spaces", map[string]string{EnvKey: " " + base64.RawStdEncoding.EncodeToString(envKey) + "\n"}, false, []string{KeyID(envKey)}},
		{"old keys", map[string]string{EnvKey: b64(envKey), EnvOldKey: b64(oldKey) + ", " + b64(fileKey) + ","}, false,
			[]string{KeyID(envKey), KeyID(oldKey), KeyID(fileKey)}},
		{"file without env", nil, true, []string{KeyID(fileKey)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "secret.key")
			if tc.withFile {
				if err := os.WriteFile(path, []byte(b64(fileKey)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k, err := loadKeyring(path, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(k.KeyIDs(), ","), strings.Join(tc.wantIDs, ","); got != want {
				t.Errorf("key ids %s, want %s", got, want)
			}
			if _, err := os.Stat(path); !tc.withFile && err == nil {
				t.Error("key file was created although FERRY_SECRET_KEY is set")
			}
			if len(tc.wantIDs) > 1 {
				if got, err := k.Open(sealedOld, "ad"); err != nil || got != "hunter2" {
					t.Errorf("Open with FERRY_SECRET_KEY_OLD = %q, %v", got, err)
				}
				if !k.NeedsReseal(sealedOld) {
					t.Error("NeedsReseal = false for a value sealed with an old key")
				}
			}
		})
	}
}

func TestEnvKeyMalformed(t *testing.T) {
	t.Parallel()
	good := b64(testKey(1))
	for _, tc := range []struct {
		name   string
		env    map[string]string
		secret string // must not appear in the error
		want   []string
	}{
		{"not base64", map[string]string{EnvKey: "s3cr3t-p@ssw0rd!"}, "s3cr3t-p@ssw0rd!", []string{"FERRY_SECRET_KEY is not valid base64", "head -c 32 /dev/urandom | base64"}},
		{"too short", map[string]string{EnvKey: b64([]byte("0123456789abcdef"))}, b64([]byte("0123456789abcdef")), []string{"FERRY_SECRET_KEY decodes to 16 bytes, want 32"}},
		{"too long", map[string]string{EnvKey: b64(make([]byte, 64))}, b64(make([]byte, 64)), []string{"decodes to 64 bytes, want 32"}},
		{"empty", map[string]string{EnvKey: ""}, "", []string{"FERRY_SECRET_KEY is empty"}},
		{"bad old key", map[string]string{EnvKey: good, EnvOldKey: good + ",c2hvcnQ="}, "c2hvcnQ=", []string{"FERRY_SECRET_KEY_OLD: key 2 decodes to 5 bytes"}},
		{"old without current", map[string]string{EnvOldKey: good}, good, []string{"FERRY_SECRET_KEY_OLD is set but FERRY_SECRET_KEY is not"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadKeyring(filepath.Join(t.TempDir(), "secret.key"), env(tc.env))
			wantErr(t, err, tc.want...)
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	const ad = "endpoint:42:password"
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, err := loadKeyring(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	sealed1 := mustSeal(t, k1, "first", ad)

	k2, err := rotate(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if k2.CurrentKeyID() == k1.CurrentKeyID() {
		t.Fatal("Rotate kept the current key")
	}
	sealed2 := mustSeal(t, k2, "second", ad)
	k3, err := rotate(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := loadKeyring(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := strings.Join([]string{k3.CurrentKeyID(), k2.CurrentKeyID(), k1.CurrentKeyID()}, ",")
	if got := strings.Join(reloaded.KeyIDs(), ","); got != wantIDs {
		t.Errorf("key file ids %s, want %s (current first)", got, wantIDs)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("rotated key file: %v, %v", fi.Mode(), err)
		}
	}

	for _, tc := range []struct {
		name, sealed, want string
	}{
		{"sealed before first rotation", sealed1, "first"},
		{"sealed before second rotation", sealed2, "second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, k := range []*Keyring{k3, reloaded} {
				if got, err := k.Open(tc.sealed, ad); err != nil || got != tc.want {
					t.Errorf("Open = %q, %v; want %q", got, err, tc.want)
				}
				if !k.NeedsReseal(tc.sealed) {
					t.Error("NeedsReseal = false for a value sealed with an old key")
				}
			}
		})
	}
	sealed3 := mustSeal(t, reloaded, "third", ad)
	if want := "v1:" + k3.CurrentKeyID() + ":"; !strings.HasPrefix(sealed3, want) {
		t.Errorf("new seal %q does not use the new key %s", sealed3, k3.CurrentKeyID())
	}
	if reloaded.NeedsReseal(sealed3) {
		t.Error("NeedsReseal = true for a value sealed with the current key")
	}
	if reloaded.NeedsReseal("plain text") {
		t.Error("NeedsReseal = true for a value that is not sealed")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("key directory holds %d entries after rotation, want only the key file", len(entries))
	}

	// Reseal, then drop the old keys.
	resealed := mustSeal(t, reloaded, "first", ad)
	if err := dropOldKeys(path, noEnv); err != nil {
		t.Fatal(err)
	}
	dropped, err := loadKeyring(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dropped.KeyIDs(), ","); got != k3.CurrentKeyID() {
		t.Errorf("after DropOldKeys the file holds keys %s, want only %s", got, k3.CurrentKeyID())
	}
	for _, tc := range []struct {
		name, sealed, missing string
	}{
		{"first key", sealed1, k1.CurrentKeyID()},
		{"second key", sealed2, k2.CurrentKeyID()},
	} {
		t.Run("dropped "+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := dropped.Open(tc.sealed, ad)
			wantErr(t, err, "sealed with key "+tc.missing+", which this keyring does not hold: restore the old key file or FERRY_SECRET_KEY")
			var uk *UnknownKeyError
			if !errors.As(err, &uk) || uk.KeyID != tc.missing || !errors.Is(err, ErrUnknownKey) {
				t.Errorf("error %v is not an UnknownKeyError for %s", err, tc.missing)
			}
		})
	}
	for _, s := range []string{sealed3, resealed} {
		if _, err := dropped.Open(s, ad); err != nil {
			t.Errorf("value sealed with the current key: %v", err)
		}
	}
	if err := dropOldKeys(path, noEnv); err != nil {
		t.Errorf("DropOldKeys with only one key: %v", err)
	}
}

func TestRotateRefused(t *testing.T) {
	t.Parallel()
	withEnv := env(map[string]string{EnvKey: b64(testKey(1))})
	for _, tc := range []struct {
		name string
		run  func(path string) error
		want []string
	}{
		{"rotate with env", func(p string) error { _, err := rotate(p, withEnv); return err },
			[]string{"FERRY_SECRET_KEY is set", "rotate the environment variable", "FERRY_SECRET_KEY_OLD", "comma-separated"}},
		{"drop with env", func(p string) error { return dropOldKeys(p, withEnv) },
			[]string{"FERRY_SECRET_KEY is set", "unset FERRY_SECRET_KEY_OLD"}},
		{"rotate without file", func(p string) error { _, err := rotate(p, noEnv); return err },
			[]string{"no key file at"}},
		{"drop without file", func(p string) error { return dropOldKeys(p, noEnv) },
			[]string{"no key file at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "secret.key")
			wantErr(t, tc.run(path), tc.want...)
			if _, err := os.Stat(path); err == nil {
				t.Error("a key file was created")
			}
		})
	}
}

func TestKeyIDCollision(t *testing.T) {
	t.Parallel()
	// Two keys can share a 32-bit id; Open tries each.
	a, b := testKey(1), testKey(2)
	k := mustKeyring(t, a, b)
	sealed := mustSeal(t, mustKeyring(t, b), "x", "ad")
	k.keys[0].id = k.keys[1].id
	if got, err := k.Open(sealed, "ad"); err != nil || got != "x" {
		t.Errorf("Open = %q, %v", got, err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const value = "hunter2"
	s := Secret(value)
	type creds struct {
		User     string
		Password Secret
		Token    *Secret
	}
	c := creds{User: "alice", Password: s, Token: &s}
	for _, tc := range []struct {
		name string
		out  func() (string, error)
	}{
		{"%v", func() (string, error) { return fmt.Sprintf("%v", s), nil }},
		{"%+v", func() (string, error) { return fmt.Sprintf("%+v", s), nil }},
		{"%#v", func() (string, error) { return fmt.Sprintf("%#v", s), nil }},
		{"%s", func() (string, error) { return fmt.Sprintf("%s", s), nil }},
		{"%q", func() (string, error) { return fmt.Sprintf("%q", s), nil }},
		{"%x", func() (string, error) { return fmt.Sprintf("%x", s), nil }},
		{"%d", func() (string, error) { return fmt.Sprintf("%d", s), nil }},
		{"Println", func() (string, error) { return fmt.Sprintln(s), nil }},
		{"String", func() (string, error) { return s.String(), nil }},
		{"GoString", func() (string, error) { return s.GoString(), nil }},
		{"struct %v", func() (string, error) { return fmt.Sprintf("%v", c), nil }},
		{"struct %+v", func() (string, error) { return fmt.Sprintf("%+v", c), nil }},
		{"struct %#v", func() (string, error) { return fmt.Sprintf("%#v", c), nil }},
		{"pointer %v", func() (string, error) { return fmt.Sprintf("%v %+v %s", &s, &c, []Secret{s}), nil }},
		{"error wrap", func() (string, error) { return fmt.Errorf("login %v failed", s).Error(), nil }},
		{"json", func() (string, error) { b, err := json.Marshal(s); return string(b), err }},
		{"json struct", func() (string, error) { b, err := json.Marshal(c); return string(b), err }},
		{"json map value", func() (string, error) { b, err := json.Marshal(map[string]Secret{"p": s}); return string(b), err }},
		{"slog text", func() (string, error) {
			var b bytes.Buffer
			slog.New(slog.NewTextHandler(&b, nil)).Info("login", "password", s, "creds", c)
			return b.String(), nil
		}},
		{"slog json", func() (string, error) {
			var b bytes.Buffer
			slog.New(slog.NewJSONHandler(&b, nil)).Info("login", "password", s, "creds", c)
			return b.String(), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := tc.out()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
				t.Errorf("output shows the secret: %s", out)
			}
			if !strings.Contains(out, "[redacted]") && !strings.Contains(out, fmt.Sprintf("%x", "[redacted]")) {
				t.Errorf("output does not say [redacted]: %s", out)
			}
		})
	}
	if s.Reveal() != value {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	var back struct{ Password Secret }
	if err := json.Unmarshal([]byte(`{"Password":"hunter2"}`), &back); err != nil || back.Password.Reveal() != value {
		t.Errorf("json.Unmarshal into Secret = %q, %v", back.Password.Reveal(), err)
	}
}
