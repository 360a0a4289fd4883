package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/api"
)

// childInstalled is the state of a Child SA that carries traffic (compared case-insensitively).
const childInstalled = "installed"

func (a *app) saRekeyCmd() *cobra.Command {
	var spi spiFlag
	var tunnel string
	cmd := &cobra.Command{
		Use:   "rekey --spi SPI [--tunnel NAME]",
		Short: "Rekey a Child SA (make-before-break)",
		Long: "Rekey the Child SA with the given inbound or outbound SPI: a new Child SA is negotiated\n" +
			"and installed before the old one is deleted, so traffic is not interrupted. The command\n" +
			"returns once the daemon has started the rekey; follow it with 'vigil events --follow'.",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := spi.required(cmd); err != nil {
				return err
			}
			c, err := a.client().ChildSAIn(cmd.Context(), tunnel, spi.spi) // for the tunnel name
			if err != nil {
				return err
			}
			if err := a.client().RekeyChildSAIn(cmd.Context(), c.Tunnel, spi.spi); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "rekeying Child SA %s of tunnel %s\n", spi.spi, c.Tunnel)
			return err
		},
	}
	cmd.Flags().Var(&spi, "spi", "SPI of either direction: 0x followed by 1-8 hex digits, or decimal")
	a.addSPITunnelFlag(cmd, &tunnel)
	return cmd
}

func (a *app) tunnelRekeyCmd() *cobra.Command {
	var ike bool
	cmd := &cobra.Command{
		Use:   "rekey NAME [--ike]",
		Short: "Rekey a tunnel's Child SA, or with --ike its IKE SA",
		Long: "Rekey the tunnel's current Child SA (its newest installed one) make-before-break, or with\n" +
			"--ike its IKE SA. The command returns once the daemon has started the rekey; follow it\n" +
			"with 'vigil events --follow'. To rekey a particular Child SA use 'vigil sa rekey --spi'.",
		Args:              args("tunnel NAME"),
		ValidArgsFunction: a.completeTunnels,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if ike {
				if err := a.client().RekeyIKESA(cmd.Context(), name); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "rekeying IKE SA of tunnel %s\n", name)
				return err
			}
			sas, err := a.client().SAs(cmd.Context(), name) // 404 for an unknown tunnel
			if err != nil {
				return err
			}
			c, ok := currentChild(sas, name)
			if !ok {
				return fmt.Errorf("tunnel %s has no installed Child SA to rekey (is it up?)", name)
			}
			if err := a.client().RekeyChildSA(cmd.Context(), c.SPIIn); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "rekeying Child SA %s of tunnel %s\n", c.SPIIn, name)
			return err
		},
	}
	cmd.Flags().BoolVar(&ike, "ike", false, "rekey the IKE SA instead of the Child SA")
	return cmd
}

// currentChild returns the tunnel's current Child SA: the installed one, or while a rekey has
// two installed, the newest (latest established, then highest ID).
func currentChild(sas []api.IKESA, tunnel string) (api.ChildSA, bool) {
	var best api.ChildSA
	found := false
	for _, sa := range sas {
		if sa.Tunnel != tunnel {
			continue
		}
		for _, c := range sa.Children {
			if !strings.EqualFold(c.State, childInstalled) {
				continue
			}
			if !found || c.Established.After(best.Established) ||
				(c.Established.Equal(best.Established) && c.ID > best.ID) {
				best, found = c, true
			}
		}
	}
	return best, found
}
