package wampfn

// Serving and calling, at Register and Bind (stage 1): the conversion plans
// of Go types (decoders and encoders), built once per type and cached, and
// encoding/json's rules for a struct's keys.

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// A plan is the conversion work for one Go type, built once and cached.
// It is a pointer so that a recursive type can refer to its own plan while
// the plan is being built; fn, set and get are set before the plan is
// published.
type plan[F any] struct {
	typ reflect.Type
	fn  F
	// set is a decoder's fast path (see setFunc) and get an encoder's
	// (see getFunc), when its type has one.
	set setFunc
	get getFunc
	// structSet is set's structSetter, for a struct.
	structSet *structSetter
	// setDepth is how many levels of lists and dicts set reads: 0 for a
	// bool, string or number, 1 for a list of them or a struct of them,
	// and one more for each struct or list inside.
	setDepth int
}

// A planCache builds plans on first use and keeps the complete ones, in
// the way encoding/json caches its per-type field lists. A plan is
// published only when it and every plan it uses were built without error,
// so whether a type is accepted never depends on which types were asked
// for before it.
type planCache[F any] struct {
	done  sync.Map // reflect.Type -> *plan[F], each complete
	mu    sync.Mutex
	build func(t reflect.Type, b *planBuild[F]) (F, error)
}

// A planBuild holds the plans under construction in one get call.
type planBuild[F any] struct {
	cache    *planCache[F]
	building map[reflect.Type]*plan[F]
}

// get returns the plan for t.
func (c *planCache[F]) get(t reflect.Type) (*plan[F], error) {
	if p, ok := c.done.Load(t); ok {
		return p.(*plan[F]), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &planBuild[F]{cache: c, building: map[reflect.Type]*plan[F]{}}
	p, err := b.plan(t)
	if err != nil {
		// Plans that did build may refer to the one that failed: publish
		// none of them.
		return nil, err
	}
	for t, p := range b.building {
		c.done.Store(t, p)
	}
	return p, nil
}

// plan returns the plan for t, building it and the plans it needs. A
// build function must return every error of b.plan it gets: a plan that
// failed stays unfinished.
func (b *planBuild[F]) plan(t reflect.Type) (*plan[F], error) {
	if p, ok := b.cache.done.Load(t); ok {
		return p.(*plan[F]), nil
	}
	if p, ok := b.building[t]; ok {
		return p, nil
	}
	p := &plan[F]{typ: t}
	b.building[t] = p
	fn, err := b.cache.build(t, b)
	if err != nil {
		delete(b.building, t)
		return nil, err
	}
	p.fn = fn
	return p, nil
}

// unsupportedTypeError says why a type cannot be converted, naming it.
type unsupportedTypeError struct{ why string }

func (e *unsupportedTypeError) Error() string { return e.why }

// structField is a field of a struct, or of a struct embedded in it, that
// encoding/json would encode and decode.
type structField struct {
	name      string // the json tag name, else the Go name
	goName    string
	index     []int
	typ       reflect.Type
	tagged    bool // name comes from the json tag
	omitEmpty bool
	omitZero  bool
	quoted    bool // the ",string" option
}

// structFields lists t's fields the way encoding/json's typeFields does:
// the json tag names a field ("-" drops it); fields of embedded structs
// are promoted; of several fields with one name the shallowest wins, a
// tagged one winning over untagged ones at its depth, and when that leaves
// no single winner none of them is kept. It returns an error for a ",string"
// option on a field that encoding/json would silently not quote.
func structFields(t reflect.Type) ([]structField, error) {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var fields []structField
	next := []level{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := 0; i < l.typ.NumField(); i++ {
				sf := l.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := append(append(make([]int, 0, len(l.index)+1), l.index...), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := structField{
						name: name, goName: sf.Name, index: index, typ: sf.Type, tagged: name != "",
						omitEmpty: hasOption(opts, "omitempty"),
						omitZero:  hasOption(opts, "omitzero"),
					}
					if f.name == "" {
						f.name = sf.Name
					}
					if hasOption(opts, "string") {
						if ft.Implements(textMarshalerType) || reflect.PointerTo(ft).Implements(textUnmarshalerType) ||
							ft.Implements(errorType) || reflect.PointerTo(ft).Implements(errorType) {
							return nil, &unsupportedTypeError{fmt.Sprintf("field %s of %s: the json option \",string\" does not apply to %s, which has its own text form", sf.Name, t, sf.Type)}
						}
						switch ft.Kind() {
						case reflect.Bool,
							reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64, reflect.String:
							f.quoted = true
						default:
							return nil, &unsupportedTypeError{fmt.Sprintf("field %s of %s: the json option \",string\" applies only to bool, number and string fields, not %s", sf.Name, t, sf.Type)}
						}
					}
					fields = append(fields, f)
					if count[l.typ] > 1 {
						// The same struct embedded twice at this depth:
						// a duplicate makes its fields cancel out below.
						fields = append(fields, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
	}
	// Keep, for each name, the one dominant field, as encoding/json does.
	slices.SortFunc(fields, func(a, b structField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		if j-i == 1 || len(fields[i].index) != len(fields[i+1].index) || fields[i].tagged != fields[i+1].tagged {
			out = append(out, fields[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	return out, nil
}

// isValidTag is encoding/json's test of a json tag name: a name it does
// not accept leaves the field named by its Go name.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}
