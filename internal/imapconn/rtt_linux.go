package imapconn

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// kernelRTT is the smoothed round-trip time the kernel keeps for a TCP
// connection (TCP_INFO): the network's distance, without the server's
// time to answer, so a busy server near by is not taken for a far one.
func kernelRTT(c net.Conn) (time.Duration, bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info syscall.TCPInfo
	var errno syscall.Errno
	size := uint32(unsafe.Sizeof(info))
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil || errno != 0 || info.Rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}
