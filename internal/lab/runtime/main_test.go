package runtime_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"kube-netbench/internal/lab/runtime"
)

// helperEnv selects a helper mode of this test binary, which the tests run inside containers:
// "listen" serves a greeting on $NBTEST_ADDR until SIGTERM, "dial" prints what $NBTEST_ADDR says.
const helperEnv = "NBTEST_MODE"

const greeting = "hello from the lab runtime test"

func TestMain(m *testing.M) {
	runtime.Init() // first: this binary is also the container init and the pause program
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Getenv("NBTEST_ADDR")))
	}
	os.Exit(m.Run())
}

func helper(mode, addr string) int {
	switch mode {
	case "listen":
		return listen(addr)
	case "dial":
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer conn.Close()
		if _, err := io.Copy(os.Stdout, conn); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown %s %q\n", helperEnv, mode)
	return 2
}

func listen(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		ln.Close()
	}()
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			return 0 // closed by SIGTERM
		}
		fmt.Fprintln(conn, greeting)
		conn.Close()
	}
}
