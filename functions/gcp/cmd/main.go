// Command cmd serves the Cloud Functions entry points locally with the
// Functions Framework. FUNCTION_TARGET names the one function to serve at
// every path (auth, config, ...); HOST (default 127.0.0.1) and PORT (default
// 8080) say where.
package main

import (
	"log"
	"net"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/lcgo/lcgo/functions/gcp"
)

func main() {
	host, port := env("HOST", "127.0.0.1"), env("PORT", "8080")
	if os.Getenv("FUNCTION_TARGET") == "" {
		log.Print("FUNCTION_TARGET is unset: each function answers only at /<name>; set FUNCTION_TARGET=auth (or another area) to serve its API paths")
	}
	log.Printf("listening on http://%s", net.JoinHostPort(host, port))
	if err := funcframework.StartHostPort(host, port); err != nil {
		log.Fatal(err)
	}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
