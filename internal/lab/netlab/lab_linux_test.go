package netlab

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"kube-netbench/internal/lab/netplan"
)

// testPlan is a 2-node plan whose ranges differ from the defaults (so a default lab's leftovers cannot make the
// test pass) and, checked here, avoid everything on this machine.
func testPlan(t *testing.T) netplan.Plan {
	t.Helper()
	p := netplan.Plan{
		Nodes:       2,
		Underlay:    netip.MustParsePrefix("10.251.77.0/24"),
		PodCIDR:     netip.MustParsePrefix("10.252.0.0/22"),
		ServiceCIDR: netip.MustParsePrefix("10.253.0.0/16"),
		DummyCIDR:   netplan.DefaultDummyCIDR,
	}
	machine, err := MachinePrefixes()
	require.NoError(t, err)
	require.NoError(t, p.Validate(machine), "the test plan collides with this machine; pick other ranges")
	return p
}

// requireClean fails the test, touching nothing, if lab state is present: it belongs to another run.
func requireClean(t *testing.T, p netplan.Plan) {
	t.Helper()
	left, err := Leftovers(p)
	require.NoError(t, err)
	require.Empty(t, left, "lab state is present (another lab is running, or leftovers of a crashed run: "+
		"remove them with netlab.Down); not touching it")
}

// downAtCleanup tears the lab down when the test ends, whatever happened, and checks nothing is left.
func downAtCleanup(t *testing.T, p netplan.Plan) {
	t.Cleanup(func() {
		assert.NoError(t, Down(p))
		left, err := Leftovers(p)
		assert.NoError(t, err)
		assert.Empty(t, left)
	})
}

func TestUpDown(t *testing.T) {
	requireRoot(t)
	p := testPlan(t)
	requireClean(t, p)
	downAtCleanup(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	start := time.Now()
	require.NoError(t, Up(ctx, p))
	t.Logf("Up took %v", time.Since(start))

	t.Run("root has the unreachable routes", func(t *testing.T) {
		h := rootHandle(t)
		routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol},
			netlink.RT_FILTER_PROTOCOL)
		require.NoError(t, err)
		var got []netip.Prefix
		for _, r := range routes {
			assert.Equal(t, unix.RTN_UNREACHABLE, r.Type, "route %v", r)
			dst, _ := routeDst(r)
			got = append(got, dst)
		}
		assert.ElementsMatch(t, p.UnreachableRanges(), got)
	})

	t.Run("root cannot reach the lab ranges", func(t *testing.T) {
		h := rootHandle(t)
		for _, pfx := range p.UnreachableRanges() {
			dst := pfx.Addr().Next()
			// Never send a packet the machine could route out: check the kernel's decision first.
			if routes, err := h.RouteGet(dst.AsSlice()); err == nil {
				t.Fatalf("root netns routes %s via %v: the unreachable route is missing; not dialing", dst, routes)
			}
			d := net.Dialer{Timeout: 2 * time.Second}
			start := time.Now()
			_, err := d.Dial("tcp", netip.AddrPortFrom(dst, 80).String())
			require.Error(t, err)
			assert.True(t, errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH),
				"dial %s: %v", dst, err)
			assert.Less(t, time.Since(start), time.Second, "the dial must fail at once, not time out")
		}
	})

	t.Run("root reaches a node over the underlay", func(t *testing.T) {
		addr := listenIn(t, netplan.NodeNetns(1), p.NodeIP(1))
		conn, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		require.NoError(t, err)
		defer conn.Close()
		assertPeer(t, conn, p.RootIP())
	})

	t.Run("node reaches node over the underlay", func(t *testing.T) {
		addr := listenIn(t, netplan.NodeNetns(2), p.NodeIP(2))
		conn := dialFrom(t, netplan.NodeNetns(1), addr)
		assertPeer(t, conn, p.NodeIP(1))
	})

	t.Run("node reaches the other node's pod CIDR", func(t *testing.T) {
		// Stand in for a pod of node 2: an address of its /24 on node 2's lo. Node 1 reaches it only
		// through its route "pod /24 of node 2 via node 2".
		podIP := p.NodePodCIDR(2).Addr().Next()
		h := nodeHandle(t, 2)
		lo, err := h.LinkByName("lo")
		require.NoError(t, err)
		require.NoError(t, h.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(podIP, 32)}))
		addr := listenIn(t, netplan.NodeNetns(2), podIP)
		conn := dialFrom(t, netplan.NodeNetns(1), addr)
		assertPeer(t, conn, p.NodeIP(1))
	})

	t.Run("no default route in any lab namespace", func(t *testing.T) {
		for _, ns := range []string{netplan.UnderlayNetns, netplan.NodeNetns(1), netplan.NodeNetns(2)} {
			h := handleInT(t, ns)
			routes, err := allRoutes(h)
			require.NoError(t, err)
			for _, r := range routes {
				dst, _ := routeDst(r)
				assert.NotZero(t, dst.Bits(), "%s has a default route: %s", ns, describeRoute(r, dst, ""))
			}
		}
	})

	t.Run("node routes and sysctls", func(t *testing.T) {
		h := nodeHandle(t, 1)
		routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol},
			netlink.RT_FILTER_PROTOCOL)
		require.NoError(t, err)
		require.Len(t, routes, 1)
		dst, _ := routeDst(routes[0])
		assert.Equal(t, p.NodePodCIDR(2), dst)
		assert.Equal(t, p.NodeIP(2).String(), routes[0].Gw.String())

		require.NoError(t, InNetns(netplan.NodeNetns(1), func() error {
			for key, want := range map[string]string{
				"net/ipv4/ip_forward":             "1",
				"net/ipv4/conf/all/rp_filter":     "0",
				"net/ipv4/conf/eth0/rp_filter":    "0",
				"net/ipv4/conf/default/rp_filter": "0",
			} {
				b, err := os.ReadFile("/proc/sys/" + key)
				if err != nil {
					return err
				}
				assert.Equal(t, want, strings.TrimSpace(string(b)), key)
			}
			return nil
		}))
	})

	t.Run("leftovers while up", func(t *testing.T) {
		left, err := Leftovers(p)
		require.NoError(t, err)
		for _, want := range []string{
			"netns nb-node-1", "netns nb-node-2", "netns nb-underlay", "link nb-root in the root netns",
			"unreachable route 10.252.0.0/22 proto 212 in the root netns",
			"route 10.251.77.0/24 dev nb-root in the root netns",
		} {
			assert.Contains(t, left, want)
		}
	})

	t.Run("Up refuses to build over a lab", func(t *testing.T) {
		err := Up(ctx, p)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "lab state is already present")
		left, err := Leftovers(p)
		require.NoError(t, err)
		assert.Contains(t, left, "netns nb-underlay", "a refused Up must not tear down the running lab")
	})

	t.Run("Down twice", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, Down(p))
		t.Logf("Down took %v", time.Since(start))
		left, err := Leftovers(p)
		require.NoError(t, err)
		assert.Empty(t, left)
		assert.NoError(t, Down(p))
	})
}

func TestDownHalfCreated(t *testing.T) {
	requireRoot(t)
	p := testPlan(t)
	requireClean(t, p)
	downAtCleanup(t, p)

	// What an interrupted Up or a crash can leave: the underlay namespace, one unreachable route, a node name
	// without a namespace mounted on it (killed between the file and the bind mount).
	require.NoError(t, CreateNetns(netplan.UnderlayNetns))
	require.NoError(t, rootHandle(t).RouteAdd(&netlink.Route{
		Dst: prefixNet(p.PodCIDR), Type: unix.RTN_UNREACHABLE, Protocol: RouteProtocol,
	}))
	require.NoError(t, os.WriteFile(NetnsPath(netplan.NodeNetns(2)), nil, 0o444))

	left, err := Leftovers(p)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"netns nb-node-2 (an empty name, no namespace mounted)",
		"netns nb-underlay",
		"unreachable route 10.252.0.0/22 proto 212 in the root netns",
	}, left)

	require.NoError(t, Down(p))
	left, err = Leftovers(p)
	require.NoError(t, err)
	assert.Empty(t, left)
	assert.NoError(t, Down(p))
}

func TestDownReportsProcesses(t *testing.T) {
	requireRoot(t)
	p := testPlan(t)
	requireClean(t, p)
	downAtCleanup(t, p)

	pod := netplan.Prefix + "pod-test"
	require.NoError(t, CreateNetns(pod))
	cmd := startIn(t, pod)
	want := "netns " + pod + ": process " + strconv.Itoa(cmd.Process.Pid) + " (sleep)"

	left, err := Leftovers(p)
	require.NoError(t, err)
	assert.Contains(t, left, want)

	err = Down(p)
	var busy *BusyError
	require.ErrorAs(t, err, &busy)
	assert.Equal(t, pod, busy.Netns)
	assert.Contains(t, err.Error(), strconv.Itoa(cmd.Process.Pid)+" (sleep)")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait() // "signal: killed"
	require.NoError(t, Down(p))
}

func TestUpFailureRemovesPartialLab(t *testing.T) {
	requireRoot(t)
	p := testPlan(t)
	requireClean(t, p)
	downAtCleanup(t, p)

	// Cancel after the root routes, the underlay and the root link are built, before node 1.
	ctx := &cancelAfter{Context: context.Background(), n: 3}
	err := Up(ctx, p)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "before node nb-node-1")
	left, err := Leftovers(p)
	require.NoError(t, err)
	assert.Empty(t, left, "a failed Up removes what it built")
}

func TestUpRejectsInvalidPlans(t *testing.T) {
	requireRoot(t)
	p := testPlan(t)
	requireClean(t, p)
	downAtCleanup(t, p)

	zero := p
	zero.Nodes = 0
	err := Up(context.Background(), zero)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "LAB_NODES=0: must be from 1 to 64 nodes")

	// Every machine has loopback; a plan on it must be refused before anything is created.
	lo := p
	lo.Underlay = netip.MustParsePrefix("127.77.0.0/24")
	err = Up(context.Background(), lo)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "LAB_UNDERLAY_CIDR 127.77.0.0/24 overlaps the machine's local route 127.0.0.0/8 dev lo")

	left, err := Leftovers(p)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestMachinePrefixes(t *testing.T) {
	requireRoot(t)
	got, err := MachinePrefixes()
	require.NoError(t, err)
	loopback := false
	for _, m := range got {
		assert.NotZero(t, m.Prefix.Bits(), "default routes are left out: %s", m)
		assert.True(t, m.Prefix.Addr().Is4(), "%s", m)
		if m.Prefix == netip.MustParsePrefix("127.0.0.0/8") && strings.Contains(m.Desc, "dev lo") {
			loopback = true
		}
	}
	assert.True(t, loopback, "the loopback route is missing from %v", got)
}

// cancelAfter is a context whose Err is nil n times, then context.Canceled: it fails Up between two steps.
type cancelAfter struct {
	context.Context
	n int
}

// Err counts down.
func (c *cancelAfter) Err() error {
	if c.n > 0 {
		c.n--
		return nil
	}
	return context.Canceled
}

// rootHandle is a netlink handle in the test's own (root) namespace.
func rootHandle(t *testing.T) *netlink.Handle {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	require.NoError(t, err)
	t.Cleanup(h.Close)
	return h
}

// handleInT is a netlink handle in the named namespace.
func handleInT(t *testing.T, name string) *netlink.Handle {
	h, err := handleIn(name)
	require.NoError(t, err)
	t.Cleanup(h.Close)
	return h
}

// nodeHandle is a netlink handle in node i's namespace.
func nodeHandle(t *testing.T, i int) *netlink.Handle {
	return handleInT(t, netplan.NodeNetns(i))
}

// listenIn listens on ip (any port) inside the namespace; the socket stays in that namespace whichever
// goroutine accepts. Accepted connections are closed at once (the handshake is all the tests need), and the
// listener at cleanup, before Down: an open socket would keep its namespace alive after the name is gone.
func listenIn(t *testing.T, ns string, ip netip.Addr) netip.AddrPort {
	var ln net.Listener
	require.NoError(t, InNetns(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
		return err
	}))
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			_ = c.Close()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// dialFrom connects to addr from inside the namespace.
func dialFrom(t *testing.T, ns string, addr netip.AddrPort) net.Conn {
	var conn net.Conn
	require.NoError(t, InNetns(ns, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr.String(), 2*time.Second)
		return err
	}))
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// assertPeer checks the local address of an established connection: the address the far side sees.
func assertPeer(t *testing.T, conn net.Conn, want netip.Addr) {
	t.Helper()
	got := netip.MustParseAddrPort(conn.LocalAddr().String()).Addr()
	assert.Equal(t, want, got)
	assert.True(t, slices.Contains([]string{"tcp", "tcp4"}, conn.LocalAddr().Network()))
}
