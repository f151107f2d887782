package runreport

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// MarkdownFile is the report's name in the output directory.
const MarkdownFile = "report.md"

// Write renders everything in memory first, then writes report.md and the
// plots into dir: a failing plot leaves no half-written report behind.
// It returns the paths written.
func Write(dir string, r Report) ([]string, error) {
	files := map[string][]byte{}
	var order []string
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		return nil, err
	}
	files[MarkdownFile], order = md.Bytes(), append(order, MarkdownFile)
	for _, p := range r.Plots {
		var b bytes.Buffer
		if err := p.Render(&b); err != nil {
			return nil, err
		}
		files[p.File], order = b.Bytes(), append(order, p.File)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	var paths []string
	for _, name := range order {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
