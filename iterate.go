package wampfn

// Serving a call (stage 6): iterator results, a function that returns
// iter.Seq[T] or iter.Seq2[T, error] streams its elements as progressive
// results.

import (
	"context"
	"fmt"
	"iter"
	"reflect"
	"strconv"
	"strings"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// DefaultIteratorLimit is how many elements of an iterator result wampfn
// collects for a caller that did not ask for progressive results (see
// WithIteratorLimit).
const DefaultIteratorLimit = 10000

// iterKind says whether, and how, a procedure's result is an iterator.
type iterKind uint8

const (
	iterNone    iterKind = iota
	iterSeq              // iter.Seq[T]
	iterSeq2             // iter.Seq2[T, error]
	iterInvalid          // iter.Seq2[T, U], U not error: refused
)

// seqType reports whether t is an iter.Seq[T] or iter.Seq2[T, U], and
// returns T.
func seqType(t reflect.Type) (elem reflect.Type, kind iterKind, ok bool) {
	if t.Kind() != reflect.Func || t.PkgPath() != "iter" || t.NumIn() != 1 {
		return nil, iterNone, false
	}
	yield := t.In(0)
	switch {
	case strings.HasPrefix(t.Name(), "Seq2["):
		if yield.In(1) != errorType {
			return yield.In(0), iterInvalid, true
		}
		return yield.In(0), iterSeq2, true
	case strings.HasPrefix(t.Name(), "Seq["):
		return yield.In(0), iterSeq, true
	}
	return nil, iterNone, false
}

// iterate turns seq, the function's iterator result, into the call's
// result. A caller that asked for progress gets each element as a
// progressive result, then an empty final result; another caller gets
// one list of every element (at most p.iter.limit). Iteration stops when
// the call is cancelled, and at a Seq2 element's error, which is the
// call's outcome after the elements already sent.
func (p *procedure) iterate(ctx context.Context, c *client.Client, seq reflect.Value, wanted bool) (wamp.List, error) {
	var st *sinkState
	if wanted {
		st = newSinkState(ctx, c, true, p.iter.encode)
		defer st.finish()
	}
	var list wamp.List
	var err error
	n := 0
	each := func(v any, elemErr error) bool {
		switch {
		case elemErr != nil:
			err = elemErr
		case wanted:
			err = st.send(v)
		case n == p.iter.limit:
			err = fmt.Errorf("%s: the iterator has more than %d elements, the limit for a caller that did not ask for progressive results (WithIteratorLimit)", p.displayName(), p.iter.limit)
		case ctx.Err() != nil:
			err = ctx.Err()
		default:
			var args wamp.List
			if args, _, err = p.iter.encode(v); err != nil {
				err = encodeFailure("result element "+strconv.Itoa(n), err)
			} else {
				list = append(list, args[0])
			}
		}
		n++
		return err == nil
	}
	if !seq.IsNil() {
		rangeSeq(seq, p.iter.kind, each)
	}
	if ctx.Err() != nil {
		return nil, callCanceledError{ctx.Err()}
	}
	if err != nil {
		return nil, err
	}
	if wanted {
		return nil, nil
	}
	if list == nil {
		list = wamp.List{}
	}
	return wamp.List{list}, nil
}

// rangeSeq calls each for every element of seq, an iterator of kind, until
// each returns false. Iterators of the common element types run as they
// are; others through reflection, which costs a reflect call per element.
func rangeSeq(seq reflect.Value, kind iterKind, each func(any, error) bool) {
	f := seq.Interface()
	if seqDirect[int](f, each) || seqDirect[int64](f, each) || seqDirect[uint64](f, each) ||
		seqDirect[float64](f, each) || seqDirect[string](f, each) || seqDirect[bool](f, each) ||
		seqDirect[any](f, each) || seqDirect[wamp.Dict](f, each) {
		return
	}
	if kind == iterSeq {
		for v := range seq.Seq() {
			if !each(v.Interface(), nil) {
				return
			}
		}
		return
	}
	for v, e := range seq.Seq2() {
		var err error
		if !e.IsNil() {
			err = e.Interface().(error)
		}
		if !each(v.Interface(), err) {
			return
		}
	}
}

// seqDirect ranges over f when it is an iter.Seq[T] or iter.Seq2[T,
// error], and reports whether it was.
func seqDirect[T any](f any, each func(any, error) bool) bool {
	switch s := f.(type) {
	case iter.Seq[T]:
		for v := range s {
			if !each(v, nil) {
				break
			}
		}
		return true
	case iter.Seq2[T, error]:
		for v, err := range s {
			if !each(v, err) {
				break
			}
		}
		return true
	}
	return false
}
