package web

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestFormTimesAreReadInTheReadersZone: a time typed in a form means the
// reader's local time when the browser said its zone (the ferry_tz cookie
// app.js sets), the server's otherwise; a bad cookie changes nothing.
func TestFormTimesAreReadInTheReadersZone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cookie, typed string
		want                time.Time
	}{
		{"Tokyo", "Asia/Tokyo", "2026-12-05T18:00", time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)},
		{"New York, escaped", url.QueryEscape("America/New_York"), "2026-12-05 18:00", time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)},
		{"UTC", "UTC", "2026-07-01", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"no cookie", "", "2026-12-05T18:00", time.Date(2026, 12, 5, 18, 0, 0, 0, time.Local)},
		{"unknown zone", "Mars/Olympus_Mons", "2026-12-05T18:00", time.Date(2026, 12, 5, 18, 0, 0, 0, time.Local)},
		{"a path, not a zone", "../../etc/passwd", "2026-12-05T18:00", time.Date(2026, 12, 5, 18, 0, 0, 0, time.Local)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: ZoneCookie, Value: tc.cookie})
			}
			got, err := parseLocalTime(r, tc.typed)
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("parseLocalTime(%q) with %q = %v, %v; want %v", tc.typed, tc.cookie, got, err, tc.want)
			}
		})
	}
	r := httptest.NewRequest("POST", "/", nil)
	if _, err := parseLocalTime(r, "next Tuesday"); err == nil || !strings.Contains(err.Error(), "not a date and time") {
		t.Fatalf("a sentence was read as a time: %v", err)
	}
}

// TestInstantsCarryTheirUTCTime: pages write instants as <time datetime>
// in UTC, so the page's script can show them in the reader's zone.
func TestInstantsCarryTheirUTCTime(t *testing.T) {
	t.Parallel()
	when := funcs["when"].(func(time.Time) template.HTML)
	got := string(when(time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)))
	if !strings.HasPrefix(got, `<time datetime="2026-12-05T09:30:00Z">`) || !strings.HasSuffix(got, "</time>") {
		t.Fatalf("when: %s", got)
	}
	if got := when(time.Time{}); got != "—" {
		t.Fatalf("zero time: %s", got)
	}
}
