package filter

import (
	"time"
	"unicode/utf8"
)

// Job.MarshalJSON writes the queue message by hand, with appends into one
// buffer sized for the message: json.Marshal of the wire struct spent its
// time on reflection, an encodeState and a copy of the result, on the
// webhook's hot path. The bytes are those json.Marshal(jobWire) writes:
// TestJobJSONMatchesMarshal and FuzzJobJSON hold the two together.

// jsonHex is the digits of a \u00XX escape, lower case as encoding/json
// writes them.
const jsonHex = "0123456789abcdef"

// appendJSON appends the JSON form of j (see Job) to b.
func (j Job) appendJSON(b []byte) []byte {
	b = append(b, `{"msg_type":`...)
	b = appendJSONString(b, string(j.MsgType))
	b = append(b, `,"respond_id":`...)
	b = appendJSONString(b, j.RespondID)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, j.Text)
	b = append(b, `,"user_id":`...)
	b = appendJSONString(b, j.UserID)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, j.ID)
	b = append(b, `,"command":`...)
	b = appendJSONString(b, j.Command)
	b = append(b, `,"args":`...)
	b = appendJSONString(b, j.Args)
	b = append(b, `,"for_user_id":`...)
	b = appendJSONString(b, j.ForUserID)
	b = append(b, `,"screen_name":`...)
	b = appendJSONString(b, j.ScreenName)
	if !j.ReceivedAt.IsZero() {
		// RFC 3339 is digits, '-', ':', 'T', 'Z' and perhaps a sign:
		// nothing that needs escaping.
		b = append(b, `,"received_at":"`...)
		b = j.ReceivedAt.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	return append(b, '}')
}

// jsonSize is a size for the buffer of j's JSON form: exact when no field
// needs escapes.
func (j Job) jsonSize() int {
	const fixed = len(`{"msg_type":"","respond_id":"","text":"","user_id":"","id":"","command":"",` +
		`"args":"","for_user_id":"","screen_name":"","received_at":"2006-01-02T15:04:05Z"}`)
	return fixed + len(j.MsgType) + len(j.RespondID) + len(j.Text) + len(j.UserID) + len(j.ID) +
		len(j.Command) + len(j.Args) + len(j.ForUserID) + len(j.ScreenName)
}

// appendJSONString appends s as a JSON string the way json.Marshal writes
// one: '"', '\\' and the control characters escaped (\b \f \n \r \t by
// name, the others as \u00XX); '<', '>' and '&' as \u003c, \u003e and
// \u0026; U+2028 and U+2029 as \u2028 and \u2029; each byte of invalid
// UTF-8 as \ufffd; everything else as it is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}
