package kubeletapi

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const logsPath = "/containerLogs/" + fakeNS + "/" + fakePod + "/" + fakeContainer

// writeLog creates a log file with content in the test's directory.
func writeLog(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestContainerLogs(t *testing.T) {
	rt := newFakeRuntime()
	rt.logs[false] = LogSource{Path: writeLog(t, "current.log", "one\ntwo\nthree\nfour\n")} // exited: no Done
	rt.logs[true] = LogSource{Path: writeLog(t, "previous.log", "crashed\n")}
	ts := startServer(t, rt, Options{})
	cases := []struct {
		name     string
		path     string
		query    string
		wantCode int
		want     string // the body, or a part of it for errors
	}{
		{"whole file", logsPath, "", 200, "one\ntwo\nthree\nfour\n"},
		{"tailLines", logsPath, "tailLines=2", 200, "three\nfour\n"},
		{"tailLines=0", logsPath, "tailLines=0", 200, ""},
		{"tailLines beyond the file", logsPath, "tailLines=100", 200, "one\ntwo\nthree\nfour\n"},
		{"legacy tail", logsPath, "tail=1", 200, "four\n"},
		{"legacy tail=all", logsPath, "tail=all", 200, "one\ntwo\nthree\nfour\n"},
		{"limitBytes", logsPath, "limitBytes=5", 200, "one\nt"},
		{"limitBytes beyond the file", logsPath, "limitBytes=1000", 200, "one\ntwo\nthree\nfour\n"},
		{"tailLines and limitBytes", logsPath, "tailLines=2&limitBytes=3", 200, "thr"},
		{"follow of an exited container ends", logsPath, "follow=true", 200, "one\ntwo\nthree\nfour\n"},
		{"accepted but ignored options", logsPath, "timestamps=true&sinceSeconds=10&stream=All", 200, "one\ntwo\nthree\nfour\n"},
		{"sinceTime", logsPath, "sinceTime=2026-01-02T03:04:05Z", 200, "one\ntwo\nthree\nfour\n"},
		{"previous", logsPath, "previous=true", 200, "crashed\n"},
		{"previous=false", logsPath, "previous=false", 200, "one\ntwo\nthree\nfour\n"},
		{"unknown pod", "/containerLogs/ns/nope/c", "", 404, `pod "ns/nope" not found on this node`},
		{"unknown container", "/containerLogs/ns/pod/nope", "", 404, `container "nope" not found in pod "ns/pod"`},
		{"tailLines not a number", logsPath, "tailLines=x", 400, `tailLines "x" is not an integer`},
		{"negative tailLines", logsPath, "tailLines=-1", 422, "tailLines must be at least 0"},
		{"limitBytes=0", logsPath, "limitBytes=0", 422, "limitBytes must be at least 1"},
		{"sinceSeconds=0", logsPath, "sinceSeconds=0", 422, "sinceSeconds must be at least 1"},
		{"sinceTime and sinceSeconds", logsPath, "sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z", 422, "at most one of"},
		{"bad sinceTime", logsPath, "sinceTime=yesterday", 400, "not an RFC 3339 time"},
		{"split streams", logsPath, "stream=Stdout", 422, "do not separate stdout and stderr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := httpClient().Get(ts.base + tc.path + "?" + tc.query)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCode, resp.StatusCode, "body: %s", body)
			if tc.wantCode == http.StatusOK {
				assert.Equal(t, tc.want, string(body))
			} else {
				assert.Contains(t, string(body), tc.want)
			}
		})
	}
	assert.Contains(t, rt.previous, true, "previous=true reaches the Runtime")
}

// TestContainerLogsFollow appends to a running container's log while a
// follow request reads it, and checks that the request ends once Done is
// closed, with everything written.
func TestContainerLogsFollow(t *testing.T) {
	rt := newFakeRuntime()
	path := writeLog(t, "running.log", "old 1\nold 2\nold 3\n")
	done := make(chan struct{})
	rt.logs[false] = LogSource{Path: path, Done: done}
	ts := startServer(t, rt, Options{})

	resp, err := httpClient().Get(ts.base + logsPath + "?follow=true&tailLines=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := bufio.NewReader(resp.Body)
	readLine := func() string {
		t.Helper()
		line, err := lines.ReadString('\n')
		require.NoError(t, err)
		return line
	}
	assert.Equal(t, "old 3\n", readLine(), "tailLines applies to the existing lines")

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("new 1\n")
	require.NoError(t, err)
	assert.Equal(t, "new 1\n", readLine(), "appended data is streamed while the container runs")

	_, err = f.WriteString("last words\n")
	require.NoError(t, err)
	close(done)
	ended := make(chan string, 1)
	go func() {
		rest, _ := io.ReadAll(lines)
		ended <- string(rest)
	}()
	select {
	case rest := <-ended:
		assert.Equal(t, "last words\n", rest, "what was written before Done is sent before the end")
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after Done was closed")
	}
}

// TestContainerLogsFollowLimit checks that follow ends at limitBytes even
// while the container runs.
func TestContainerLogsFollowLimit(t *testing.T) {
	rt := newFakeRuntime()
	path := writeLog(t, "running.log", "0123")
	rt.logs[false] = LogSource{Path: path, Done: make(chan struct{})} // never done
	ts := startServer(t, rt, Options{})

	resp, err := httpClient().Get(ts.base + logsPath + "?follow=1&limitBytes=6")
	require.NoError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 4)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("456789")
	require.NoError(t, err)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "012345", string(buf)+string(rest))
}

func TestTailOffset(t *testing.T) {
	cases := []struct {
		content string
		n       int64
		want    string // the tail
	}{
		{"", 3, ""},
		{"a\nb\nc\n", 0, ""},
		{"a\nb\nc\n", 1, "c\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 3, "a\nb\nc\n"},
		{"a\nb\nc\n", 4, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"},
		{"a\nb\nc", 2, "b\nc"},
		{"\n\n\n", 2, "\n\n"},
		{"no newline", 1, "no newline"},
		{"long line one\nlong line two\n", 1, "long line two\n"},
	}
	for _, tc := range cases {
		for _, block := range []int{1, 2, 3, 64} {
			r := strings.NewReader(tc.content)
			off, err := tailOffset(r, int64(len(tc.content)), tc.n, block)
			require.NoError(t, err)
			assert.Equal(t, tc.want, tc.content[off:], "tail %d of %q, block %d", tc.n, tc.content, block)
		}
	}
}

func TestParseLogOptionsBooleans(t *testing.T) {
	cases := map[string]bool{"follow": true, "follow=true": true, "follow=1": true, "follow=": true,
		"follow=false": false, "follow=False": false, "follow=0": false, "": false}
	for query, want := range cases {
		q, err := url.ParseQuery(query)
		require.NoError(t, err)
		opts, err := parseLogOptions(q)
		require.NoError(t, err)
		assert.Equal(t, want, opts.follow, "query %q", query)
	}
}
