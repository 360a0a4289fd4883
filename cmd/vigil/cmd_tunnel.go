package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/api"
)

func (a *app) tunnelCmd() *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "tunnel",
		Aliases: []string{"tunnels"},
		Short:   "List, show, start, stop and rekey tunnels",
	})
	cmd.AddCommand(a.tunnelListCmd(), a.tunnelShowCmd(), a.tunnelActionCmd("up"), a.tunnelActionCmd("down"), a.tunnelRekeyCmd())
	return cmd
}

func (a *app) tunnelListCmd() *cobra.Command {
	var out outputFormat
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List configured tunnels and their state",
		Args:    args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts, err := a.client().Tunnels(cmd.Context())
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, nonNil(ts))
			}
			return writeTunnels(a.stdout, ts, a.now())
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}

func (a *app) tunnelShowCmd() *cobra.Command {
	var out outputFormat
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a tunnel and its security associations",
		Args:              args("tunnel NAME"),
		ValidArgsFunction: a.completeTunnels,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.client().Tunnel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sas, err := a.client().SAs(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, struct {
					api.Tunnel
					SAs []api.IKESA `json:"sas"`
				}{t, nonNil(sas)})
			}
			return writeTunnel(a.stdout, t, sas, a.now(), a.loc)
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}

func (a *app) tunnelActionCmd(verb string) *cobra.Command {
	var out outputFormat
	short := "Bring a tunnel up (negotiate its SAs)"
	if verb == "down" {
		short = "Take a tunnel down (delete its SAs)"
	}
	cmd := &cobra.Command{
		Use:               verb + " NAME",
		Short:             short,
		Args:              args("tunnel NAME"),
		ValidArgsFunction: a.completeTunnels,
		RunE: func(cmd *cobra.Command, args []string) error {
			do := a.client().TunnelUp
			if verb == "down" {
				do = a.client().TunnelDown
			}
			t, err := do(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, t)
			}
			_, err = fmt.Fprintf(a.stdout, "tunnel %s: %s\n", t.Name, t.State)
			return err
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}

// completeTunnels offers the daemon's tunnel names for shell completion.
func (a *app) completeTunnels(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
	defer cancel()
	ts, err := a.client().Tunnels(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name+"\t"+t.State)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeTunnelFlag is completeTunnels for --tunnel flags.
func (a *app) completeTunnelFlag(cmd *cobra.Command, _ []string, s string) ([]string, cobra.ShellCompDirective) {
	return a.completeTunnels(cmd, nil, s)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
