package kubeletapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRoutes(t *testing.T) {
	ts := startServer(t, newFakeRuntime(), Options{})
	cases := []struct {
		name, method, path string
		wantCode           int
		wantBody           string
	}{
		{"healthz", http.MethodGet, "/healthz", 200, "ok\n"},
		{"run", http.MethodPost, "/run/ns/pod/c?cmd=ls", 501, "/run is not implemented by the lab kubelet; use /exec and /containerLogs\n"},
		{"attach", http.MethodGet, "/attach/ns/pod/c", 501, "/attach is not implemented by the lab kubelet; use /exec and /containerLogs\n"},
		{"portForward", http.MethodGet, "/portForward/ns/pod", 501, "/portForward is not implemented by the lab kubelet; use /exec and /containerLogs\n"},
		{"unknown path", http.MethodGet, "/pods", 404, ""},
		{"exec with too few segments", http.MethodGet, "/exec/ns/pod", 404, ""},
		{"exec by PUT", http.MethodPut, podPath + "?command=ls&output=1", 405, ""},
		{"logs by POST", http.MethodPost, logsPath, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.base+tc.path, nil)
			require.NoError(t, err)
			resp, err := httpClient().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCode, resp.StatusCode, "body: %s", body)
			if tc.wantBody != "" {
				assert.Equal(t, tc.wantBody, string(body))
			}
		})
	}
}

// TestExecBadRequest checks the 400s given before any upgrade, as
// metav1.Status bodies.
func TestExecBadRequest(t *testing.T) {
	ts := startServer(t, newFakeRuntime(), Options{})
	cases := []struct{ name, query, want string }{
		{"no command", "output=1", "exec needs a command"},
		{"no stream", "command=ls", "you must specify at least 1 of stdin, stdout, stderr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := httpClient().Post(ts.base+podPath+"?"+tc.query, "", nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			var st metav1.Status
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
			assert.Equal(t, "Status", st.Kind)
			assert.Equal(t, metav1.StatusReasonBadRequest, st.Reason)
			assert.Contains(t, st.Message, tc.want)
		})
	}
}

func TestServeNeedsCertificate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = New(newFakeRuntime(), Options{}).Serve(context.Background(), ln)
	assert.ErrorContains(t, err, "no serving certificate")
}

// TestServeShutdownEndsFollow checks that a follow request of a container
// that never ends does not keep Serve from returning.
func TestServeShutdownEndsFollow(t *testing.T) {
	rt := newFakeRuntime()
	rt.logs[false] = LogSource{Path: writeLog(t, "running.log", "x\n"), Done: make(chan struct{})}
	ts := startServer(t, rt, Options{ShutdownTimeout: 50 * time.Millisecond})
	resp, err := httpClient().Get(ts.base + logsPath + "?follow=true")
	require.NoError(t, err)
	defer resp.Body.Close()
	start := time.Now()
	ts.stop()
	err = <-ts.served
	ts.served <- err // for the cleanup's check
	assert.Less(t, time.Since(start), 2*time.Second)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "x\n", string(body))
}
