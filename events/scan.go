package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// This file reads the top level of a body by hand. scanObject validates
// the whole body (the JSON grammar as encoding/json accepts it, and
// MaxDepth) in one pass that allocates nothing but the member list, and
// returns the spans of the top-level members, so that Decode hands only
// the values it models to encoding/json, once each, and never builds a
// map of raw messages.

// member is one key/value pair of a JSON object, as spans of the body.
type member struct {
	rawKey []byte // the key as written, quotes included
	value  []byte // the value as written, without surrounding space
	kind   topKey // set by nameMembers
	// name is the key unescaped, set by nameMembers where it differs
	// from rawKey less its quotes.
	name    string
	escaped bool
}

// topKey is a top-level key that Decode models.
type topKey uint8

const (
	keyUnknown topKey = iota
	keyForUserID
	keyUserHasBlocked
	keyTweetCreate
	keyFavorite
	keyFollow
	keyBlock
	keyMute
	keyTweetDelete
	keyUserEvent
	keyReplayJobStatus
	keyDirectMessage
	keyDMIndicateTyping
	keyDMMarkRead
	keyUsers
	keyApps
	keyData // the X Activity API envelope; an unknown key otherwise
	numKeys
)

var keyNames = [numKeys]string{
	keyUnknown:          "",
	keyForUserID:        kindForUserID,
	keyUserHasBlocked:   kindUserHasBlocked,
	keyTweetCreate:      KindTweetCreate,
	keyFavorite:         KindFavorite,
	keyFollow:           KindFollow,
	keyBlock:            KindBlock,
	keyMute:             KindMute,
	keyTweetDelete:      KindTweetDelete,
	keyUserEvent:        KindUserEvent,
	keyReplayJobStatus:  KindReplayJobStatus,
	keyDirectMessage:    KindDirectMessage,
	keyDMIndicateTyping: KindDMIndicateTyping,
	keyDMMarkRead:       KindDMMarkRead,
	keyUsers:            kindUsers,
	keyApps:             kindApps,
	keyData:             "data",
}

func (k topKey) String() string { return keyNames[k] }

func lookupKey(name []byte) topKey {
	// The conversion in a switch does not allocate.
	switch string(name) {
	case kindForUserID:
		return keyForUserID
	case kindUserHasBlocked:
		return keyUserHasBlocked
	case KindTweetCreate:
		return keyTweetCreate
	case KindFavorite:
		return keyFavorite
	case KindFollow:
		return keyFollow
	case KindBlock:
		return keyBlock
	case KindMute:
		return keyMute
	case KindTweetDelete:
		return keyTweetDelete
	case KindUserEvent:
		return keyUserEvent
	case KindReplayJobStatus:
		return keyReplayJobStatus
	case KindDirectMessage:
		return keyDirectMessage
	case KindDMIndicateTyping:
		return keyDMIndicateTyping
	case KindDMMarkRead:
		return keyDMMarkRead
	case kindUsers:
		return keyUsers
	case kindApps:
		return keyApps
	case "data":
		return keyData
	}
	return keyUnknown
}

// nameMembers sets kind on each member. Keys are unescaped as
// encoding/json does for map keys.
func nameMembers(ms []member) error {
	for i := range ms {
		m := &ms[i]
		if inner, ok := plainString(m.rawKey); ok {
			m.kind = lookupKey(inner)
			continue
		}
		var name string // not &m.name, which would move ms to the heap
		if err := json.Unmarshal(m.rawKey, &name); err != nil {
			return err
		}
		m.name, m.escaped = name, true
		m.kind = lookupKey([]byte(m.name))
	}
	return nil
}

// keyString returns the key of m, unescaped.
func (m *member) keyString() string {
	if m.escaped {
		return m.name
	}
	return string(m.rawKey[1 : len(m.rawKey)-1])
}

// keyIs reports whether the key of m, unescaped, is name.
func (m *member) keyIs(name string) bool {
	if m.escaped {
		return m.name == name
	}
	return string(m.rawKey[1:len(m.rawKey)-1]) == name
}

// plainString returns the contents of the quoted JSON string q when they
// need no unescaping: printable ASCII without a backslash. Anything else
// (escapes, non-ASCII, which encoding/json checks for invalid UTF-8) is
// left to encoding/json.
func plainString(q []byte) ([]byte, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return nil, false
	}
	inner := q[1 : len(q)-1]
	for _, c := range inner {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return nil, false
		}
	}
	return inner, true
}

var errSyntax = errors.New("invalid JSON")

// objectMembers returns the members of raw, a JSON object or null (no
// members), as json.Unmarshal into a map would accept it.
func objectMembers(raw []byte) ([]member, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	ms, err := scanObject(raw, nil)
	if err != nil {
		if len(raw) == 0 || raw[0] != '{' {
			return nil, errors.New("not an object")
		}
		return nil, err
	}
	return ms, nameMembers(ms)
}

// scanObject checks that data is one JSON object, optionally surrounded
// by space, nested at most MaxDepth deep, and appends its members to ms.
// Its error says only where data went wrong; Decode asks checkShape why.
func scanObject(data []byte, ms []member) ([]member, error) {
	s := scanner{data: data}
	s.space()
	if s.i == len(data) || data[s.i] != '{' {
		return ms, s.fail()
	}
	ms, ok := s.object(ms, true)
	if !ok {
		return ms, s.fail()
	}
	s.space()
	if s.i != len(data) {
		return ms, s.fail()
	}
	return ms, nil
}

type scanner struct {
	data  []byte
	i     int // next byte to read
	depth int
}

func (s *scanner) fail() error {
	return fmt.Errorf("%w at offset %d", errSyntax, s.i)
}

func (s *scanner) space() {
	for s.i < len(s.data) && isSpace(s.data[s.i]) {
		s.i++
	}
}

// next skips space and reports whether the byte after it is c, consuming
// it if so.
func (s *scanner) next(c byte) bool {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads an object at s.i ('{'); with top it appends the members.
func (s *scanner) object(ms []member, top bool) ([]member, bool) {
	if s.depth++; s.depth > MaxDepth {
		return ms, false
	}
	s.i++ // '{'
	if s.next('}') {
		s.depth--
		return ms, true
	}
	for {
		s.space()
		start := s.i
		if s.i == len(s.data) || s.data[s.i] != '"' || !s.str() {
			return ms, false
		}
		key := s.data[start:s.i]
		if !s.next(':') {
			return ms, false
		}
		s.space()
		vstart := s.i
		if !s.value() {
			return ms, false
		}
		if top {
			ms = append(ms, member{rawKey: key, value: s.data[vstart:s.i]})
		}
		if s.next(',') {
			continue
		}
		if s.next('}') {
			s.depth--
			return ms, true
		}
		return ms, false
	}
}

func (s *scanner) array() bool {
	if s.depth++; s.depth > MaxDepth {
		return false
	}
	s.i++ // '['
	if s.next(']') {
		s.depth--
		return true
	}
	for {
		s.space()
		if !s.value() {
			return false
		}
		if s.next(',') {
			continue
		}
		if s.next(']') {
			s.depth--
			return true
		}
		return false
	}
}

// value reads one value at s.i, space already skipped.
func (s *scanner) value() bool {
	if s.i == len(s.data) {
		return false
	}
	switch c := s.data[s.i]; {
	case c == '{':
		_, ok := s.object(nil, false)
		return ok
	case c == '[':
		return s.array()
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

func (s *scanner) literal(word string) bool {
	if len(s.data)-s.i < len(word) || string(s.data[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// str reads a string at s.i ('"'). Bytes of 0x80 and up are not checked:
// encoding/json accepts invalid UTF-8 in strings too.
func (s *scanner) str() bool {
	d := s.data
	i := s.i + 1
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 == len(d) {
				return false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(d)-i < 6 || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
		default:
			i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s.i.
func (s *scanner) number() bool {
	d := s.data
	i := s.i
	if d[i] == '-' {
		i++
	}
	switch {
	case i == len(d):
		return false
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}
