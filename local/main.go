// Command local runs every API area in one process on embedded defaults:
// SQLite under ./data, generated secrets kept in that database, and,
// optionally, a built LibreChat client served on the same origin.
//
//	go run ./local [-host 127.0.0.1] [-port 3080] [-data ./data] [-client path/to/client/dist]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/lcgo/lcgo/functions"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/setup"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	host := fs.String("host", "", "address to listen on (env HOST, default 127.0.0.1)")
	port := fs.Int("port", 0, "port to listen on (env PORT, default 3080)")
	data := fs.String("data", "", "data directory (env DATA_DIR, default ./data)")
	client := fs.String("client", "", "directory of a built LibreChat client to serve (env CLIENT_DIR)")
	envFile := fs.String("env-file", ".env", "a .env file to read if present; set variables win")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := config.LoadDotEnv(*envFile); err != nil {
		return err
	}
	overrides := map[string]string{}
	if *host != "" {
		overrides["HOST"] = *host
	}
	if *port != 0 {
		overrides["PORT"] = strconv.Itoa(*port)
	}
	if *data != "" {
		overrides["DATA_DIR"] = *data
	}
	if *client != "" {
		overrides["CLIENT_DIR"] = *client
	}
	getenv := func(k string) (string, bool) {
		if v, ok := overrides[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	a, err := setup.Open(ctx, setup.Options{Local: true, Getenv: getenv, Logger: log})
	if err != nil {
		return err
	}
	defer a.Store.Close()

	var fallback http.Handler
	if a.Config.ClientDir != "" {
		if fallback, err = clientHandler(a.Config.ClientDir); err != nil {
			return err
		}
	}
	h, err := functions.Router(a, fallback)
	if err != nil {
		return err
	}

	addr := net.JoinHostPort(a.Config.Host, strconv.Itoa(a.Config.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Info("listening", "url", "http://"+ln.Addr().String(), "data", a.Config.DataDir, "client", a.Config.ClientDir)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
