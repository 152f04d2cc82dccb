package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters (OWASP's recommendation: 19 MiB, 2 passes, 1 lane).
// They are written into every hash, so raising them later keeps old hashes valid.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// CheckPassword says what is wrong with a new password, or nil.
func CheckPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLength:
		return fmt.Errorf("use a password of at least %d characters", MinPasswordLength)
	case len(pw) > 1024:
		return errors.New("use a password of at most 1024 bytes")
	case strings.TrimSpace(pw) == "":
		return errors.New("the password is only spaces")
	}
	return nil
}

// HashPassword returns the argon2id hash of a password in the usual encoding:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argonKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches an encoded argon2id hash.
func VerifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil || mem == 0 || iters == 0 || threads == 0 || mem > 1<<22 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argonKey([]byte(pw), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// argonSlots bounds the argon2id computations running at once. Each holds
// its memory (19 MiB) for its whole run, so a burst of sign-ins (wrong ones
// cost the same, and come from anyone) would otherwise grow the server by
// 19 MiB per request in flight: 100 at once took ferry serve to 1.8 GB. The
// hash is CPU-bound, so more at once than the processors would not be
// faster; the others wait their turn.
var argonSlots = make(chan struct{}, min(4, max(1, runtime.GOMAXPROCS(0))))

// argonHeld, when set (by tests), runs while a computation holds its slot.
var argonHeld func()

func argonKey(pw, salt []byte, iters, mem uint32, threads uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	if argonHeld != nil {
		argonHeld()
	}
	return argon2.IDKey(pw, salt, iters, mem, threads, keyLen)
}

// dummyHash is verified against when an account does not exist, so that
// sign-in takes as long for unknown emails as for known ones.
// It is made on first use, not at start: a hash costs 19 MiB and about
// 50 ms, which every ferry command would otherwise pay.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("ferry-no-such-account")
	return h
})
