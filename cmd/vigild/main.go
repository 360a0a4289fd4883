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
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/dataplane/tunudp"
	"github.com/vigil-ipsec/vigil/gateway"
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
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Println("vigild", gateway.Version)
		return 0
	}
	cfg, err := config.Load(*cfgPath)
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
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	case "text", "":
		h = slog.NewTextHandler(os.Stderr, opts)
	default:
		fmt.Fprintf(os.Stderr, "vigild: bad log format %q (text, json)\n", format)
		return 2
	}
	log := slog.New(h)

	// The control socket first: it refuses to start if another vigild answers on it.
	var gw *gateway.Gateway
	srv := api.NewServer(backend{&gw}, log)
	ln, err := srv.Listen(cfg.Global.Socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigild:", err)
		return 1
	}
	defer ln.Close()

	gw, err = gateway.New(cfg, gateway.Options{
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
		fmt.Fprintln(os.Stderr, "vigild:", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if _, err := gw.Reload(); err != nil {
				log.Error("SIGHUP reload failed", "err", err)
			}
		}
	}()

	if cfg.Global.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.Global.MetricsAddr)
		if err != nil {
			log.Error("metrics endpoint not available", "addr", cfg.Global.MetricsAddr, "err", err)
		} else {
			mux := http.NewServeMux()
			mux.Handle("/metrics", gw.MetricsHandler())
			ms := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
			go ms.Serve(mln)
			defer ms.Close()
			log.Info("metrics listening", "addr", mln.Addr().String())
			warnExposed(log, "metrics endpoint (metrics_addr)", mln.Addr().String())
		}
	}

	if *debugAddr != "" {
		dln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			log.Error("pprof endpoint not available", "addr", *debugAddr, "err", err)
		} else {
			dmux := http.NewServeMux()
			dmux.HandleFunc("/debug/pprof/", pprof.Index)
			dmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			dmux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			dmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			ds := &http.Server{Handler: dmux, ReadHeaderTimeout: 5 * time.Second}
			go ds.Serve(dln)
			defer ds.Close()
			log.Info("pprof listening", "addr", dln.Addr().String())
			warnExposed(log, "pprof endpoint (--debug-addr)", dln.Addr().String())
		}
	}

	apiDone := make(chan error, 1)
	go func() { apiDone <- srv.ServeListener(ctx, ln) }()
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()
	log.Info("vigild started", "version", gateway.Version, "config", cfg.File, "tunnels", len(cfg.Tunnels), "pid", os.Getpid())
	sdNotify("READY=1")

	select {
	case err = <-gwDone:
	case err = <-apiDone:
		stop()
		<-gwDone
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		sdNotify("STATUS=" + strings.ReplaceAll("failed: "+err.Error(), "\n", "; "))
	}
	sdNotify("STOPPING=1")
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("vigild stopped", "err", err)
		return 1
	}
	log.Info("vigild stopped")
	return 0
}

// backend defers to the gateway once it exists (the socket is bound before it is built).
type backend struct{ g **gateway.Gateway }

func (b backend) gw() *gateway.Gateway { return *b.g }

func (b backend) Status() api.Status                     { return b.gw().Status() }
func (b backend) Tunnels() []api.Tunnel                  { return b.gw().Tunnels() }
func (b backend) Tunnel(n string) (api.Tunnel, error)    { return b.gw().Tunnel(n) }
func (b backend) TunnelUp(n string) error                { return b.gw().TunnelUp(n) }
func (b backend) TunnelDown(n string) error              { return b.gw().TunnelDown(n) }
func (b backend) SAs(t string) []api.IKESA               { return b.gw().SAs(t) }
func (b backend) ChildSA(s api.SPI) (api.ChildSA, error) { return b.gw().ChildSA(s) }
func (b backend) Events(t string, s uint64) []api.Event  { return b.gw().Events(t, s) }
func (b backend) Reload() (api.ReloadResult, error)      { return b.gw().Reload() }
func (b backend) SetLogLevel(l string) error             { return b.gw().SetLogLevel(l) }
func (b backend) DeleteChildSA(s api.SPI, n bool) (api.DeleteResult, error) {
	return b.gw().DeleteChildSA(s, n)
}
func (b backend) Subscribe(ctx context.Context, t string) <-chan api.Event {
	return b.gw().Subscribe(ctx, t)
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

func (b backend) RekeyChildSA(s api.SPI) error { return b.gw().RekeyChildSA(s) }
func (b backend) RekeyIKESA(t string) error    { return b.gw().RekeyIKESA(t) }

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
