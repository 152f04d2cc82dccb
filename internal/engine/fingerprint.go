package engine

import (
	"crypto/sha256"
	"mime"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// fingerprintFields are the headers that identify a message cheaply. The
// internal date and the size are not part of the key: destinations change
// both (a date before 1980 becomes the time of the APPEND on Cyrus; a
// bare-LF message is served with CRLF), so they are compared with a
// tolerance when pairs are made (see agree). Bodies are compared only when
// several source messages share a key (see pairByKey).
var fingerprintFields = []string{"Message-ID", "Date", "From", "To", "Cc", "Subject", "In-Reply-To"}

var headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: fingerprintFields, Peek: true}

// fingerprint is a message's match key: what survives of its identifying
// headers on any destination.
type fingerprint [16]byte

// makeFingerprint hashes the identifying header values as a destination
// keeps them: unfolded, encoded words decoded, runs of white space made
// one space, quotes dropped, and every run of 8-bit bytes and 'X' made one
// 'X', because Cyrus's munge8bit stores each 8-bit header byte as 'X' and
// other servers re-encode 8-bit text in a charset of their own.
func makeFingerprint(header []byte) fingerprint {
	values := headerValues(header)
	h := sha256.New()
	for _, name := range fingerprintFields {
		h.Write([]byte(name))
		for _, v := range values[strings.ToLower(name)] {
			h.Write([]byte{0})
			h.Write(survivingValue(v))
		}
		h.Write([]byte{'\n'})
	}
	var fp fingerprint
	copy(fp[:], h.Sum(nil))
	return fp
}

// rawHeaderHash hashes the identifying headers byte for byte (only line
// ends and trailing blank lines aside): two copies whose raw hashes differ
// had their headers changed by a server.
func rawHeaderHash(header []byte) [16]byte {
	sum := sha256.Sum256(normalizeHeader(header))
	var out [16]byte
	copy(out[:], sum[:])
	return out
}

// headerValues splits raw header fields into unfolded values by lower-case name.
func headerValues(header []byte) map[string][]string {
	out := map[string][]string{}
	var name, value string
	flush := func() {
		if name != "" {
			out[name] = append(out[name], value)
		}
		name, value = "", ""
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(header), "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			value += " " + line
			continue
		}
		flush()
		if n, v, ok := strings.Cut(line, ":"); ok {
			name, value = strings.ToLower(strings.TrimSpace(n)), v
		}
	}
	flush()
	return out
}

// survivingValue is a header value as every destination keeps it (see makeFingerprint).
func survivingValue(v string) []byte {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	out := make([]byte, 0, len(v))
	space, eightBit := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space, eightBit = len(out) > 0, false
		case c == '"':
		case c >= 0x80 || c == 'X':
			if eightBit {
				continue
			}
			if space {
				out, space = append(out, ' '), false
			}
			out, eightBit = append(out, 'X'), true
		default:
			if space {
				out, space = append(out, ' '), false
			}
			out, eightBit = append(out, c), false
		}
	}
	return out
}

// normalizeHeader drops the differences servers introduce when they return
// HEADER.FIELDS: line ends and trailing blank lines.
func normalizeHeader(h []byte) []byte {
	s := strings.ReplaceAll(string(h), "\r\n", "\n")
	return []byte(strings.TrimRight(s, "\n"))
}

// dateTolerance: a copy's internal date may differ this much from the
// source's (servers that take a local time for UTC) and still be its copy.
const dateTolerance = 26 * time.Hour

// keptDatesFrom: destinations replace earlier internal dates (Cyrus stores
// the time of the APPEND instead), so such a date is no evidence.
var keptDatesFrom = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// agree says whether d, which shares s's key, can be s's copy: internal
// dates within dateTolerance (any date when s's is before 1980) and sizes
// within a quarter plus 8 KB (line ends, headers a server adds).
func agree(s, d *message) bool {
	if !s.date.Before(keptDatesFrom) {
		if diff := s.date.Sub(d.date); diff > dateTolerance || diff < -dateTolerance {
			return false
		}
	}
	diff := s.size - d.size
	return diff <= 8<<10+s.size/4 && -diff <= 8<<10+s.size/4
}

// pairByKey pairs source messages with destination messages that share
// their key, each used once, so that every source message needs its own
// copy. A lone source message takes the first destination message that
// agrees with it. Several source messages with one key (two messages
// with one Message-ID, or no Message-ID and the same sender, subject and
// Date) are told apart by the hashes of their bodies, which bodies asks
// for only then.
func pairByKey(srcs, dsts []*message, bodies func(srcs, dsts []*message) (src, dst map[uint32][32]byte, err error)) ([][2]*message, error) {
	var out [][2]*message
	used := make([]bool, len(dsts))
	if len(srcs) == 1 {
		for _, d := range dsts {
			if agree(srcs[0], d) {
				return append(out, [2]*message{srcs[0], d}), nil
			}
		}
		return nil, nil
	}
	if len(dsts) == 0 {
		return nil, nil
	}
	sh, dh, err := bodies(srcs, dsts)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		want, ok := sh[s.uid]
		if !ok {
			continue // gone from the source meanwhile
		}
		for i, d := range dsts {
			if got, ok := dh[d.uid]; ok && !used[i] && got == want && agree(s, d) {
				used[i] = true
				out = append(out, [2]*message{s, d})
				break
			}
		}
	}
	return out, nil
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
