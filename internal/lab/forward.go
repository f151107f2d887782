//go:build linux

package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"kube-netbench/internal/lab/netlab"
	"kube-netbench/internal/lab/netplan"
)

// InjectedChain is the chain InjectForwardRules fills; FORWARD jumps to it
// first.
const InjectedChain = "NB-INJECTED"

// MaxInjectedRules bounds InjectForwardRules' n: 65,536 source addresses of
// 198.19.0.0/16.
const MaxInjectedRules = 1 << 16

// InjectForwardRules puts n rules that match nothing at the top of every lab
// node's FORWARD chain (filter table): each forwarded packet, pod traffic
// between nodes included, walks all of them. It is a real, known dataplane
// regression for testing the regression gate end to end (this kernel has no
// netem). The rules match sources in 198.19.0.0/16, a benchmarking range
// no lab address uses. It returns what removes them; removing the lab
// (its nodes' network namespaces) removes them too.
func InjectForwardRules(ctx context.Context, o Options, n int) (remove func(context.Context) error, err error) {
	var netns []string
	for i := 1; i <= o.Plan.Nodes; i++ {
		netns = append(netns, netlab.NetnsPath(netplan.NodeNetns(i)))
	}
	return injectForward(ctx, netns, n)
}

// injectForward is InjectForwardRules on the network namespaces at the
// given paths.
func injectForward(ctx context.Context, netns []string, n int) (remove func(context.Context) error, err error) {
	if n < 1 || n > MaxInjectedRules {
		return nil, fmt.Errorf("inject FORWARD rules: n=%d, want 1 to %d", n, MaxInjectedRules)
	}
	var add bytes.Buffer
	fmt.Fprintf(&add, "*filter\n:%s - [0:0]\n", InjectedChain)
	for i := range n {
		fmt.Fprintf(&add, "-A %s -s 198.19.%d.%d/32 -j DROP\n", InjectedChain, i>>8, i&0xff)
	}
	fmt.Fprintf(&add, "-I FORWARD 1 -j %s\nCOMMIT\n", InjectedChain)
	del := fmt.Sprintf("*filter\n-D FORWARD -j %[1]s\n-F %[1]s\n-X %[1]s\nCOMMIT\n", InjectedChain)

	var done []string
	remove = func(ctx context.Context) error {
		var errs []error
		for _, ns := range done {
			if err := restore(ctx, ns, del); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	for _, ns := range netns {
		if err := restore(ctx, ns, add.String()); err != nil {
			return nil, errors.Join(err, remove(context.WithoutCancel(ctx)))
		}
		done = append(done, ns)
	}
	return remove, nil
}

// restore runs iptables-restore --noflush with rules in the network
// namespace at path (nsenter --net: the lab's nodes are entered that way,
// see netlab).
func restore(ctx context.Context, netns, rules string) error {
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+netns, "--", "iptables-restore", "--noflush")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore in %s: %w: %s", netns, err, bytes.TrimSpace(out))
	}
	return nil
}
