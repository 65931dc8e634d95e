package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
)

// function is one area's Lambda function: up to limit execution
// environments, each a bootstrap process under its own Runtime API server
// that answers one invocation at a time, as on Lambda. Environments start
// when no idle one is left (a cold start) and are reused afterwards, the
// one idle longest first.
type function struct {
	area      string
	name      string
	bootstrap string
	env       map[string]string // the function's configuration
	timeout   time.Duration     // the function's timeout
	tmp       string            // each environment gets its own /tmp below it
	logs      *logSink
	log       *slog.Logger
	warmN     int // environments to start ahead of the first invocation

	slots chan struct{} // one per invocation running or starting

	mu     sync.Mutex
	idle   []*environment
	live   map[*environment]struct{}
	seq    int
	closed bool
}

func newFunction(area, name, bootstrap string, env map[string]string, timeout time.Duration, limit int, tmp string, logs *logSink, log *slog.Logger) *function {
	return &function{
		area: area, name: name, bootstrap: bootstrap, env: env, timeout: timeout, tmp: tmp,
		logs: logs, log: log.With("function", name),
		slots: make(chan struct{}, limit),
		live:  map[*environment]struct{}{},
	}
}

// environment is one bootstrap process.
type environment struct {
	fn      *function
	id      int
	srv     *runtimeapi.Server
	ln      net.Listener // the address the runtime is given, relayed to srv
	cmd     *exec.Cmd
	started time.Time

	readyOnce sync.Once
	ready     chan struct{} // closed when the runtime first asks for an event
	exited    chan struct{}
	exitErr   error
	killed    atomic.Bool
}

// invoke runs payload on an idle environment, starting one if none is idle
// and fewer than limit run. ctx is the caller's: leaving while waiting for an
// environment gives up; once the invocation runs, it runs to its end or
// for at most wait (the function's timeout when that is shorter), after
// which the environment is stopped, as Lambda stops a function that timed
// out.
func (f *function) invoke(ctx context.Context, payload []byte, wait time.Duration) (*runtimeapi.Response, func(), error) {
	e, err := f.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	limit := f.timeout
	if wait > 0 && wait < limit {
		limit = wait
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	res, err := e.srv.Invoke(ictx, payload)
	if err != nil {
		timedOut := ictx.Err() != nil
		cancel()
		f.release(e, !timedOut)
		if timedOut {
			return nil, nil, fmt.Errorf("%s: %w", f.name, context.DeadlineExceeded)
		}
		return nil, nil, err
	}
	if !res.Streamed {
		cancel()
		f.release(e, true)
		return res, func() {}, nil
	}
	var once sync.Once
	return res, func() {
		once.Do(func() {
			timedOut := ictx.Err() != nil
			cancel()
			f.release(e, !timedOut)
		})
	}, nil
}

// acquire takes an idle environment, or starts one.
func (f *function) acquire(ctx context.Context) (*environment, error) {
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		<-f.slots
		return nil, errors.New("shutting down")
	}
	for len(f.idle) > 0 {
		// The environment idle longest: consecutive invocations (a chat
		// start and its stream, say) land on different environments when
		// there are several, as they may on Lambda.
		e := f.idle[0]
		f.idle = f.idle[1:]
		if e.alive() {
			f.mu.Unlock()
			return e, nil
		}
	}
	f.mu.Unlock()
	e, err := f.start()
	if err != nil {
		<-f.slots
		return nil, err
	}
	return e, nil
}

// release gives e back after an invocation; keep false stops it.
func (f *function) release(e *environment, keep bool) {
	f.mu.Lock()
	keep = keep && e.alive() && !f.closed
	if keep {
		f.idle = append(f.idle, e)
	}
	f.mu.Unlock()
	if !keep {
		e.kill()
	}
	<-f.slots
}

// warm starts n environments ahead of the first invocation and waits until
// each has finished its init.
func (f *function) warm(ctx context.Context, n int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := f.start()
			if err == nil {
				err = e.waitReady(ctx)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				if e != nil {
					e.kill()
				}
				return
			}
			f.mu.Lock()
			f.idle = append(f.idle, e)
			f.mu.Unlock()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// start runs a new environment: the bootstrap in its directory with the
// environment Lambda gives a provided.al2023 function plus the function's
// configuration.
func (f *function) start() (*environment, error) {
	f.mu.Lock()
	f.seq++
	id := f.seq
	f.mu.Unlock()

	srv, err := runtimeapi.New(runtimeapi.WithFunctionName(f.name), runtimeapi.WithTimeout(f.timeout))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	e := &environment{fn: f, id: id, srv: srv, ln: ln, started: time.Now(), ready: make(chan struct{}), exited: make(chan struct{})}
	go e.relay()

	tmp := filepath.Join(f.tmp, fmt.Sprintf("%s-%d", f.area, id))
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		_ = srv.Close()
		_ = ln.Close()
		return nil, err
	}
	vars := srv.Env()
	vars["AWS_LAMBDA_RUNTIME_API"] = ln.Addr().String()
	vars["LAMBDA_TASK_ROOT"] = filepath.Dir(f.bootstrap)
	vars["_HANDLER"] = filepath.Base(f.bootstrap)
	vars["TMPDIR"] = tmp
	vars["DATA_DIR"] = tmp
	for k, v := range f.env {
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)

	cmd := exec.Command(f.bootstrap)
	cmd.Dir = filepath.Dir(f.bootstrap)
	cmd.Env = list
	out := f.logs.writer(fmt.Sprintf("%s#%d", f.area, id))
	cmd.Stdout, cmd.Stderr = out, out
	stopWithParent(cmd)
	e.cmd = cmd
	if err := cmd.Start(); err != nil {
		_ = srv.Close()
		_ = ln.Close()
		return nil, fmt.Errorf("starting %s: %w", f.bootstrap, err)
	}
	f.mu.Lock()
	f.live[e] = struct{}{}
	f.mu.Unlock()
	go func() {
		err := cmd.Wait()
		out.flush()
		e.exitErr = err
		close(e.exited)
		_ = srv.Close()
		_ = ln.Close()
		f.mu.Lock()
		delete(f.live, e)
		f.mu.Unlock()
		if !e.killed.Load() {
			f.log.Error("an environment exited", "env", id, "err", err)
		}
	}()
	return e, nil
}

// close stops every environment.
func (f *function) close() {
	f.mu.Lock()
	f.closed = true
	all := make([]*environment, 0, len(f.live))
	for e := range f.live {
		all = append(all, e)
	}
	f.idle = nil
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Go(e.kill)
	}
	wg.Wait()
}

func (e *environment) alive() bool {
	select {
	case <-e.exited:
		return false
	default:
		return !e.killed.Load()
	}
}

// kill stops the process and waits until it is gone.
func (e *environment) kill() {
	e.killed.Store(true)
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		e.fn.log.Error("an environment did not exit", "env", e.id, "pid", e.cmd.Process.Pid)
	}
}

// waitReady waits until the runtime has finished its init and asks for
// its first event.
func (e *environment) waitReady(ctx context.Context) error {
	select {
	case <-e.ready:
		return nil
	case <-e.exited:
		return fmt.Errorf("%s: the bootstrap exited during its init (%v)", e.fn.name, e.exitErr)
	case <-ctx.Done():
		return fmt.Errorf("%s: init: %w", e.fn.name, context.Cause(ctx))
	}
}

// nextRequest is how the runtime's request for an event begins.
const nextRequest = "GET /2018-06-01/runtime/invocation/next"

// relay passes the runtime's connections on to the Runtime API server as
// they are, noting the first request for an event: the end of the init.
func (e *environment) relay() {
	target := e.srv.Addr()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer u.Close()
			br := bufio.NewReader(c)
			if line, err := br.Peek(len(nextRequest)); err == nil && string(line) == nextRequest {
				e.readyOnce.Do(func() {
					e.fn.log.Info("environment ready", "env", e.id, "init_ms", time.Since(e.started).Milliseconds())
					close(e.ready)
				})
			}
			go func() {
				_, _ = io.Copy(u, br)
				if tc, ok := u.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}()
			_, _ = io.Copy(c, u)
		}()
	}
}

// logSink is where every environment's output goes, a line at a time,
// each line prefixed with the environment's name.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) writer(name string) *prefixWriter {
	return &prefixWriter{sink: s, prefix: []byte("[" + name + "] ")}
}

type prefixWriter struct {
	sink   *logSink
	prefix []byte
	mu     sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.emit(p.buf[:i+1])
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 64<<10 {
		p.emit(append(p.buf, '\n'))
		p.buf = nil
	}
	return len(b), nil
}

func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.emit(append(p.buf, '\n'))
		p.buf = nil
	}
}

func (p *prefixWriter) emit(line []byte) {
	p.sink.mu.Lock()
	defer p.sink.mu.Unlock()
	_, _ = p.sink.w.Write(append(append([]byte{}, p.prefix...), line...))
}
