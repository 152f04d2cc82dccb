//go:build !linux

package imapconn

import (
	"net"
	"time"
)

// kernelRTT: only Linux is asked (TCP_INFO); elsewhere the caller measures.
func kernelRTT(net.Conn) (time.Duration, bool) { return 0, false }
