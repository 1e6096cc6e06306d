package pickle

// memo is the unpickler's memo: dense indexes (what every pickler writes)
// live in a slice, sparse ones in a map. Len counts entries, as _pickle's
// memo_len does, because MEMOIZE stores at that index.
type memo struct {
	dense  []Value
	sparse map[int64]Value
	n      int
}

func (m *memo) get(idx int64) (Value, bool) {
	if idx >= 0 && idx < int64(len(m.dense)) {
		v := m.dense[idx]
		return v, v != nil
	}
	v, ok := m.sparse[idx]
	return v, ok
}

// put stores v at idx and reports whether idx was a new entry.
func (m *memo) put(idx int64, v Value) bool {
	if idx >= 0 && idx < int64(len(m.dense)) {
		isNew := m.dense[idx] == nil
		m.dense[idx] = v
		if isNew {
			m.n++
		}
		return isNew
	}
	if idx == int64(len(m.dense)) && m.sparse[idx] == nil {
		m.dense = append(m.dense, v)
		m.n++
		return true
	}
	if m.sparse == nil {
		m.sparse = map[int64]Value{}
	}
	_, old := m.sparse[idx]
	m.sparse[idx] = v
	if !old {
		m.n++
	}
	return !old
}

func (m *memo) has(idx int64) bool {
	_, ok := m.get(idx)
	return ok
}

func (m *memo) reset() {
	clear(m.dense)
	m.dense = m.dense[:0]
	m.sparse = nil
	m.n = 0
}
