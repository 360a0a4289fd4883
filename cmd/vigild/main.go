// Command vigild is the Vigil IPsec gateway daemon.
//
//	vigild --config /etc/vigil/vigil.toml [--log-format text|json] [--log-level info] [--debug-addr 127.0.0.1:6060]
//
// It negotiates IKEv2 or IKEv1 SAs for the configured tunnels, carries their traffic through a TUN
// device with its userspace ESP dataplane, and serves the control API on a unix socket. SIGHUP
// reloads the configuration; SIGTERM/SIGINT delete all SAs (telling the peers), remove routes
// and the TUN device, and exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	rpprof "runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/dataplane/tunudp"
	"github.com/vigil-ipsec/vigil/gateway"
	"github.com/vigil-ipsec/vigil/internal/logwriter"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("vigild", flag.ContinueOnError)
	cfgPath := fs.String("config", "/etc/vigil/vigil.toml", "configuration file (TOML)")
	logFormat := fs.String("log-format", "", "log format: text or json (overrides the config)")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn or error (overrides the config)")
	socket := fs.String("socket", "", "control socket path (overrides the config)")
	version := fs.Bool("version", false, "print the version and exit")
	debugAddr := fs.String("debug-addr", "", "serve Go's pprof handlers on this address (e.g. 127.0.0.1:6060); off by default")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run, start-up included, to this file (for developers)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Println("vigild", gateway.Version)
		return 0
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = rpprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "vigild: --cpuprofile:", err)
			return 2
		}
		defer func() { rpprof.StopCPUProfile(); f.Close() }()
	}
	// Start-up (a configuration of 100,000 tunnels, their indexes and policies) allocates a
	// lot that it drops at once: collect less often until it is done (see FreeOSMemory below).
	gcPercent := debug.SetGCPercent(200)
	if os.Getenv("GOGC") == "" {
		gcPercent = defaultGCPercent
	}
	// The gateway reloads with this loader (cfg.Loader()): it re-reads only the included files
	// that changed since it last read them, the first time since this load.
	loader := config.NewLoader(*cfgPath)
	cfg, err := loader.Load()
	if err != nil {
		for _, e := range config.Errors(err) {
			fmt.Fprintln(os.Stderr, "vigild:", e)
		}
		if len(config.Errors(err)) == 0 {
			fmt.Fprintln(os.Stderr, "vigild:", err)
		}
		return 1
	}
	if *socket != "" {
		cfg.Global.Socket = *socket
	}
	format := cfg.Global.LogFormat
	if *logFormat != "" {
		format = *logFormat
	}
	levelName := cfg.Global.LogLevel
	if *logLevel != "" {
		levelName = *logLevel
	}
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(levelName)); err != nil {
		fmt.Fprintf(os.Stderr, "vigild: bad log level %q (debug, info, warn, error)\n", levelName)
		return 2
	}
	// Log lines go through a group-commit writer: the lines logged while one write(2) is in
	// progress go out together in the next, which matters when thousands of tunnels come up
	// at once (issue #12). From here on, vigild's own messages to stderr go through it too,
	// so that they stay in order with the log. The deferred Close writes out what is pending
	// on every return from run, and while a panic of this goroutine unwinds. The writer
	// lingers 2 ms after each write, so that a steady stream of lines (3 per tunnel set up)
	// wakes it a few hundred times a second rather than once per line; a line after a quiet
	// spell is still written at once.
	out := logwriter.New(os.Stderr, logwriter.Options{OnError: logOutputFailed, Linger: logLinger})
	defer out.Close()
	log, err := newLogger(format, level, out)
	if err != nil {
		fmt.Fprintln(out, "vigild:", err)
		return 2
	}

	// The control socket first: it refuses to start if another vigild answers on it, before
	// this one touches the TUN device or the IKE sockets. The API server comes after the
	// gateway it serves; until then connections wait in the socket's backlog.
	ln, err := api.Listen(cfg.Global.Socket)
	if err != nil {
		fmt.Fprintln(out, "vigild:", err)
		return 1
	}
	defer ln.Close()

	gw, err := gateway.New(cfg, gateway.Options{
		Logger: log, LogLevel: level,
		OpenDataplane: func(ikeHandler dataplane.IKEHandler) (dataplane.Dataplane, error) {
			return tunudp.Open(tunudp.Config{
				TUNName: cfg.Global.TUNName, IKEPort: uint16(cfg.Global.IKEPort), NATTPort: uint16(cfg.Global.NATTPort),
				Raw:        true,
				UnknownSPI: unknownSPILimits(cfg.Global.InvalidSPI),
				Logger:     log,
			}, ikeHandler)
		},
	})
	if err != nil {
		fmt.Fprintln(out, "vigild:", err)
		return 1
	}
	// Building 100,000 tunnels leaves more garbage than the tunnels themselves hold: give it
	// back to the system rather than carry it as RSS until the heap grows into it. The
	// collection runs beside the daemon, which starts serving meanwhile.
	// The gateway holds the tunnels now; this function keeps only the rest (a copy of 100,000
	// tunnels' configuration would outlive start-up otherwise).
	tunnels := len(cfg.Tunnels)
	loader.Release(cfg) // empties it: the loader keeps its own compact snapshots
	cfg = &config.Config{File: cfg.File, Global: cfg.Global}
	debug.SetGCPercent(gcPercent)
	go settle(log)
	srv := api.NewServer(gw, log)

	err = serve(cfg, tunnels, log, gw, srv, ln, *debugAddr)
	if err != nil {
		sdNotify("STATUS=" + strings.ReplaceAll("failed: "+err.Error(), "\n", "; "))
	}
	sdNotify("STOPPING=1")
	if err != nil {
		log.Error("vigild stopped", "err", err)
		return 1
	}
	log.Info("vigild stopped")
	return 0
}

// newLogger returns vigild's logger: format "json" or "text" ("" is text) lines at level and
// above, written to w.
func newLogger(format string, level slog.Leveler, w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad log format %q (text, json)", format)
}

// logOutputFailed reports the first error of writing the log (its later ones are not
// reported), directly to stderr: the log may be what failed.
// logLinger is how long the log writer gathers lines after each write.
const logLinger = 2 * time.Millisecond

func logOutputFailed(err error) {
	fmt.Fprintln(os.Stderr, "vigild: writing the log failed (later failures are not reported):", err)
}

// serve runs the gateway and the control API until SIGTERM or SIGINT, or until one of them
// stops on its own, and returns why they stopped (nil for a signal).
//
// It owns every goroutine it starts and waits for all of them before it returns:
//   - the gateway (gw.Run) and the API server (srv.ServeListener) stop when ctx ends: on a
//     signal, or when the other one has stopped;
//   - the SIGHUP handler and the metrics and pprof servers stop when aux ends, which is only
//     after the gateway has finished its shutdown, so metrics stay readable while it deletes
//     the SAs.
func serve(cfg *config.Config, tunnels int, log *slog.Logger, gw *gateway.Gateway, srv *api.Server, ln net.Listener, debugAddr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	aux, stopAux := context.WithCancel(context.Background())
	var auxDone sync.WaitGroup
	defer func() { stopAux(); auxDone.Wait() }()

	// SIGHUP stays caught until the process exits, also after the handler has stopped, so a
	// late one cannot kill the daemon in the middle of its shutdown.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	auxDone.Go(func() {
		for {
			select {
			case <-aux.Done():
				return
			case <-hup:
				if _, err := gw.Reload(); err != nil {
					log.Error("SIGHUP reload failed", "err", err)
				}
			}
		}
	})

	if cfg.Global.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", gw.MetricsHandler())
		serveHTTP(aux, &auxDone, log, "metrics", "metrics endpoint (metrics_addr)", cfg.Global.MetricsAddr, mux)
	}
	if debugAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		serveHTTP(aux, &auxDone, log, "pprof", "pprof endpoint (--debug-addr)", debugAddr, mux)
	}

	apiDone := make(chan error, 1)
	go func() { apiDone <- srv.ServeListener(ctx, ln) }() // ends when ctx does, or on an error
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }() // ends when ctx does, or when the dataplane fails
	log.Info("vigild started", "version", gateway.Version, "config", cfg.File, "tunnels", tunnels, "pid", os.Getpid())
	sdNotify("READY=1")

	// Whichever stops first stops the other; both are waited for.
	var gwErr, apiErr error
	select {
	case gwErr = <-gwDone:
		stop()
		apiErr = <-apiDone
	case apiErr = <-apiDone:
		stop()
		gwErr = <-gwDone
	}
	return errors.Join(failure(gwErr), failure(apiErr))
}

// failure is err unless it only says that the context ended, which is how a signal stops us.
func failure(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serveHTTP serves h on addr until aux ends, in two goroutines counted in done. A failure to
// listen is logged and leaves the daemon running without that endpoint.
func serveHTTP(aux context.Context, done *sync.WaitGroup, log *slog.Logger, name, what, addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error(name+" endpoint not available", "addr", addr, "err", err)
		return
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done.Go(func() { s.Serve(ln) }) // returns once s is closed
	done.Go(func() { <-aux.Done(); s.Close() })
	log.Info(name+" listening", "addr", ln.Addr().String())
	warnExposed(log, what, ln.Addr().String())
}

// sdNotify tells systemd about state changes when run with Type=notify.
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}

// unknownSPILimits maps the configured INVALID_SPI rates onto the dataplane's event limits.
func unknownSPILimits(c config.InvalidSPI) sad.UnknownSPILimits {
	l := sad.UnknownSPILimits{PerSource: float64(c.PerPeerRate)}
	if c.PerSPIInterval > 0 {
		l.PerSPI = 1 / c.PerSPIInterval.Seconds()
	}
	return l
}

// warnExposed logs a warning when an unauthenticated HTTP endpoint (metrics, pprof) listens on
// an address that other hosts can reach.
func warnExposed(log *slog.Logger, what, addr string) {
	if !loopbackOnly(addr) {
		log.Warn(what+" listens on a non-loopback address: anyone who can reach it can read it "+
			"without authentication; bind it to 127.0.0.1 or ::1, or firewall it", "addr", addr)
	}
}

// loopbackOnly reports whether a listener on addr (host:port) can only be reached from this
// host: the host is a loopback IP or "localhost". An empty or unspecified host (all
// interfaces), any other name and anything unparsable count as exposed.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// defaultGCPercent is vigild's GOGC unless the environment sets one: a collection when the
// heap has grown by 80 % since the last, not 100 %. A gateway's heap is mostly long-lived SA
// state, so the collector's headroom is most of the difference between the memory its
// tunnels hold and its RSS: 80 keeps an established tunnel under 8 KiB of RSS at 10,000
// tunnels too (7.2-7.7 KiB, against 7.6-8.6 at 100), for about 3 % more CPU when setting
// up 100,000.
const defaultGCPercent = 80

// settleDelay: how long after start-up the daemon returns memory to the system a second time.
// The first return comes as soon as the gateway is built (the configuration's garbage); by the
// second, the routes are in and the first negotiations under way.
const settleDelay = 5 * time.Second

// settle returns the garbage of start-up to the system, once at once and once after
// settleDelay if the daemon has been quiet meanwhile (a heap of 100,000 tunnels does not
// collect again for a long while when idle, and would carry it as RSS until then), and logs
// the live heap: "start-up settled" is the moment an idle daemon's memory can be read. A
// daemon that has collected on its own meanwhile is busy (setting up its tunnels, say): its
// heap has grown into the garbage, the runtime returns what stays unused, and a forced
// collection and return in the middle of the work would only cost it (every page returned is
// faulted in again as the heap grows).
func settle(log *slog.Logger) {
	debug.FreeOSMemory()
	before := gcCycles()
	time.Sleep(settleDelay)
	if gcCycles() == before {
		debug.FreeOSMemory()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	log.Info("start-up settled: memory returned to the system", "heap_live_mib", m.HeapAlloc>>20, "heap_pages_mib", m.HeapInuse>>20)
}

// gcCycles is the number of garbage collections completed so far.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0 // not supported: always quiet
	}
	return s[0].Value.Uint64()
}
