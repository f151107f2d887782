package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeInterval is how often the worker looks at containers that are not
// ready yet: short, so readiness is noticed within a tenth of a second instead
// of a fixed wait.
const probeInterval = 100 * time.Millisecond

// probeState tracks one container's readiness probing.
type probeState struct {
	next      time.Time
	successes int32
	failures  int32
}

// readinessCheck is what decides that a container serves. A readinessProbe
// when the pod has one; otherwise, in the lab, a container that declares TCP
// ports is ready once every one of them accepts a connection, and one that
// declares none is ready once it runs. (The kubelet marks a probe-less
// container ready at once; the lab is stricter so that "Ready" means "serves".)
func readinessCheck(c corev1.Container) *corev1.Probe {
	if c.ReadinessProbe != nil {
		return c.ReadinessProbe
	}
	return nil
}

// probeAll runs due probes and reports whether any readiness changed.
func (w *podWorker) probeAll(ctx context.Context) bool {
	w.mu.Lock()
	ip := w.podIP
	w.mu.Unlock()
	changed := false
	for _, c := range w.containersSnapshot() {
		if c.proc == nil {
			continue
		}
		now := time.Now()
		if now.Before(c.probe.next) {
			continue
		}
		ok, period, err := w.probeOnce(ctx, c, ip)
		c.probe.next = now.Add(period)
		ready := c.ready
		p := c.spec.ReadinessProbe
		switch {
		case ok:
			c.probe.failures = 0
			c.probe.successes++
			if p == nil || c.probe.successes >= max(p.SuccessThreshold, 1) {
				ready = true
			}
		default:
			c.probe.successes = 0
			c.probe.failures++
			if p == nil || c.probe.failures >= max(p.FailureThreshold, 1) {
				ready = false
			}
			_ = err
		}
		if ready != c.ready {
			w.mu.Lock()
			c.ready = ready
			w.mu.Unlock()
			changed = true
		}
	}
	return changed
}

// probeOnce runs one check and returns its result and when to check again.
func (w *podWorker) probeOnce(ctx context.Context, c *container, ip netip.Addr) (bool, time.Duration, error) {
	p := readinessCheck(c.spec)
	if p == nil {
		if c.ready {
			return true, time.Hour, nil
		}
		for _, port := range c.spec.Ports {
			if port.Protocol != "" && port.Protocol != corev1.ProtocolTCP {
				continue
			}
			if err := dialTCP(ctx, netip.AddrPortFrom(ip, uint16(port.ContainerPort)), time.Second); err != nil {
				return false, probeInterval, err
			}
		}
		return true, time.Hour, nil
	}
	if time.Since(c.started.Time) < time.Duration(p.InitialDelaySeconds)*time.Second {
		return false, probeInterval, nil
	}
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	if !c.ready {
		// Until the first success, look often: readiness is a wait the whole
		// run pays for.
		period = probeInterval
	}
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	switch {
	case p.TCPSocket != nil:
		port, perr := resolvePort(p.TCPSocket.Port, c.spec)
		if perr != nil {
			return false, period, perr
		}
		err = dialTCP(pctx, netip.AddrPortFrom(ip, port), timeout)
	case p.HTTPGet != nil:
		port, perr := resolvePort(p.HTTPGet.Port, c.spec)
		if perr != nil {
			return false, period, perr
		}
		err = httpGet(pctx, ip, port, p.HTTPGet)
	case p.Exec != nil:
		err = c.proc.Exec(pctx, p.Exec.Command, c.rt.Env, nil, io.Discard, io.Discard)
	default:
		err = fmt.Errorf("probe handler not supported by the lab (tcpSocket, httpGet and exec are)")
	}
	return err == nil, period, err
}

func resolvePort(p intstr.IntOrString, c corev1.Container) (uint16, error) {
	if p.Type == intstr.Int {
		return uint16(p.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return uint16(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("probe names port %q, which container %s does not declare", p.StrVal, c.Name)
}

func dialTCP(ctx context.Context, addr netip.AddrPort, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return err
	}
	return conn.Close()
}

func httpGet(ctx context.Context, ip netip.Addr, port uint16, g *corev1.HTTPGetAction) error {
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	host := ip.String()
	if g.Host != "" {
		host = g.Host
	}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(int(port))), g.Path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for _, h := range g.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe %s: status %d", url, resp.StatusCode)
	}
	return nil
}
