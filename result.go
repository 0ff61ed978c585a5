package wampfn

// Serving a call (stage 6): Result, a function's exact Args and Kwargs.

import "github.com/gammazero/nexus/v3/wamp"

// Result sets a call's result arguments exactly. Returned by a function,
// it becomes the final YIELD's Args and Kwargs; sent on a
// ProgressSink[Result], one progressive YIELD's. Values in Args and Kwargs
// are converted as other results are.
type Result struct {
	Args   wamp.List
	Kwargs wamp.Dict
}

func (r Result) encode() (wamp.List, wamp.Dict, error) {
	args, err := encodeList(r.Args, 0)
	if err != nil {
		return nil, nil, err
	}
	kwargs, err := encodeDict(r.Kwargs, 0)
	if err != nil {
		return nil, nil, err
	}
	return args, kwargs, nil
}
