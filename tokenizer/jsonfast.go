package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The vocabulary and merges of a 256k-token tokenizer.json are 17 MB of JSON
// in two shapes only: an object of string to integer and an array of strings
// (or of string pairs). jsonScanner reads exactly those shapes about ten times
// faster than encoding/json into a map; everything else in the file goes
// through encoding/json.
type jsonScanner struct {
	b   []byte
	off int
	// view, when set, holds the same bytes as b: strings without escapes
	// are then returned as substrings of it instead of new allocations.
	view string
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.off, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) ws() {
	for s.off < len(s.b) {
		switch s.b[s.off] {
		case ' ', '\t', '\n', '\r':
			s.off++
		default:
			return
		}
	}
}

// expect consumes c after optional whitespace.
func (s *jsonScanner) expect(c byte) error {
	s.ws()
	if s.off >= len(s.b) || s.b[s.off] != c {
		if s.off >= len(s.b) {
			return s.errorf("want %q, found end of input", c)
		}
		return s.errorf("want %q, found %q", c, s.b[s.off])
	}
	s.off++
	return nil
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.off >= len(s.b) {
		return 0
	}
	return s.b[s.off]
}

// str reads a JSON string.
func (s *jsonScanner) str() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start := s.off
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.off = i + 1
			raw := s.b[start:i]
			if utf8.Valid(raw) {
				if s.view != "" {
					return s.view[start:i], nil
				}
				return string(raw), nil
			}
			return string([]rune(string(raw))), nil // invalid bytes become U+FFFD
		case c == '\\':
			return s.slowStr(start)
		case c < 0x20:
			s.off = i
			return "", s.errorf("control character %#x in string", c)
		}
	}
	s.off = len(s.b)
	return "", s.errorf("unterminated string")
}

// slowStr decodes a string that has escapes, starting just after its quote.
func (s *jsonScanner) slowStr(start int) (string, error) {
	out := make([]byte, 0, 16)
	i := start
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.off = i + 1
			return string([]rune(string(out))), nil
		case c < 0x20:
			s.off = i
			return "", s.errorf("control character %#x in string", c)
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.b) {
			break
		}
		e := s.b[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.b, i)
			if !ok {
				s.off = i
				return "", s.errorf("bad \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+6 <= len(s.b) && s.b[i] == '\\' && s.b[i+1] == 'u' {
					r2, ok2 = hex4(s.b, i+2)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError // lone surrogate, as encoding/json does
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.off = i - 1
			return "", s.errorf("bad escape \\%c", e)
		}
	}
	s.off = len(s.b)
	return "", s.errorf("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// integer reads a JSON number that must be an integer fitting in int32.
func (s *jsonScanner) integer() (int32, error) {
	s.ws()
	start := s.off
	for s.off < len(s.b) {
		c := s.b[s.off]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		s.off++
	}
	v, err := strconv.ParseInt(string(s.b[start:s.off]), 10, 32)
	if err != nil {
		s.off = start
		return 0, s.errorf("want an int32 token id, found %q", s.b[start:s.off+min(10, len(s.b)-s.off)])
	}
	return int32(v), nil
}

// each calls fn for every element of the array or object that starts here
// (open is '[' or '{'), consuming the brackets and separators.
func (s *jsonScanner) each(open, close byte, what string, fn func() error) error {
	if err := s.expect(open); err != nil {
		return err
	}
	if s.peek() == close {
		s.off++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.off++
		case close:
			s.off++
			return nil
		default:
			return s.errorf("want ',' or '%c' in %s", close, what)
		}
	}
}

// key reads an object key and its colon.
func (s *jsonScanner) key() (string, error) {
	k, err := s.str()
	if err != nil {
		return "", err
	}
	return k, s.expect(':')
}

// parseVocab reads a JSON object mapping pieces to ids.
func parseVocab(b []byte) (map[string]int32, error) {
	s := &jsonScanner{b: b}
	vocab := make(map[string]int32, len(b)/16)
	err := s.each('{', '}', "the vocab object", func() error {
		k, err := s.key()
		if err != nil {
			return err
		}
		v, err := s.integer()
		vocab[k] = v
		return err
	})
	return vocab, err
}

// mergePair is one merge rule; its strings may share memory with the file.
type mergePair struct{ a, b string }

// parseMerges reads the merges array in either of its forms, in order. A
// "a b" string splits like JavaScript's split(" ", 2): at the first space,
// the right part ending at the next one; a string without a space is kept
// as a rule that never applies. The returned strings are substrings of one
// copy of b.
func parseMerges(b []byte) ([]mergePair, error) {
	s := &jsonScanner{b: b, view: string(b)}
	out := make([]mergePair, 0, len(b)/16)
	err := s.each('[', ']', "the merges array", func() error {
		if s.peek() == '[' {
			var pair []string
			err := s.each('[', ']', "a merge pair", func() error {
				x, err := s.str()
				pair = append(pair, x)
				return err
			})
			if err == nil && len(pair) != 2 {
				err = s.errorf("a merge pair has %d strings, want 2", len(pair))
			}
			if err != nil {
				return err
			}
			out = append(out, mergePair{pair[0], pair[1]})
			return nil
		}
		if s.peek() != '"' {
			return s.errorf("want a merge as \"a b\" or [\"a\", \"b\"]")
		}
		m, err := s.str()
		if err != nil {
			return err
		}
		a, rest, ok := cutByte(m, ' ')
		if !ok {
			out = append(out, mergePair{}) // never matches: no symbol is ""
			return nil
		}
		bpart, _, _ := cutByte(rest, ' ')
		out = append(out, mergePair{a, bpart})
		return nil
	})
	return out, err
}

func cutByte(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// jsonNull reports whether a raw JSON value is absent or null.
func jsonNull(raw json.RawMessage) bool {
	s := &jsonScanner{b: raw}
	return s.peek() == 0 || string(raw[s.off:min(len(raw), s.off+4)]) == "null"
}

// skipValue moves past one JSON value, checking only the structure that
// finding its end needs; the values gosig uses are parsed strictly later.
func (s *jsonScanner) skipValue() error {
	s.ws()
	if s.off >= len(s.b) {
		return s.errorf("want a value, found end of input")
	}
	depth := 0
	for s.off < len(s.b) {
		switch c := s.b[s.off]; c {
		case '"':
			s.off++
			for s.off < len(s.b) && s.b[s.off] != '"' {
				if s.b[s.off] == '\\' {
					s.off++
				}
				s.off++
			}
			if s.off >= len(s.b) {
				return s.errorf("unterminated string")
			}
			s.off++
		case '{', '[':
			depth++
			s.off++
		case '}', ']':
			if depth == 0 {
				return nil // the end of an enclosing container
			}
			depth--
			s.off++
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 && c != ':' {
				return nil
			}
			s.off++
		default:
			s.off++
		}
		if depth == 0 && s.off > 0 {
			// A scalar ends at a delimiter; a string or container just ended.
			if c := s.b[s.off-1]; c == '"' || c == '}' || c == ']' {
				return nil
			}
		}
	}
	if depth != 0 {
		return s.errorf("unterminated object or array")
	}
	return nil
}

// objectFields splits a JSON object into its fields' raw values (the last of
// repeated keys wins, as in encoding/json).
func objectFields(b []byte) (map[string]json.RawMessage, error) {
	s := &jsonScanner{b: b}
	out := map[string]json.RawMessage{}
	err := s.each('{', '}', "an object", func() error {
		k, err := s.key()
		if err != nil {
			return err
		}
		s.ws()
		start := s.off
		if err := s.skipValue(); err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
		out[k] = b[start:s.off]
		return nil
	})
	return out, err
}
