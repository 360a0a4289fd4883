package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-ipsec/vigil/api"
)

// outputFormat is the -o flag: "table" or "json". Bad values fail flag parsing (exit 2).
type outputFormat string

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "table|json" }
func (o *outputFormat) Set(s string) error {
	switch s {
	case "table", "json":
		*o = outputFormat(s)
		return nil
	}
	return fmt.Errorf("must be table or json")
}

func (o outputFormat) json() bool { return o == "json" }

// addOutputFlag gives cmd a -o/--output flag.
func addOutputFlag(cmd *cobra.Command, o *outputFormat) {
	*o = "table"
	cmd.Flags().VarP(o, "output", "o", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// spiFlag is --spi: a Child SA SPI, 0x followed by 1-8 hex digits or decimal, not zero.
type spiFlag struct {
	spi api.SPI
	set bool
}

func (f *spiFlag) String() string {
	if !f.set {
		return ""
	}
	return f.spi.String()
}
func (f *spiFlag) Type() string { return "0xSPI" }
func (f *spiFlag) Set(s string) error {
	spi, err := api.ParseSPI(s)
	if err != nil {
		return err
	}
	if !spi.Valid() {
		return errors.New("spi 0x00000000 is reserved and names no SA")
	}
	f.spi, f.set = spi, true
	return nil
}

// required returns a usage error if --spi was not given.
func (f *spiFlag) required(cmd *cobra.Command) error {
	if !f.set {
		return usagef(cmd, "--spi is required (e.g. --spi 0xc1000001)")
	}
	return nil
}

// flagError turns cobra/pflag flag parsing errors into usage errors.
func flagError(cmd *cobra.Command, err error) error {
	return &usageError{cmd: cmd, err: err}
}

// args returns a positional-argument validator expecting exactly the named arguments.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef(cmd, "missing %s", names[len(args)])
		case len(args) > len(names):
			return usagef(cmd, "unexpected argument %q", args[len(names)])
		}
		return nil
	}
}

// group makes cmd a command that only holds subcommands: without arguments it prints its help,
// with an unknown subcommand it is a usage error.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			hint := ""
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				hint = fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return usagef(c, "unknown command %q for %q%s", args[0], c.CommandPath(), hint)
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	return cmd
}
