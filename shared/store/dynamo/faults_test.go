package dynamo_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// faults sits in front of an emulator and answers chosen requests with a
// DynamoDB error instead of passing them on.
type faults struct {
	next  http.Handler
	mu    sync.Mutex
	rules []*rule
	calls map[string]int
}

// rule fails requests of op whose body contains every one of needles,
// times times (-1: until removed), with the error code.
type rule struct {
	op      string
	needles []string
	code    string
	status  int
	times   int
	hits    int
}

func newFaults(next http.Handler) *faults {
	return &faults{next: next, calls: map[string]int{}}
}

// fail adds a rule and returns it.
func (f *faults) fail(op, code string, times int, needles ...string) *rule {
	status := http.StatusBadRequest
	if code == "InternalServerError" || code == "ServiceUnavailable" {
		status = http.StatusInternalServerError
	}
	r := &rule{op: op, needles: needles, code: code, status: status, times: times}
	f.mu.Lock()
	f.rules = append(f.rules, r)
	f.mu.Unlock()
	return r
}

func (f *faults) clear() {
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
}

func (f *faults) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *faults) hits(r *rule) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return r.hits
}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndexByte(target, '.')+1:]
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.calls[op]++
	var hit *rule
	for _, rl := range f.rules {
		if rl.op != op || rl.times == 0 {
			continue
		}
		ok := true
		for _, n := range rl.needles {
			ok = ok && bytes.Contains(body, []byte(n))
		}
		if ok {
			hit = rl
			rl.hits++
			if rl.times > 0 {
				rl.times--
			}
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		f.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(hit.status)
	if hit.code == "TransactionCanceledException" {
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",`+
			`"message":"Transaction cancelled [TransactionConflict]",`+
			`"CancellationReasons":[{"Code":"TransactionConflict","Message":"conflict"}]}`)
		return
	}
	fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected %s"}`, hit.code, hit.code)
}

// forbidTransactions wraps an emulator so that any TransactWriteItems
// fails the test: the NoTransactions fallback must never send one.
func forbidTransactions(t *testing.T) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
				t.Errorf("NoTransactions sent a TransactWriteItems request")
				http.Error(w, "transactions are forbidden here", http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// forbidScans wraps an emulator so that any Scan fails the test: no
// operation of the adapter may scan the table.
func forbidScans(t *testing.T) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".Scan") {
				t.Errorf("the adapter sent a Scan request")
				http.Error(w, "scans are forbidden here", http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
