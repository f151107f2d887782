//go:build linux

// Package conntrack fills a network namespace's connection tracking table
// with dummy entries, to test what a full table does to a benchmark, and
// removes exactly those entries afterwards.
//
// The table's limit (nf_conntrack_max) is the machine's, read-only in
// other namespaces, and its count is per network namespace: a namespace is
// full once it holds nf_conntrack_max entries. The dummy entries are TCP connections between addresses of
// 198.18.0.0/15 (RFC 2544's benchmarking range, which no lab address and no
// real peer uses), ESTABLISHED and ASSURED, with a long timeout: the kernel
// frees room for a new connection by dropping entries that are not assured
// (early drop, and the garbage collector above 95 % of the limit), so
// unassured dummies would never fill the table for real traffic.
package conntrack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"kube-netbench/internal/lab/netlab"
)

// Range holds every dummy entry's addresses: originals come from
// 198.18.0.0/16 and go to 198.19.0.1.
var Range = &net.IPNet{IP: net.IPv4(198, 18, 0, 0).To4(), Mask: net.CIDRMask(15, 32)}

// MaxEntries bounds one Table's entries: 65,536 sources times 64 source
// ports, above any nf_conntrack_max a lab machine has.
const MaxEntries = 1 << 22

const (
	// Kernel status bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
	ipsSeenReply = 1 << 1
	ipsAssured   = 1 << 2
	// ipsConfirmed is set on every entry created through netlink: a status
	// without it would ask to clear it, which the kernel refuses (EBUSY).
	ipsConfirmed = 1 << 3
	// tcpEstablished is TCP_CONNTRACK_ESTABLISHED.
	tcpEstablished = 3
	maxPath        = "/proc/sys/net/netfilter/nf_conntrack_max"
	countPath      = "/proc/sys/net/netfilter/nf_conntrack_count"
)

// Table adds dummy entries to the connection tracking table of one network
// namespace and removes them.
type Table struct {
	netns   string
	timeout time.Duration
	sock    *nl.NetlinkSocket
	h       *netlink.Handle
	// added counts the entries in the table; next is the first tuple
	// never tried (a refused one is not reused: simpler than tracking).
	added, next int
	seq         uint32
}

// batchSize is how many requests go in one write: a refusal's answer
// echoes its request, and a batch's answers stay well within the socket's
// receive buffer. One request a round trip took 50 µs an entry: a full
// table of 262,144 took 13 s, longer than a round.
const batchSize = 256

// maxTuples bounds the tuples tried (source ports stay below 2,048).
const maxTuples = 1 << 26

// Open opens the table of the named network namespace (under
// netlab.NetnsDir); entries it adds live for timeout unless removed
// (at least a second, at most a day).
func Open(name string, timeout time.Duration) (*Table, error) {
	if timeout < time.Second || timeout > 24*time.Hour {
		return nil, fmt.Errorf("conntrack: timeout=%s, want 1s to 24h", timeout)
	}
	ns, err := netns.GetFromPath(netlab.NetnsPath(name))
	if err != nil {
		return nil, fmt.Errorf("conntrack: open netns %s: %w", name, err)
	}
	defer ns.Close()
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("conntrack: netfilter socket in netns %s: %w", name, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("conntrack: netlink handle in netns %s: %w", name, err)
	}
	return &Table{netns: name, timeout: timeout, sock: s, h: h}, nil
}

// Close releases the table's sockets; it removes no entry.
func (t *Table) Close() {
	t.sock.Close()
	t.h.Close()
}

// Added is how many entries the table added (and did not remove).
func (t *Table) Added() int { return t.added }

// Fill adds entries until the table is full or limit entries were added in
// all (a limit above MaxEntries is an error). It returns whether the table
// was full: the kernel refused an entry for want of room.
func (t *Table) Fill(limit int) (full bool, err error) {
	if limit < 0 || limit > MaxEntries {
		return false, fmt.Errorf("conntrack: limit=%d, want 0 to %d", limit, MaxEntries)
	}
	for t.added < limit {
		n := min(batchSize, limit-t.added)
		if t.next+n > maxTuples {
			return false, fmt.Errorf("conntrack: netns %s: all %d tuples tried", t.netns, maxTuples)
		}
		first := t.next
		t.next += n
		errs, err := t.batch(nl.IPCTNL_MSG_CT_NEW, unix.NLM_F_CREATE|unix.NLM_F_EXCL, first, n, t.addEntry)
		if err != nil {
			return false, fmt.Errorf("conntrack: netns %s: add entries %d to %d: %w", t.netns, first, first+n-1, err)
		}
		for k, err := range errs {
			switch {
			case err == nil:
				t.added++
			case errors.Is(err, unix.ENOMEM):
				full = true
			default:
				return false, fmt.Errorf("conntrack: netns %s: add entry %d: %w", t.netns, first+k, err)
			}
		}
		if full {
			return true, nil
		}
	}
	return false, nil
}

// tuple is entry i's original direction: source 198.18.x.y, source port
// from 1024, to 198.19.0.1:80.
func tuple(i int) (src net.IP, sport uint16) {
	return net.IPv4(198, 18, byte(i>>8), byte(i)).To4(), uint16(1024 + i>>16)
}

var dst = net.IPv4(198, 19, 0, 1).To4()

// addEntry makes req create entry i. The netlink library's ConntrackCreate
// sends no status, and an entry must be ASSURED to hold its place.
func (t *Table) addEntry(req *nl.NetlinkRequest, i int) {
	src, sport := tuple(i)
	req.AddData(tupleAttr(nl.CTA_TUPLE_ORIG, src, dst, sport, 80))
	req.AddData(tupleAttr(nl.CTA_TUPLE_REPLY, dst, src, 80, sport))
	req.AddData(nl.NewRtAttr(nl.CTA_STATUS, nl.BEUint32Attr(ipsSeenReply|ipsAssured|ipsConfirmed)))
	req.AddData(nl.NewRtAttr(nl.CTA_TIMEOUT, nl.BEUint32Attr(uint32(t.timeout/time.Second))))
	info := nl.NewRtAttr(unix.NLA_F_NESTED|nl.CTA_PROTOINFO, nil)
	tcp := info.AddRtAttr(unix.NLA_F_NESTED|nl.CTA_PROTOINFO_TCP, nil)
	tcp.AddRtAttr(nl.CTA_PROTOINFO_TCP_STATE, nl.Uint8Attr(tcpEstablished))
	req.AddData(info)
}

// deleteEntry makes req delete entry i.
func deleteEntry(req *nl.NetlinkRequest, i int) {
	src, sport := tuple(i)
	req.AddData(tupleAttr(nl.CTA_TUPLE_ORIG, src, dst, sport, 80))
}

// batch sends one request for each entry first … first+n-1 in a single
// write and returns each one's error. The requests ask for no
// acknowledgement: the kernel handles a write's requests before the write
// returns and answers only those that failed, so that the answers are
// all queued by then and reading stops at an empty queue.
func (t *Table) batch(op, flags, first, n int, build func(*nl.NetlinkRequest, int)) ([]error, error) {
	var buf []byte
	base := t.seq
	t.seq += uint32(n)
	for k := range n {
		req := nl.NewNetlinkRequest(int(netlink.ConntrackTable)<<8|op, flags)
		req.Seq = base + uint32(k)
		req.AddData(&nl.Nfgenmsg{NfgenFamily: unix.AF_INET, Version: nl.NFNETLINK_V0})
		build(req, first+k)
		buf = append(buf, req.Serialize()...)
	}
	fd := t.sock.GetFd()
	if err := unix.Sendto(fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	errs := make([]error, n)
	rb := make([]byte, 1<<16)
	for {
		nr, _, err := unix.Recvfrom(fd, rb, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return errs, nil
		}
		if err != nil {
			// ENOBUFS: answers were lost, the batch's outcome is unknown.
			return nil, fmt.Errorf("receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(rb[:nr])
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		for _, m := range msgs {
			k := m.Header.Seq - base
			// Answers of an earlier batch that failed are not this one's.
			if m.Header.Type != unix.NLMSG_ERROR || k >= uint32(n) || len(m.Data) < 4 {
				continue
			}
			if errno := int32(nl.NativeEndian().Uint32(m.Data[:4])); errno != 0 {
				errs[k] = syscall.Errno(-errno)
			}
		}
	}
}

func tupleAttr(kind int, src, dst net.IP, sport, dport uint16) *nl.RtAttr {
	a := nl.NewRtAttr(unix.NLA_F_NESTED|kind, nil)
	ip := a.AddRtAttr(unix.NLA_F_NESTED|nl.CTA_TUPLE_IP, nil)
	ip.AddRtAttr(nl.CTA_IP_V4_SRC, src)
	ip.AddRtAttr(nl.CTA_IP_V4_DST, dst)
	proto := a.AddRtAttr(unix.NLA_F_NESTED|nl.CTA_TUPLE_PROTO, nil)
	proto.AddRtAttr(nl.CTA_PROTO_NUM, nl.Uint8Attr(unix.IPPROTO_TCP))
	proto.AddRtAttr(nl.CTA_PROTO_SRC_PORT, nl.BEUint16Attr(sport))
	proto.AddRtAttr(nl.CTA_PROTO_DST_PORT, nl.BEUint16Attr(dport))
	return a
}

// filter matches the dummy entries: TCP from Range.
func filter() (*netlink.ConntrackFilter, error) {
	f := &netlink.ConntrackFilter{}
	if err := f.AddIPNet(netlink.ConntrackOrigSrcIP, Range); err != nil {
		return nil, err
	}
	if err := f.AddProtocol(unix.IPPROTO_TCP); err != nil {
		return nil, err
	}
	return f, nil
}

// Remove deletes the entries the table added, each by its tuple (so that
// room frees at once, without first dumping a full table), then every
// dummy entry still listed, and verifies that none is left.
func (t *Table) Remove() error {
	for first := 0; first < t.next; first += batchSize {
		n := min(batchSize, t.next-first)
		errs, err := t.batch(nl.IPCTNL_MSG_CT_DELETE, 0, first, n, deleteEntry)
		if err != nil {
			return fmt.Errorf("conntrack: netns %s: delete entries %d to %d: %w", t.netns, first, first+n-1, err)
		}
		for k, err := range errs {
			// A refused tuple was never added.
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("conntrack: netns %s: delete entry %d: %w", t.netns, first+k, err)
			}
		}
	}
	f, err := filter()
	if err != nil {
		return fmt.Errorf("conntrack: %w", err)
	}
	var errs []error
	// A dump that the table's changes interrupt deletes what it saw: repeat.
	for range 5 {
		left, err := t.Left()
		if err == nil && left == 0 {
			t.added, t.next = 0, 0
			return nil
		}
		if err != nil {
			errs = append(errs, err)
		}
		if _, err := t.h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f); err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			errs = append(errs, err)
		}
	}
	return fmt.Errorf("conntrack: netns %s: dummy entries left after 5 removals: %w", t.netns, errors.Join(errs...))
}

// Left counts the dummy entries in the namespace's table.
func (t *Table) Left() (int, error) {
	f, err := filter()
	if err != nil {
		return 0, fmt.Errorf("conntrack: %w", err)
	}
	// A dump the table's changes interrupt is incomplete: repeat it.
	var flows []*netlink.ConntrackFlow
	for range 5 {
		flows, err = t.h.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("conntrack: list netns %s: %w", t.netns, err)
	}
	n := 0
	for _, fl := range flows {
		if f.MatchConntrackFlow(fl) {
			n++
		}
	}
	return n, nil
}

// Max is the named namespace's nf_conntrack_max: the machine's limit, or
// on kernels where a namespace has a limit of its own, that one.
func Max(name string) (int, error) {
	return readIn(name, maxPath)
}

// Count is the number of entries in the named namespace's table.
func Count(name string) (int, error) {
	return readIn(name, countPath)
}

// readIn reads an integer sysctl as the named namespace sees it: the
// net.netfilter sysctls are per namespace, chosen by the reading thread's.
func readIn(name, path string) (int, error) {
	var n int
	err := netlab.InNetns(name, func() error {
		var err error
		n, err = readInt(path)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("conntrack: netns %s: %w", name, err)
	}
	return n, nil
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
