package engine

import (
	"testing"
	"time"
)

func TestMatchKeySurvivesWhatDestinationsChange(t *testing.T) {
	t.Parallel()
	original := "Message-ID: <a@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: J\xfcrgen <j@example.org>\r\nTo: alice@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\n\r\n"
	tests := []struct {
		name  string
		other string
		same  bool
	}{
		{"8-bit bytes replaced by X (munge8bit)", "Message-ID: <a@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: JXrgen <j@example.org>\r\nTo: alice@example.org\r\nSubject: GrXXXXe aus MXXnchen\r\n\r\n", true},
		{"8-bit text re-encoded as encoded words", "Message-ID: <a@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: alice@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\n\r\n", true},
		{"fields in another order, folded, LF line ends", "Subject: Gr\xc3\xbc\xc3\x9fe aus\n M\xc3\xbcnchen\nTo: alice@example.org\nFrom: \"J\xfcrgen\" <j@example.org>\nDate: Mon, 6 May 2024 07:08:09 +0000\nMessage-ID: <a@example.org>\n\n", true},
		{"another Message-ID", "Message-ID: <b@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: J\xfcrgen <j@example.org>\r\nTo: alice@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\n\r\n", false},
		{"another subject", "Message-ID: <a@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: J\xfcrgen <j@example.org>\r\nTo: alice@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus Berlin\r\n\r\n", false},
		{"a Cc added", "Message-ID: <a@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: J\xfcrgen <j@example.org>\r\nTo: alice@example.org\r\nCc: bob@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := makeFingerprint([]byte(original)) == makeFingerprint([]byte(tt.other)); got != tt.same {
				t.Fatalf("same key = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestAgreeToleratesWhatDestinationsChange(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	old := time.Date(1975, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s, d message
		want bool
	}{
		{"exact", message{date: at, size: 5000}, message{date: at, size: 5000}, true},
		{"local time taken for UTC", message{date: at, size: 5000}, message{date: at.Add(-14 * time.Hour), size: 5000}, true},
		{"bare LF served with CRLF", message{date: at, size: 40000}, message{date: at, size: 41000}, true},
		{"a date before 1980 replaced by the append time", message{date: old, size: 5000}, message{date: time.Now(), size: 5000}, true},
		{"a month apart", message{date: at, size: 5000}, message{date: at.AddDate(0, 1, 0), size: 5000}, false},
		{"another size altogether", message{date: at, size: 5000}, message{date: at, size: 2 << 20}, false},
	}
	for _, tt := range tests {
		if got := agree(&tt.s, &tt.d); got != tt.want {
			t.Errorf("%s: agree = %v, want %v", tt.name, got, tt.want)
		}
	}
}
