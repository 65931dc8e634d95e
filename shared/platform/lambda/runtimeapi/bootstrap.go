package runtimeapi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// ExitError is what invocations fail with once the bootstrap started by
// RunBootstrap has exited.
type ExitError struct {
	// Err is the process's exit status.
	Err error
	// Output is everything the process wrote to stdout and stderr.
	Output string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("runtimeapi: the bootstrap exited (%v); its output:\n%s", e.Err, e.Output)
}

func (e *ExitError) Unwrap() error { return e.Err }

// RunBootstrap starts a Server and runs the bootstrap binary at
// binaryPath under it, as Lambda runs a provided.al2023 function: in the
// binary's directory, with only the environment of Server.Env plus env
// (which wins, and may set AWS_LAMBDA_FUNCTION_NAME). Its output is kept
// (Server.Output) and logged if the test fails. The process is killed when
// the test ends; if it exits earlier, invocations fail with an *ExitError.
func RunBootstrap(t testing.TB, binaryPath string, env map[string]string) *Server {
	t.Helper()
	bin, err := filepath.Abs(binaryPath)
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t, WithFunctionName(env["AWS_LAMBDA_FUNCTION_NAME"]))
	vars := s.Env()
	vars["LAMBDA_TASK_ROOT"] = filepath.Dir(bin)
	vars["_HANDLER"] = filepath.Base(bin)
	for k, v := range env {
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)

	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = list
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("runtimeapi: starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		s.fail(&ExitError{Err: err, Output: s.output.String()})
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("output of %s:\n%s", bin, s.output.String())
		}
	})
	return s
}

// BuildBootstrap builds the main package pkg (an import path, or a path
// relative to the test's package directory such as "./testdata/x") as
// Lambda bootstraps are built — CGO_ENABLED=0, -trimpath, -tags
// lambda.norpc — for the machine the test runs on, and returns the
// binary's path, named bootstrap in a temporary directory.
func BuildBootstrap(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	args := []string{"build", "-trimpath", "-tags", "lambda.norpc", "-o", out, pkg}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	return out
}
