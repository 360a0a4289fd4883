package main

import (
	"fmt"
	"io"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// writeStatus prints the daemon overview as aligned "key value" lines.
func writeStatus(w io.Writer, st api.Status, loc *time.Location) error {
	tw := newTable(w)
	row(tw, "vigild", fmt.Sprintf("%s (pid %d, API %s)", st.Version, st.PID, api.Version))
	row(tw, "started", fmt.Sprintf("%s (up %s)", stamp(st.Started, loc), humanDuration(time.Duration(st.Uptime))))
	row(tw, "config", dash(st.ConfigFile))
	row(tw, "tunnels", fmt.Sprintf("%d up of %d", st.TunnelsUp, st.Tunnels))
	row(tw, "IKE SAs", fmt.Sprint(st.IKESAs))
	row(tw, "Child SAs", fmt.Sprint(st.ChildSAs))
	row(tw, "log level", dash(st.LogLevel))
	health := "ok"
	if !st.Healthy {
		health = "UNHEALTHY: " + dash(st.Problem)
	}
	row(tw, "health", health)
	return tw.Flush()
}

// writeVersion prints the CLI's version and the daemon's, or why it could not be asked.
func writeVersion(w io.Writer, cli string, v api.VersionInfo, daemonErr error) error {
	tw := newTable(w)
	row(tw, "vigil", fmt.Sprintf("%s (API %s)", cli, api.Version))
	if daemonErr != nil {
		row(tw, "vigild", "unknown: "+daemonErr.Error())
	} else {
		row(tw, "vigild", fmt.Sprintf("%s (API %s, %s)", v.Daemon, v.API, v.Go))
	}
	return tw.Flush()
}

// writeReload prints which tunnels a reload added, removed, changed and left alone.
func writeReload(w io.Writer, r api.ReloadResult) error {
	fmt.Fprintln(w, "configuration reloaded")
	tw := newTable(w)
	row(tw, "added", list(r.Added))
	row(tw, "removed", list(r.Removed))
	row(tw, "changed", list(r.Changed))
	if len(r.Unchanged) == 0 && r.UnchangedCount > 0 { // the daemon named too many to list
		row(tw, "unchanged", fmt.Sprintf("%d tunnels", r.UnchangedCount))
	} else {
		row(tw, "unchanged", listOrCount(r.Unchanged))
	}
	return tw.Flush()
}

// maxListed: a longer list of names is shown as its count (a gateway may have 100,000
// unchanged tunnels; -o json still lists them all).
const maxListed = 20

// listOrCount is list(names), or "N tunnels" when there are more than maxListed.
func listOrCount(names []string) string {
	if len(names) > maxListed {
		return fmt.Sprintf("%d tunnels", len(names))
	}
	return list(names)
}
