// Package runreport renders one or more runs' results directories as a
// report for people choosing a dataplane: report.md with a table per
// dimension (dataplanes as columns, every median with its 95 % interval),
// the ServiceScale curves and their crossovers, the study's "At a glance"
// table rebuilt from what was measured, the runs' fingerprints side by side
// and findings, plus PNG plots. It is pure: it reads results.Loaded and
// writes files; it measures nothing and talks to no cluster.
package runreport
