package wampfn

import (
	"reflect"
	"sync"
)

// A plan is the conversion work for one Go type, built once and cached.
// It is a pointer so that a recursive type can refer to its own plan while
// the plan is being built; fn is set before any call.
type plan[F any] struct {
	typ reflect.Type
	fn  F
}

// A planCache builds plans on first use and keeps the complete ones, in
// the way encoding/json caches its per-type field lists.
type planCache[F any] struct {
	done  sync.Map // reflect.Type -> *plan[F]
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
		return nil, err
	}
	for t, p := range b.building {
		c.done.Store(t, p)
	}
	return p, nil
}

// plan returns the plan for t, building it and the plans it needs.
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
		return nil, err
	}
	p.fn = fn
	return p, nil
}

// unsupportedTypeError says why a type cannot be converted.
type unsupportedTypeError struct {
	typ reflect.Type
	why string
}

func (e *unsupportedTypeError) Error() string { return e.why }

// structField is an exported field of a struct, or of a struct embedded
// in it, as encoding/json sees it.
type structField struct {
	name      string // the json tag name, else the Go name
	goName    string
	index     []int
	typ       reflect.Type
	omitEmpty bool
}

// structFields lists t's fields the way encoding/json does: the json tag
// names a field ("-" drops it), fields of embedded structs are promoted,
// and of two fields with one name the shallower wins.
func structFields(t reflect.Type) []structField {
	var out []structField
	seen := map[string]bool{}
	type level struct {
		typ   reflect.Type
		index []int
	}
	current := []level{{t, nil}}
	visited := map[reflect.Type]bool{}
	for len(current) > 0 {
		var next []level
		names := map[string]bool{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := 0; i < l.typ.NumField(); i++ {
				f := l.typ.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := cutComma(tag)
				index := append(append([]int(nil), l.index...), i)
				if f.Anonymous && name == "" {
					ft := f.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct {
						next = append(next, level{ft, index})
						continue
					}
				}
				if !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if seen[name] || names[name] {
					continue
				}
				names[name] = true
				out = append(out, structField{
					name: name, goName: f.Name, index: index, typ: f.Type,
					omitEmpty: opts == "omitempty" || hasOption(opts, "omitempty"),
				})
			}
		}
		for n := range names {
			seen[n] = true
		}
		current = next
	}
	return out
}

func cutComma(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = cutComma(opts)
		if o == want {
			return true
		}
	}
	return false
}
