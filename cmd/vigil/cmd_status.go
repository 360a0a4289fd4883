package main

import (
	"github.com/spf13/cobra"
)

func (a *app) statusCmd() *cobra.Command {
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's status",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.client().Status(cmd.Context())
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, st)
			}
			return writeStatus(a.stdout, st, a.loc)
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}
