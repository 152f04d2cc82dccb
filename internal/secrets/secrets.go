// Package secrets seals credentials (IMAP passwords, OAuth2 tokens) at rest
// with AES-256-GCM.
//
// # Sealed values
//
// Seal returns printable text of the form
//
//	v1:<key id>:<base64(nonce|ciphertext)>
//
// where the key id is the first 8 hex characters of the SHA-256 of the key
// that sealed it, the nonce is 12 random bytes, and the base64 alphabet is
// the standard one with padding. Every value is sealed with associated data
// naming its owner and purpose (for example "endpoint:42:password"): opening
// it with any other associated data fails, so a sealed value copied to
// another row or field is useless there.
//
// # Keys
//
// A Keyring holds one current key, which seals, and any number of older keys,
// which only open. LoadKeyring takes the key from the environment variable
// FERRY_SECRET_KEY (base64 of 32 bytes) when it is set, with older keys in
// FERRY_SECRET_KEY_OLD (comma-separated); otherwise it reads the key file,
// creating it on first use.
//
// # Key file format
//
// The key file is text with one key per line, each the standard base64 of
// 32 bytes. The first key line is the current key; the following lines are
// old keys, kept only so that values sealed before a rotation can still be
// opened. Blank lines and lines starting with '#' are ignored. The file must
// not be accessible by group or others (mode 0600); LoadKeyring refuses it
// otherwise.
//
// # Rotation
//
//  1. Rotate(path): a new key becomes current and the previous keys stay in
//     the file as old keys.
//  2. Restart (or reload the Keyring in) every process using the file, so
//     none keeps sealing with the previous key.
//  3. Reseal every stored value for which NeedsReseal reports true: Open it,
//     Seal it again, store the result.
//  4. DropOldKeys(path): the file keeps only the current key. Values still
//     sealed with a dropped key can no longer be opened.
//
// With FERRY_SECRET_KEY the same steps apply to the environment: set
// FERRY_SECRET_KEY to a new key and move the previous one into
// FERRY_SECRET_KEY_OLD, reseal, then unset FERRY_SECRET_KEY_OLD.
//
// Rotate and DropOldKeys must not run concurrently with each other on the
// same file.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

const (
	version   = "v1"
	idLen     = 8  // hex characters of the key id
	nonceSize = 12 // GCM standard nonce
	tagSize   = 16 // GCM tag
)

var (
	// ErrUnknownKey is matched (errors.Is) by the error Open returns for a
	// value sealed with a key the keyring does not hold; see UnknownKeyError.
	ErrUnknownKey = errors.New("secrets: sealed with a key this keyring does not hold")
	// ErrMalformed is matched by the error Open returns for text that is not
	// a sealed value of a known format.
	ErrMalformed = errors.New("secrets: not a sealed value")
	// ErrAuth is matched by the error Open returns when the key is known but
	// the value does not authenticate: it was modified, or the associated
	// data differs from that it was sealed with.
	ErrAuth = errors.New("secrets: sealed value does not authenticate")
)

// UnknownKeyError reports a value sealed with a key the keyring does not
// hold. It matches ErrUnknownKey.
type UnknownKeyError struct {
	KeyID string // id of the key that sealed the value
}

func (e *UnknownKeyError) Error() string {
	return "secrets: sealed with key " + e.KeyID + ", which this keyring does not hold: restore the old key file or FERRY_SECRET_KEY" +
		" (older keys go in the key file after the current one, or in FERRY_SECRET_KEY_OLD)"
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the current key, which seals, and older keys, which only
// open. It holds no raw key bytes, prints only key ids, and is safe for
// concurrent use.
type Keyring struct {
	keys []key // keys[0] is current
}

// NewKeyring returns a keyring whose current key is key, which also opens
// values sealed with any of old. Every key must be KeySize bytes; duplicates
// are ignored.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	seen := map[string]bool{}
	for i, raw := range append([][]byte{current}, old...) {
		if len(raw) != KeySize {
			what := "the current key"
			if i > 0 {
				what = fmt.Sprintf("old key %d", i)
			}
			return nil, fmt.Errorf("secrets: %s is %d bytes, want %d", what, len(raw), KeySize)
		}
		if seen[string(raw)] {
			continue
		}
		seen[string(raw)] = true
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		k.keys = append(k.keys, key{id: KeyID(raw), aead: aead})
	}
	return k, nil
}

// KeyID returns the id of key as it appears in sealed values: the first 8
// hex characters of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])[:idLen]
}

// CurrentKeyID returns the id of the key Seal uses.
func (k *Keyring) CurrentKeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].id
}

// KeyIDs returns the ids of all keys, the current one first.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// String describes the keyring by key ids only.
func (k *Keyring) String() string {
	ids := k.KeyIDs()
	if len(ids) == 0 {
		return "secrets.Keyring{}"
	}
	return fmt.Sprintf("secrets.Keyring{current: %s, old: [%s]}", ids[0], strings.Join(ids[1:], " "))
}

// GoString is String, so that %#v shows no internals either.
func (k *Keyring) GoString() string { return k.String() }

func (k *Keyring) check(associatedData string) error {
	if k == nil || len(k.keys) == 0 {
		return errors.New("secrets: empty keyring (use LoadKeyring or NewKeyring)")
	}
	if associatedData == "" {
		return errors.New(`secrets: associated data is empty: name the owner and purpose of the value, e.g. "endpoint:42:password"`)
	}
	return nil
}

// Seal encrypts plaintext with the current key, bound to associatedData
// (which must not be empty), and returns "v1:<key id>:<base64(nonce|ciphertext)>".
// Sealing the same plaintext twice gives different results.
func (k *Keyring) Seal(plaintext, associatedData string) (string, error) {
	if err := k.check(associatedData); err != nil {
		return "", err
	}
	cur := k.keys[0]
	// The random-nonce AEAD prepends its 12-byte nonce to ciphertext|tag.
	out := cur.aead.Seal(nil, nil, []byte(plaintext), []byte(associatedData))
	return version + ":" + cur.id + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// parse splits a sealed value into key id and payload.
func parse(sealed string) (id string, payload []byte, err error) {
	v, rest, ok := strings.Cut(sealed, ":")
	if !ok {
		return "", nil, fmt.Errorf("%w (expected %q)", ErrMalformed, "v1:<key id>:<data>")
	}
	if v != version {
		if len(v) > 8 {
			v = v[:8] + "..."
		}
		return "", nil, fmt.Errorf("%w: unknown format %q (this version of ferry reads %q)", ErrMalformed, v, version)
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok || !isKeyID(id) {
		return "", nil, fmt.Errorf("%w: missing or malformed key id", ErrMalformed)
	}
	payload, err = base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", nil, fmt.Errorf("%w: data is not valid base64", ErrMalformed)
	}
	if len(payload) < nonceSize+tagSize {
		return "", nil, fmt.Errorf("%w: data is too short (%d bytes)", ErrMalformed, len(payload))
	}
	return id, payload, nil
}

func isKeyID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Open decrypts a value sealed by Seal with the same associatedData. Errors
// match ErrMalformed, ErrUnknownKey (an *UnknownKeyError naming the missing
// key id) or ErrAuth (modified, or sealed for other associated data).
func (k *Keyring) Open(sealed, associatedData string) (string, error) {
	if err := k.check(associatedData); err != nil {
		return "", err
	}
	id, payload, err := parse(sealed)
	if err != nil {
		return "", err
	}
	found := false
	for _, key := range k.keys { // ids are 32 bits: try every key that matches
		if key.id != id {
			continue
		}
		found = true
		if pt, err := key.aead.Open(nil, nil, payload, []byte(associatedData)); err == nil {
			return string(pt), nil
		}
	}
	if !found {
		return "", &UnknownKeyError{KeyID: id}
	}
	return "", fmt.Errorf("%w (key %s): it was modified, or it was sealed for other associated data than %q", ErrAuth, id, associatedData)
}

// NeedsReseal reports whether sealed was sealed with a key other than the
// current one, so it should be opened and sealed again. It reports false for
// text that is not a sealed value (Open tells why).
func (k *Keyring) NeedsReseal(sealed string) bool {
	id, _, err := parse(sealed)
	return err == nil && id != k.CurrentKeyID()
}

// IsSealed reports whether s has the form of a sealed value (it may still
// fail to open). Useful when migrating columns that held plain text.
func IsSealed(s string) bool {
	_, _, err := parse(s)
	return err == nil
}
