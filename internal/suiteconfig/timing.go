package suiteconfig

import (
	"fmt"
	"strings"
	"time"

	"kube-netbench/internal/config"
)

// IperfOmit is the warm-up iperf3 runs before each measured run (-O) and
// leaves out of its result.
const IperfOmit = time.Second

// gateRuns is TestRegressionGate's fortio runs, whatever ROUNDS says: three
// passes (A, B, injected) of 6 rounds of 2 cases, and a fourth pass of
// another duration, not counted.
const gateRuns = 3 * 6 * 2

// measuring is the least time a dimension spends in its tools when it
// measures: runs of one tool, each of its duration. It leaves out setup,
// waits, execs and drains, so it is a lower bound: a run whose
// measurements alone outlast the timeout cannot finish.
type measuring struct {
	test string
	// iperf is set when the runs are iperf3's (IPERF_DURATION plus the
	// warm-up), else they are fortio's or as long (FORTIO_DURATION).
	iperf bool
	// runs is the number of tool runs, 0 where the dimension may skip: on
	// a cluster other than the lab the dataplane is unknown until it is
	// detected, so only dimensions that measure on any cluster count.
	runs func(c config.Config, w where) int
}

// Counts of the tool runs of a round, from each dimension's scenarios.
var dimensions = []measuring{
	{"TestRPS", false, func(c config.Config, _ where) int { return c.Rounds * 4 }}, // pod and Service keepalive c64, Service c256, short c64
	{"TestThroughput", true, func(c config.Config, _ where) int { return c.Rounds * 7 }},
	// HTTP at 1000 QPS; netperf's TCP_RR and TCP_CRR, of the same
	// duration, only where its image starts.
	{"TestLatency", false, func(c config.Config, _ where) int { return c.Rounds }},
	// Both baselines and every step: keepalive, saturating short and
	// fixed-rate short fortio runs (netperf's TCP_CRR, at most 5 s, is
	// left out of this lower bound).
	{TestServiceScale, false, onLab(func(c config.Config) int { return c.Rounds * 3 * (len(c.SvcScaleSteps) + 2) })},
	{"TestResources", false, onLab(func(c config.Config) int { return c.Rounds * 2 })}, // an idle and a load window
	{"TestHubble", false, onCiliumLab(func(c config.Config) int { return c.Rounds * 2 })},
	{"TestNetworkPolicy", false, onCiliumLab(func(c config.Config) int { return c.Rounds * 2 })}, // at least one kind of policy, without and with
	{"TestRegressionGate", false, onLab(func(config.Config) int { return gateRuns })},
}

func onLab(n func(config.Config) int) func(config.Config, where) int {
	return func(c config.Config, w where) int {
		if !w.lab {
			return 0
		}
		return n(c)
	}
}

func onCiliumLab(n func(config.Config) int) func(config.Config, where) int {
	return func(c config.Config, w where) int {
		if !w.cilium {
			return 0
		}
		return n(c)
	}
}

// checkTimeout refuses settings whose measurements alone outlast go test's
// -timeout, which would panic the run midway and leave no result (W-OPS-7:
// time limits follow from the durations): one tool run longer than the
// timeout, and the selected dimensions' runs together.
func checkTimeout(c config.Config, selected func(string) bool, w where, timeout time.Duration) []error {
	if timeout <= 0 {
		return nil
	}
	var total time.Duration
	var parts []string
	var fortio, iperf bool
	for _, d := range dimensions {
		n := d.runs(c, w)
		if n == 0 || !selected(d.test) {
			continue
		}
		one := c.FortioDuration
		if d.iperf {
			one, iperf = c.IperfDuration+IperfOmit, true
		} else {
			fortio = true
		}
		total += time.Duration(n) * one
		parts = append(parts, fmt.Sprintf("%s %d × %s", d.test, n, one))
	}
	flag := fmt.Sprintf("go test -timeout %s", timeout)
	var errs []error
	if fortio && c.FortioDuration >= timeout {
		errs = append(errs, envError(config.EnvFortioDuration, c.FortioDuration.String(),
			"one fortio run is as long as "+flag, "a duration shorter than the timeout, or a longer -timeout"))
	}
	if iperf && c.IperfDuration+IperfOmit >= timeout {
		errs = append(errs, envError(config.EnvIperfDuration, c.IperfDuration.String(),
			fmt.Sprintf("one iperf3 run (with its %s warm-up) is as long as %s", IperfOmit, flag), "a duration shorter than the timeout, or a longer -timeout"))
	}
	if len(errs) == 0 && total >= timeout {
		errs = append(errs, envError(config.EnvRounds, fmt.Sprint(c.Rounds),
			fmt.Sprintf("with %s=%s and %s=%s the selected tests measure for at least %s (%s), longer than %s",
				config.EnvFortioDuration, c.FortioDuration, config.EnvIperfDuration, c.IperfDuration, total, strings.Join(parts, ", "), flag),
			"settings whose measurements fit the timeout: fewer ROUNDS, shorter FORTIO_DURATION or IPERF_DURATION, fewer tests (-run), or a longer -timeout"))
	}
	return errs
}
