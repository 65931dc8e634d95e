package chat

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Frame is one server-sent event of a generation stream: its event name
// ("message", or "error") and its one-line JSON data.
type Frame struct {
	Event string          `json:"e"`
	Data  json.RawMessage `json:"d"`
}

// Job statuses.
const (
	StatusRunning  = "running"
	StatusComplete = "complete"
	StatusError    = "error"
	StatusAborted  = "aborted"
)

// JobInfo describes a generation job. A job's id is its conversation id.
type JobInfo struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	// Beat is when the process generating the job last said it was alive
	// (see Touch); zero until then.
	Beat time.Time `json:"beat,omitzero"`
	// Request is the accepted start request, kept so that a process other
	// than the one that accepted it can run the generation (see Claim).
	Request json.RawMessage `json:"request,omitempty"`
}

// ErrJobEnded is returned by Append and End when the job is no longer
// running: it completed, failed, or was aborted (possibly by another process).
var ErrJobEnded = errors.New("chat: job ended")

// Jobs holds generation jobs and their frames. In one process they live in
// memory; across processes in Redis Streams. Every implementation passes
// the suite in shared/chat/jobstest.
//
// Frames are numbered from 0 in the order they were appended; every reader
// sees the same frames in the same order. A job that ended stays readable
// until Remove, or until its retention passes (implementation-defined, at
// least a minute for jobs that ended in StatusError).
type Jobs interface {
	// Create registers a new running job. It fails with a KindConflict
	// error when a running job with the same id exists; an ended job with
	// the same id is replaced.
	Create(ctx context.Context, info JobInfo) error
	// Info fails with a KindNotFound error when there is no such job.
	Info(ctx context.Context, id string) (*JobInfo, error)
	// Claim reports true to exactly one caller for each job: the process
	// that will run its generation.
	Claim(ctx context.Context, id string) (bool, error)
	// Touch records that the generating process is alive at at (JobInfo.Beat),
	// or fails with ErrJobEnded when the job is no longer running.
	Touch(ctx context.Context, id string, at time.Time) error
	// Append adds a frame to a running job, or fails with ErrJobEnded.
	Append(ctx context.Context, id string, f Frame) error
	// End appends the frames and sets the final status in one step, only
	// if the job is running; otherwise it fails with ErrJobEnded.
	End(ctx context.Context, id, status string, frames ...Frame) error
	// Read calls fn with every frame from index from on, in order, waiting
	// for new frames until the job has ended and all its frames were passed
	// to fn, or ctx is done, or fn fails. It fails with KindNotFound when
	// there is no such job.
	Read(ctx context.Context, id string, from int, fn func(i int, f Frame) error) error
	// Len reports how many frames the job has now (KindNotFound when there
	// is no such job). Resuming readers fold frames [0, Len) into a
	// snapshot and then read live from Len.
	Len(ctx context.Context, id string) (int, error)
	// Active lists the ids of the user's running jobs.
	Active(ctx context.Context, userID string) ([]string, error)
	// Remove deletes a job; readers already waiting on it still get every
	// frame up to its end.
	Remove(ctx context.Context, id string) error
}
