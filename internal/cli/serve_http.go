package cli

import (
	"net/http"
	"time"
)

// httpTimeouts bound how long one client may hold a connection of `ferry
// serve` (docs/security.md lists them). The live-update stream sets its own
// deadlines per event (web/live.go).
type httpTimeouts struct {
	// ReadHeader: to send the request line and headers.
	ReadHeader time.Duration
	// Read: to send the whole request, body included (a 10 MB import at
	// 200 kB/s takes under a minute).
	Read time.Duration
	// Write: to take the whole answer, from the end of the request's headers.
	Write time.Duration
	// Idle: a kept-alive connection waiting for its next request.
	Idle time.Duration
}

var serveTimeouts = httpTimeouts{ReadHeader: 10 * time.Second, Read: time.Minute, Write: 2 * time.Minute, Idle: 2 * time.Minute}

// newHTTPServer is the server of `ferry serve`: no connection is held open
// by a client that trickles its request, reads slowly or idles.
func newHTTPServer(h http.Handler, t httpTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}
