// Package jsondoc decodes a tool's JSON result, one object and nothing
// else, and names where a broken one breaks: the byte offset of a
// truncation, a syntax error or trailing data.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeOne decodes the single JSON value r holds into v. Empty input,
// input cut off inside the value, invalid JSON and data after the value are
// errors that say so and at which byte.
func DecodeOne(r io.Reader, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty input")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("truncated JSON: the input ends at byte %d inside the object", len(b))
		case errors.As(err, &syn):
			return fmt.Errorf("invalid JSON at byte %d: %w", syn.Offset, err)
		}
		return err
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the JSON value, which ends at byte %d (two results, or logs on stdout?)", end)
	}
	return nil
}
