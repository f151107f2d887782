package runtime

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Argv returns the program and arguments of a container of img with the pod's command and args,
// as Kubernetes defines them: command replaces the ENTRYPOINT and args the CMD; a command without
// args drops the image's CMD. $(VAR) references in command and args are expanded from env (the
// container's "KEY=value" environment as the pod declares it; the last entry of a key wins):
// $$ is a literal $, and a reference to an unset variable stays as written. The image's own
// ENTRYPOINT and CMD are not expanded. An empty result means the container has nothing to run.
func Argv(img Image, command, args, env []string) []string {
	entrypoint, cmd := img.Entrypoint, img.Cmd
	if len(command) > 0 {
		entrypoint, cmd = expandAll(command, env), nil
	}
	if len(args) > 0 {
		cmd = expandAll(args, env)
	}
	return append(slices.Clone(entrypoint), cmd...)
}

func expandAll(in, env []string) []string {
	lookup := func(name string) (string, bool) { return lookupEnv(env, name) }
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, lookup)
	}
	return out
}

// Expand replaces $(NAME) references in s the way the kubelet does for command, args and env
// values: lookup gives a variable's value; "$$" gives "$"; "$(NAME)" with NAME unknown stays
// "$(NAME)"; an unclosed "$(", any other "$x" and a final "$" are kept as written.
func Expand(s string, lookup func(name string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(") // unclosed: kept, scanning goes on after "("
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			// Not a reference: keep "$" and the character after it (a whole rune).
			_, size := utf8.DecodeRuneInString(s[i+1:])
			b.WriteString(s[i : i+1+size])
			i += size
		}
	}
	return b.String()
}
