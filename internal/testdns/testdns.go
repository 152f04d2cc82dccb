// Package testdns runs a small authoritative DNS server on loopback for
// tests (github.com/miekg/dns), over UDP and TCP on one port, whose answers
// the test sets and changes while it runs.
package testdns

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// Server answers queries from the records the test set.
type Server struct {
	// Addr is host:port, for a resolver setting.
	Addr    string
	mu      sync.Mutex
	records map[key][]dns.RR
	queries atomic.Int64
	udp     *dns.Server
	tcp     *dns.Server
}

type key struct {
	name  string
	rtype uint16
}

// Start starts a server on a free loopback port; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{records: map[key][]dns.RR{}}
	// One port for both: take a UDP port and listen on TCP beside it,
	// trying again when the TCP port is taken.
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			if attempt < 20 {
				continue
			}
			t.Fatal(err)
		}
		s.Addr = pc.LocalAddr().String()
		s.udp = &dns.Server{PacketConn: pc, Handler: s}
		s.tcp = &dns.Server{Listener: l, Handler: s}
		break
	}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// Set replaces, for each owner name and type the lines name, the records
// with those lines (zone file syntax, e.g.
// "contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.").
func (s *Server) Set(t testing.TB, lines ...string) {
	t.Helper()
	fresh := map[key][]dns.RR{}
	for _, line := range lines {
		rr, err := dns.NewRR(line)
		if err != nil || rr == nil {
			t.Fatalf("testdns: record %q: %v", line, err)
		}
		k := key{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
		fresh[k] = append(fresh[k], rr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, rrs := range fresh {
		s.records[k] = rrs
	}
}

// Remove deletes the records of a name and type ("contoso.com", dns.TypeMX).
func (s *Server) Remove(name string, rtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, key{strings.ToLower(dns.Fqdn(name)), rtype})
}

// Queries counts the queries answered so far.
func (s *Server) Queries() int64 { return s.queries.Load() }

// ServeDNS answers from the records: NXDOMAIN for a name with none of any
// type, an empty answer for a name with others, a CNAME in place of the
// type asked for when the name has one.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		s.mu.Lock()
		rrs := s.records[key{name, q.Qtype}]
		if len(rrs) == 0 && q.Qtype != dns.TypeCNAME {
			rrs = s.records[key{name, dns.TypeCNAME}]
		}
		known := false
		for k, v := range s.records {
			if k.name == name && len(v) > 0 {
				known = true
			}
		}
		for _, rr := range rrs {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
		s.mu.Unlock()
		if !known {
			m.Rcode = dns.RcodeNameError
		}
	}
	if err := w.WriteMsg(m); err != nil {
		fmt.Println("testdns: write answer:", err)
	}
}
