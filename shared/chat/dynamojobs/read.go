package dynamojobs

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Read implements chat.Jobs. It reads the frames there are with strongly
// consistent Queries, then polls the job's INFO item for more: every
// PollMin after a frame arrived, doubling up to PollMax while none do. A
// change made by this process wakes it at once. Once the job has ended it
// reads the rest without polling.
func (j *Jobs) Read(ctx context.Context, id string, from int, fn func(i int, f chat.Frame) error) error {
	const op = "dynamojobs.Read"
	if from < 0 {
		return librechat.E(librechat.KindInvalid, "negative frame index")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Each wait watches for local changes from before the state it acts on
	// was read, so that no wake-up is missed.
	wake, release := j.local.watch(id)
	defer func() { release() }()
	it, err := j.info(ctx, id)
	if err != nil {
		return fail(ctx, op, err)
	}
	if it == nil {
		return notFound()
	}
	r := &reader{j: j, pk: jobPK(id), gen: getStr(it, aGen), next: int64(from), fn: fn}
	st := stateOf(it)
	delay := j.opt.PollMin
	var gapSince time.Time
	for {
		progress, done, err := r.pull(ctx, st)
		if r.fnErr != nil {
			return r.fnErr
		}
		if err != nil {
			return fail(ctx, op, err)
		}
		if done {
			return nil
		}
		if progress {
			delay, gapSince = j.opt.PollMin, time.Time{}
		} else {
			if r.next < int64(st.total()) {
				// A frame below the counter is not there yet: its Append
				// is between its two writes, or failed between them.
				if gapSince.IsZero() {
					gapSince = time.Now()
				} else if time.Since(gapSince) > j.opt.GapTimeout {
					return librechat.E(librechat.KindUnavailable, "frame %d of the generation job was never written", r.next)
				}
			}
			if err := r.wait(ctx, wake, delay); err != nil {
				return err
			}
			delay = min(2*delay, j.opt.PollMax)
		}
		release()
		wake, release = j.local.watch(id)
		if !st.ended {
			if st, err = r.state(ctx); err != nil {
				return fail(ctx, op, err)
			}
		}
	}
}

// reader follows the frames of one generation of a job.
type reader struct {
	j    *Jobs
	pk   string
	gen  string
	next int64 // index of the next frame to pass to fn
	fn   func(int, chat.Frame) error
	// fnErr is the error fn returned, passed to Read's caller unchanged.
	fnErr error
}

func (r *reader) wait(ctx context.Context, wake <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
		return nil
	case <-t.C:
		return nil
	}
}

// state re-reads the job. A job that vanished without the reader's
// generation having ended (it expired, or the tombstone of its removal
// did) is not found; a job replaced by a new generation tells where the
// reader's generation ended.
func (r *reader) state(ctx context.Context) (state, error) {
	it, err := r.j.get(ctx, r.pk, infoSK())
	if err != nil {
		return state{}, err
	}
	if !r.j.live(it) {
		return state{}, notFound()
	}
	if getStr(it, aGen) == r.gen {
		return stateOf(it), nil
	}
	if getStr(it, aPrevGen) == r.gen {
		return prevState(it), nil
	}
	return state{}, notFound()
}

// pull passes the frames from r.next that are there to fn, in order.
// done reports that the job ended and every frame was passed.
func (r *reader) pull(ctx context.Context, st state) (progress, done bool, err error) {
	if r.next < st.count {
		prefix := framePrefix(r.gen)
		qerr := r.j.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
			ExpressionAttributeNames: map[string]string{"#pk": aPK, "#sk": aSK},
			ExpressionAttributeValues: item{":pk": sv(r.pk), ":lo": sv(appendSK(r.gen, r.next)),
				":hi": sv(appendSK(r.gen, st.count-1) + "#~")},
		}, func(it item) bool {
			if getFlag(it, aPart) {
				return true
			}
			i, perr := strconv.ParseInt(strings.TrimPrefix(getStr(it, aSK), prefix), 10, 64)
			if perr != nil || i != r.next {
				return false // a gap: wait for the frame
			}
			if err = r.deliver(ctx, it); err != nil {
				return false
			}
			progress = true
			return true
		})
		if err == nil {
			err = qerr
		}
		if err != nil {
			return progress, false, err
		}
		if r.next < st.count {
			return progress, false, nil
		}
	}
	if !st.ended {
		return progress, false, nil
	}
	if st.endTok != "" && r.next < st.count+st.endN {
		prefix := endPrefix(r.gen, st.endTok)
		qerr := r.j.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :p)"),
			ExpressionAttributeNames:  map[string]string{"#pk": aPK, "#sk": aSK},
			ExpressionAttributeValues: item{":pk": sv(r.pk), ":p": sv(prefix)},
		}, func(it item) bool {
			if getFlag(it, aPart) {
				return true
			}
			k, perr := strconv.ParseInt(strings.TrimPrefix(getStr(it, aSK), prefix), 10, 64)
			if perr != nil {
				return false
			}
			switch i := st.count + k; {
			case i < r.next:
				return true
			case i > r.next:
				return false
			}
			if err = r.deliver(ctx, it); err != nil {
				return false
			}
			progress = true
			return true
		})
		if err == nil {
			err = qerr
		}
		if err != nil {
			return progress, false, err
		}
		if r.next < st.count+st.endN {
			return progress, false, nil
		}
	}
	return progress, true, nil
}

func (r *reader) deliver(ctx context.Context, it item) error {
	data, err := r.j.decode(ctx, it)
	if err != nil {
		return err
	}
	f := chat.Frame{Event: getStr(it, aEvent), Data: json.RawMessage(data)}
	if err := r.fn(int(r.next), f); err != nil {
		r.fnErr = err
		return err
	}
	r.next++
	return nil
}
