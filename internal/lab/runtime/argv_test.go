package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"VAR": "value", "PORT": "5201", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(VAR)", "value"},
		{"-p=$(PORT)/$(VAR)", "-p=5201/value"},
		{"$(VAR)$(VAR)", "valuevalue"},
		{"$(EMPTY)x", "x"},
		{"$(UNSET)", "$(UNSET)"},
		{"$$(VAR)", "$(VAR)"},
		{"$$$(VAR)", "$value"},
		{"$$", "$"},
		{"$$$$", "$$"},
		{"$VAR", "$VAR"},
		{"${VAR}", "${VAR}"},
		{"cost $5", "cost $5"},
		{"trailing$", "trailing$"},
		{"$", "$"},
		{"$(VAR", "$(VAR"},
		{"$(", "$("},
		{"$()", "$()"},
		{"$(VAR$(VAR))", "$(VAR$(VAR))"}, // the name runs to the first ")"
		{"$(VAR) $(unclosed", "value $(unclosed"},
		{"$é$(VAR)", "$évalue"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, Expand(tc.in, lookup))
		})
	}
}

func TestArgv(t *testing.T) {
	images := DefaultImages(testBinaries)
	resolve := func(ref string) Image {
		img, err := images.Resolve(ref)
		require.NoError(t, err)
		return img
	}
	for _, tc := range []struct {
		name          string
		image         string
		command, args []string
		env           []string
		want          []string
	}{
		{name: "fortio args replace CMD", image: "fortio/fortio:1.66.5", args: []string{"server"},
			want: []string{"/usr/bin/fortio", "server"}},
		{name: "fortio image defaults", image: "fortio/fortio:1.66.5",
			want: []string{"/usr/bin/fortio", "server", "-config-dir", "/etc/fortio"}},
		{name: "command drops the image CMD", image: "fortio/fortio", command: []string{"/usr/bin/fortio", "load"},
			want: []string{"/usr/bin/fortio", "load"}},
		{name: "command and args", image: "fortio/fortio", command: []string{"fortio"}, args: []string{"load", "-qps", "0"},
			want: []string{"fortio", "load", "-qps", "0"}},
		{name: "busybox sleep", image: "busybox", command: []string{"sleep", "3600"},
			want: []string{"sleep", "3600"}},
		{name: "busybox default", image: "docker.io/library/busybox:1.36", want: []string{"sh"}},
		{name: "iperf3 default", image: "networkstatic/iperf3", want: []string{"iperf3", "-s"}},
		{name: "iperf3 args expanded", image: "networkstatic/iperf3", args: []string{"-s", "-p", "$(PORT)"},
			env: []string{"PORT=5201", "PORT=5202"}, want: []string{"iperf3", "-s", "-p", "5202"}},
		{name: "command expanded, escape kept", image: "busybox", command: []string{"sh", "-c", "echo $(MSG) $$(MSG) $HOME"},
			env: []string{"MSG=hi"}, want: []string{"sh", "-c", "echo hi $(MSG) $HOME"}},
		{name: "image CMD not expanded", image: "busybox", env: []string{"sh=x"}, want: []string{"sh"}},
		{name: "kube-proxy has neither", image: "registry.k8s.io/kube-proxy:v1.37.2", want: []string{}},
		{name: "kube-proxy command", image: "registry.k8s.io/kube-proxy:v1.37.2",
			command: []string{"/usr/local/bin/kube-proxy", "--hostname-override=$(NODE_NAME)"}, env: []string{"NODE_NAME=nb-node-1"},
			want: []string{"/usr/local/bin/kube-proxy", "--hostname-override=nb-node-1"}},
		{name: "pause", image: "registry.k8s.io/pause:3.10", want: []string{"/pause"}},
		{name: "netperf default", image: "networkstatic/netperf", want: []string{"netperf"}},
		{name: "netperf args", image: "networkstatic/netperf:latest",
			args: []string{"-H", "$(SERVER_IP)", "-t", "TCP_RR", "-l", "10", "--", "-r", "1,1"}, env: []string{"SERVER_IP=10.244.2.7"},
			want: []string{"netperf", "-H", "10.244.2.7", "-t", "TCP_RR", "-l", "10", "--", "-r", "1,1"}},
		{name: "netserver command", image: "networkstatic/netperf", command: []string{"netserver", "-D"},
			want: []string{"netserver", "-D"}},
		{name: "netserver command and args", image: "networkstatic/netperf", command: []string{"netserver"},
			args: []string{"-D", "-p", "$(PORT)"}, env: []string{"PORT=12865"}, want: []string{"netserver", "-D", "-p", "12865"}},
		{name: "netperf args are netperf's, not a command", image: "networkstatic/netperf", args: []string{"netserver", "-D"},
			want: []string{"netperf", "netserver", "-D"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Argv(resolve(tc.image), tc.command, tc.args, tc.env)
			if len(tc.want) == 0 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestArgvDoesNotAliasTheImage(t *testing.T) {
	img := Image{Entrypoint: []string{"a"}, Cmd: []string{"b"}}
	got := Argv(img, nil, nil, nil)
	got[0] = "changed"
	require.Equal(t, []string{"a"}, img.Entrypoint)
}
