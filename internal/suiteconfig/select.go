package suiteconfig

import "regexp"

// Selector reports which top-level tests go test's -run and -skip patterns
// select, as the testing package reads them: a pattern is alternatives
// separated by unbracketed '|', each a sequence of regular expressions
// separated by unbracketed '/', one per level of test names. A top-level
// test runs when the first element of an alternative of -run matches it,
// and is skipped when an alternative of -skip has that one element and it
// matches (a longer one skips subtests only). A pattern that does not
// compile selects everything: go test reports it itself.
func Selector(run, skip string) func(test string) bool {
	runAlts, runOK := compile(run)
	skipAlts, skipOK := compile(skip)
	return func(test string) bool {
		if run != "" && runOK {
			hit := false
			for _, a := range runAlts {
				hit = hit || a[0].MatchString(test)
			}
			if !hit {
				return false
			}
		}
		if skip != "" && skipOK {
			for _, a := range skipAlts {
				if len(a) == 1 && a[0].MatchString(test) {
					return false
				}
			}
		}
		return true
	}
}

// compile splits a pattern into alternatives of per-level expressions and
// compiles them.
func compile(pattern string) ([][]*regexp.Regexp, bool) {
	var out [][]*regexp.Regexp
	for _, alt := range split(pattern, '|') {
		var levels []*regexp.Regexp
		for _, el := range split(alt, '/') {
			re, err := regexp.Compile(el)
			if err != nil {
				return nil, false
			}
			levels = append(levels, re)
		}
		out = append(out, levels)
	}
	return out, true
}

// split cuts s at every sep outside brackets and parentheses and not
// escaped.
func split(s string, sep byte) []string {
	var parts []string
	brackets, parens, start := 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '[':
			brackets++
		case c == ']' && brackets > 0:
			brackets--
		case c == '(' && brackets == 0:
			parens++
		case c == ')' && brackets == 0 && parens > 0:
			parens--
		case c == sep && brackets == 0 && parens == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
