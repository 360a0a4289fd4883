package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/api"
)

func (a *app) eventsCmd() *cobra.Command {
	var out outputFormat
	var tunnel string
	var since uint64
	var follow bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the event timeline (detections, recoveries, state changes)",
		Long: "Show the daemon's retained events, oldest first. With --follow, keep printing new events\n" +
			"as they happen until interrupted; with -o json, --follow prints one JSON object per line.",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if follow {
				return a.followEvents(cmd.Context(), tunnel, since, out)
			}
			evs, err := a.client().Events(cmd.Context(), tunnel, since)
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, nonNil(evs))
			}
			return writeEvents(a.stdout, evs, a.loc)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	cmd.Flags().StringVar(&tunnel, "tunnel", "", "only this tunnel's events")
	cmd.Flags().Uint64Var(&since, "since", 0, "only events with a sequence number above this")
	_ = cmd.RegisterFlagCompletionFunc("tunnel", a.completeTunnelFlag)
	addOutputFlag(cmd, &out)
	return cmd
}

// followEvents streams events until interrupted (exit 0) or the daemon goes away (error).
func (a *app) followEvents(ctx context.Context, tunnel string, since uint64, out outputFormat) error {
	var fn func(api.Event) error
	if out.json() {
		enc := json.NewEncoder(a.stdout)
		fn = func(ev api.Event) error { return enc.Encode(ev) }
	} else {
		if err := writeEventHeader(a.stdout); err != nil {
			return err
		}
		fn = func(ev api.Event) error { return writeEventLine(a.stdout, ev, a.loc) }
	}
	err := a.client().FollowEvents(ctx, tunnel, since, fn)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
