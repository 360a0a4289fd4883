package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/config"
)

func (a *app) configCmd() *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "config",
		Short: "Work with configuration files (offline)",
	})
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a configuration file without contacting the daemon",
		Long: "Load and validate FILE as vigild would. Every problem is printed as FILE:LINE: message\n" +
			"on stderr and the exit status is 1; a valid file prints \"FILE: OK, N tunnels\".",
		Args: args("configuration FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err != nil {
				for _, line := range errorLines(err) {
					fmt.Fprintln(a.stderr, line)
				}
				return &exitError{code: 1}
			}
			_, err = fmt.Fprintf(a.stdout, "%s: OK, %s\n", args[0], plural(len(cfg.Tunnels), "tunnel"))
			return err
		},
	}
	cmd.AddCommand(check)
	return cmd
}

// errorLines flattens errors.Join trees (and multi-line messages) into one line per problem.
func errorLines(err error) []string {
	var lines []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			if l = strings.TrimRight(l, " \t"); l != "" {
				lines = append(lines, l)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	if len(lines) == 0 && err != nil {
		lines = append(lines, "invalid configuration")
	}
	return lines
}
