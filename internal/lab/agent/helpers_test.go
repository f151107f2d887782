package agent

import (
	"sort"
	"strings"
)

// sortEnvFrom sorts the run of variables with the prefix (envFrom iterates a
// map, so its order is not defined) and leaves the rest in place.
func sortEnvFrom(env []string, prefix string) []string {
	out := append([]string{}, env...)
	first, last := -1, -1
	for i, kv := range out {
		if strings.HasPrefix(kv, prefix) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first >= 0 {
		sort.Strings(out[first : last+1])
	}
	return out
}
