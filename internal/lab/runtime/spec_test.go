package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSpecValidate(t *testing.T) {
	err := Spec{}.validate()
	for _, want := range []string{"ID is empty", "Argv is empty", `RootDir "" must be`, `LogPath "" must be`} {
		require.ErrorContains(t, err, want)
	}
	good := Spec{ID: "c", Argv: []string{"sh"}, RootDir: "/var/lib/lab/c", LogPath: "/var/lib/lab/c.log"}
	require.NoError(t, good.validate())
	for name, mutate := range map[string]func(*Spec){
		"root is /":           func(s *Spec) { s.RootDir = "/" },
		"overlay syntax":      func(s *Spec) { s.RootDir = "/var/lib/a:b" },
		"relative netns":      func(s *Spec) { s.NetnsPath = "netns" },
		"relative workdir":    func(s *Spec) { s.WorkDir = "work" },
		"relative source":     func(s *Spec) { s.Mounts = []Mount{{Source: "src", Target: "/x"}} },
		"mount over /":        func(s *Spec) { s.Mounts = []Mount{{Source: "/src", Target: "/"}} },
		"relative image dir":  func(s *Spec) { s.Dirs = []string{"etc/x"} },
		"env without =":       func(s *Spec) { s.Env = []string{"PATH"} },
		"env with empty name": func(s *Spec) { s.Env = []string{"=x"} },
	} {
		t.Run(name, func(t *testing.T) {
			s := good
			mutate(&s)
			require.ErrorContains(t, s.validate(), `invalid container spec "c"`)
		})
	}
}

func TestContainerEnv(t *testing.T) {
	require.Equal(t,
		[]string{"A=3", "PATH=/bin", "B=2", "HOME=/root"},
		containerEnv([]string{"A=1", "PATH=/bin", "B=2", "A=3"}))
	require.Equal(t,
		[]string{"HOME=/home/x", "PATH=" + DefaultPath},
		containerEnv([]string{"HOME=/home/x"}))
}
