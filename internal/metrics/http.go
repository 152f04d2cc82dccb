package metrics

import (
	"context"
	"net/http"
	"strconv"
)

// routeKey holds, in a request's context, where NoteRoute writes the
// pattern of the route that served it.
type routeKey struct{}

type routeSlot struct{ pattern string }

// Instrument counts the requests next answers by route pattern and status
// code. The pattern is the one of the innermost mux that matched (a
// ServeMux writes it into the request it is given), or the one NoteRoute
// recorded; never the path asked for, so that the label's values are the
// routes Ferry has, whatever paths clients send.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slot := &routeSlot{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, slot))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := slot.pattern
		if route == "" {
			route = r.Pattern
		}
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(rec.status())).Inc()
	})
}

// NoteRoute records the pattern of the route serving r (r.Pattern) for
// Instrument. A mux nested under the instrumented one that routes a copy of
// the request (made by WithContext) calls it, since the copy's pattern
// never reaches Instrument.
func NoteRoute(r *http.Request) {
	if slot, ok := r.Context().Value(routeKey{}).(*routeSlot); ok && r.Pattern != "" {
		slot.pattern = r.Pattern
	}
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush keeps streamed answers (the portal's live updates) streaming.
func (s *statusRecorder) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
