package rig

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main is the skeleton both benchmark programs share: parse flags (usage errors exit 2, -h
// exits 0), run bench with a context that ends on SIGINT/SIGTERM (a second signal kills the
// program outright) and a Cleanup that always runs, and exit 130 when interrupted.
func Main[O any](name string, parseFlags func() (O, error), bench func(context.Context, *Cleanup, O) int) int {
	o, err := parseFlags()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the program outright
	}()
	var cl Cleanup
	defer cl.Run()
	code := bench(ctx, &cl, o)
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "%s: interrupted, cleaning up\n", name)
		return 130
	}
	return code
}
