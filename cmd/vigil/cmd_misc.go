package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/api"
)

// version is the CLI's version, set at build time with -ldflags "-X main.version=1.2.3".
var version = ""

// cliVersion returns version, or the module version from the build info, or "dev".
func cliVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func (a *app) reloadCmd() *cobra.Command {
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make the daemon re-read its configuration file",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := a.client().Reload(cmd.Context())
			if err != nil {
				return err
			}
			if out.json() {
				return printJSON(a.stdout, res)
			}
			return writeReload(a.stdout, res)
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}

func (a *app) logLevelCmd() *cobra.Command {
	return &cobra.Command{
		Use:       "log-level LEVEL",
		Short:     "Change the daemon's log level (debug, info, warn, error)",
		Args:      args("LEVEL (debug, info, warn or error)"),
		ValidArgs: []string{"debug", "info", "warn", "error"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.client().SetLogLevel(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(a.stdout, "log level set to %s\n", args[0])
			return err
		},
	}
}

func (a *app) versionCmd() *cobra.Command {
	var out outputFormat
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the versions of vigil and, if reachable, vigild",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.client().Version(cmd.Context())
			if out.json() {
				res := struct {
					CLI         string           `json:"cli"`
					API         string           `json:"api"`
					Daemon      *api.VersionInfo `json:"daemon,omitempty"`
					DaemonError string           `json:"daemon_error,omitempty"`
				}{CLI: cliVersion(), API: api.Version}
				if err != nil {
					res.DaemonError = err.Error()
				} else {
					res.Daemon = &v
				}
				return printJSON(a.stdout, res)
			}
			return writeVersion(a.stdout, cliVersion(), v, err)
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}

func (a *app) completionCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: "Print a completion script for the given shell. For example:\n" +
			"  vigil completion bash > /etc/bash_completion.d/vigil\n" +
			"  vigil completion zsh > \"${fpath[1]}/_vigil\"\n" +
			"  vigil completion fish > ~/.config/fish/completions/vigil.fish",
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      args("shell (bash, zsh or fish)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.stdout)
			case "fish":
				return root.GenFishCompletion(a.stdout, true)
			}
			return usagef(cmd, "unsupported shell %q (want bash, zsh or fish)", args[0])
		},
	}
}
