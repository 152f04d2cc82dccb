package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"mime"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// fingerprintFields are the headers that, with the internal date, identify
// a message cheaply. The size is left out on purpose: servers that store
// bare-LF messages serve them with CRLF, so sizes differ between what was
// read and what is reported. Bodies are compared only when two source
// messages share a fingerprint (see matchByBody).
var fingerprintFields = []string{"Message-ID", "Date", "From", "To", "Cc", "Subject", "In-Reply-To"}

var headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: fingerprintFields, Peek: true}

type fingerprint [16]byte

// makeFingerprint hashes what survives an exact copy: the internal date to
// the second and the identifying headers as raw bytes.
func makeFingerprint(date time.Time, header []byte) fingerprint {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(date.Unix()))
	h.Write(b[:])
	h.Write(normalizeHeader(header))
	var fp fingerprint
	copy(fp[:], h.Sum(nil))
	return fp
}

// normalizeHeader drops the differences servers introduce when they return
// HEADER.FIELDS: line ends and the order of fields.
func normalizeHeader(h []byte) []byte {
	s := strings.ReplaceAll(string(h), "\r\n", "\n")
	return []byte(strings.TrimRight(s, "\n"))
}

var wordDecoder = mime.WordDecoder{}

// subjectOf pulls a readable subject out of raw header fields, for reports.
func subjectOf(header []byte) string {
	lines := strings.Split(strings.ReplaceAll(string(header), "\r\n", "\n"), "\n")
	for i, l := range lines {
		if len(l) > 8 && strings.EqualFold(l[:8], "subject:") {
			v := strings.TrimSpace(l[8:])
			for j := i + 1; j < len(lines) && len(lines[j]) > 0 && (lines[j][0] == ' ' || lines[j][0] == '\t'); j++ {
				v += " " + strings.TrimSpace(lines[j])
			}
			if d, err := wordDecoder.DecodeHeader(v); err == nil {
				v = d
			}
			if len(v) > 120 {
				v = v[:120] + "…"
			}
			// A copy: a substring would keep the whole fetched header alive.
			return strings.Clone(strings.ToValidUTF8(v, "?"))
		}
	}
	return ""
}

// flagString is the canonical form of a flag set: sorted, space separated,
// without \Recent (which no client can set).
func flagString(flags []imap.Flag) string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func parseFlags(s string) []imap.Flag {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, " ")
	out := make([]imap.Flag, len(parts))
	for i, p := range parts {
		out[i] = imap.Flag(p)
	}
	return out
}
