package jsondoc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeOne(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"one object", `{"a": 1}`, ""},
		{"surrounding space", " \n{\"a\": 1}\n\n", ""},
		{"empty", "", "empty input"},
		{"whitespace", " \n\t", "empty input"},
		{"truncated", `{"a": [1, 2`, "truncated JSON: the input ends at byte 11 inside the object"},
		{"a lone brace", "{", "truncated JSON: the input ends at byte 1 inside the object"},
		{"text before", "Connecting\n{}", "invalid JSON at byte 1: invalid character 'C' looking for beginning of value"},
		{"broken inside", `{"a": 1,, "b": 2}`, "invalid JSON at byte 9: invalid character ','"},
		{"two objects", `{"a": 1}{"a": 2}`, "data after the JSON value, which ends at byte 8 (two results, or logs on stdout?)"},
		{"a log line after", "{\"a\": 1}\nAll done\n", "data after the JSON value, which ends at byte 8"},
		{"wrong type", `{"a": "x"}`, "json: cannot unmarshal string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v struct{ A int }
			err := DecodeOne(strings.NewReader(tc.in), &v)
			if tc.err == "" {
				require.NoError(t, err)
				require.Equal(t, 1, v.A)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
