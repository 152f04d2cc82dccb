package web

import "testing"

// TestSafeNext: only same-origin paths survive as where to go after signing
// in; every known way of smuggling another origin past a prefix check ends
// at the dashboard.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ next, want string }{
		{"/projects/3", "/projects/3"},
		{"/projects/3?tab=items&q=a%20b", "/projects/3?tab=items&q=a%20b"},
		{"/items/7#errors", "/items/7#errors"},
		{"", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/%0d%0a/evil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"%2f%2fevil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/%5C%5Cevil.example", "/"},
		{"/%255c/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/javascript:alert(1)", "/javascript:alert(1)"}, // a path on this site, harmless
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"https:evil.example", "/"},
		{" //evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/%00/evil.example", "/"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}
