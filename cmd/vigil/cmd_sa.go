package main

import (
	"github.com/spf13/cobra"
)

func (a *app) saCmd() *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "sa",
		Aliases: []string{"sas"},
		Short:   "List, show, rekey and delete security associations",
	})
	cmd.AddCommand(a.saListCmd(), a.saShowCmd(), a.saRekeyCmd(), a.saDeleteCmd())
	return cmd
}

func (a *app) saListCmd() *cobra.Command {
	var out outputFormat
	var tunnel string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List IKE SAs with their Child SAs",
		Args:    args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sas, err := a.client().SAs(cmd.Context(), tunnel)
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, nonNil(sas))
			}
			return writeSAs(a.stdout, sas, tunnel)
		},
	}
	cmd.Flags().StringVar(&tunnel, "tunnel", "", "only this tunnel's SAs")
	_ = cmd.RegisterFlagCompletionFunc("tunnel", a.completeTunnelFlag)
	addOutputFlag(cmd, &out)
	return cmd
}

func (a *app) saShowCmd() *cobra.Command {
	var out outputFormat
	var spi spiFlag
	var tunnel string
	cmd := &cobra.Command{
		Use:   "show --spi SPI [--tunnel NAME]",
		Short: "Show a Child SA by its inbound or outbound SPI",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := spi.required(cmd); err != nil {
				return err
			}
			c, err := a.client().ChildSAIn(cmd.Context(), tunnel, spi.spi)
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, c)
			}
			return writeChildSA(a.stdout, c, a.now(), a.loc)
		},
	}
	cmd.Flags().Var(&spi, "spi", "SPI of either direction: 0x followed by 1-8 hex digits, or decimal")
	a.addSPITunnelFlag(cmd, &tunnel)
	addOutputFlag(cmd, &out)
	return cmd
}

// addSPITunnelFlag adds --tunnel to a command that names a Child SA by --spi. Peers choose
// the outbound SPIs, so two peers may use the same; the daemon then refuses the SPI as
// ambiguous and lists the Child SAs it names, and --tunnel picks one.
func (a *app) addSPITunnelFlag(cmd *cobra.Command, tunnel *string) {
	cmd.Flags().StringVar(tunnel, "tunnel", "", "the Child SA of this tunnel (when the SPI names several)")
	_ = cmd.RegisterFlagCompletionFunc("tunnel", a.completeTunnelFlag)
}

func (a *app) saDeleteCmd() *cobra.Command {
	var out outputFormat
	var spi spiFlag
	var noNotify bool
	var tunnel string
	cmd := &cobra.Command{
		Use:   "delete --spi SPI [--tunnel NAME] [--no-notify]",
		Short: "Delete a Child SA (telling the peer unless --no-notify)",
		Long: "Delete the Child SA with the given inbound or outbound SPI. Unless --no-notify is given\n" +
			"the peer is sent a Delete; with --no-notify it is not, which simulates a lost SA and lets\n" +
			"you watch the peer's invalid-SPI recovery with 'vigil events --follow'. Peers choose the\n" +
			"outbound SPIs, so two may use the same one: then nothing is deleted, the Child SAs it names\n" +
			"are listed, and --tunnel (or the inbound SPI) picks one.",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := spi.required(cmd); err != nil {
				return err
			}
			res, err := a.client().DeleteChildSAIn(cmd.Context(), tunnel, spi.spi, !noNotify)
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, res)
			}
			return writeDeleteResult(a.stdout, res)
		},
	}
	cmd.Flags().Var(&spi, "spi", "SPI of either direction: 0x followed by 1-8 hex digits, or decimal")
	a.addSPITunnelFlag(cmd, &tunnel)
	cmd.Flags().BoolVar(&noNotify, "no-notify", false, "do not send the peer a Delete")
	addOutputFlag(cmd, &out)
	return cmd
}
