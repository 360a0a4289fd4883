package main

import (
	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/api/client"
)

// socketEnv overrides the default control socket path.
const socketEnv = "VIGIL_SOCKET"

func (a *app) rootCmd() *cobra.Command {
	root := group(&cobra.Command{
		Use:   "vigil",
		Short: "Control the Vigil IPsec daemon (vigild)",
		Long: "vigil talks to a running vigild over its control socket to show tunnels, security\n" +
			"associations and events, and to act on them. 'vigil config check' works offline.",
		SilenceErrors: true,
		SilenceUsage:  true,
	})
	root.CompletionOptions.DisableDefaultCmd = true
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(flagError)

	defSocket := client.DefaultSocket
	if s := a.getenv(socketEnv); s != "" {
		defSocket = s
	}
	root.PersistentFlags().StringVar(&a.socket, "socket", defSocket, "vigild control socket (env "+socketEnv+")")

	root.AddCommand(
		a.statusCmd(),
		a.tunnelCmd(),
		a.saCmd(),
		a.eventsCmd(),
		a.configCmd(),
		a.reloadCmd(),
		a.logLevelCmd(),
		a.versionCmd(),
		a.completionCmd(root),
	)
	return root
}
