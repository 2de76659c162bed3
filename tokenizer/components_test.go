package tokenizer

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSplitBehaviors checks the Split pre-tokenizer's behaviours on the
// example of Hugging Face tokenizers' documentation ("the-final--countdown"
// split on "-"). transformers.js treats all but Removed as Isolated; gosig
// follows Hugging Face for those.
func TestSplitBehaviors(t *testing.T) {
	want := map[string][]string{
		"Removed":            {"the", "final", "countdown"},
		"Isolated":           {"the", "-", "final", "-", "-", "countdown"},
		"MergedWithPrevious": {"the-", "final-", "-", "countdown"},
		"MergedWithNext":     {"the", "-final", "-", "-countdown"},
		"Contiguous":         {"the", "-", "final", "--", "countdown"},
	}
	for beh, w := range want {
		for _, pat := range []string{`{"String":"-"}`, `{"Regex":"-"}`} {
			p, err := parsePreTokenizer(json.RawMessage(`{"type":"Split","pattern":` + pat + `,"behavior":"` + beh + `","invert":false}`))
			require.NoError(t, err)
			assert.Equal(t, w, p.split(nil, "the-final--countdown", 0), "%s %s", beh, pat)
		}
	}
	p, err := parsePreTokenizer(json.RawMessage(`{"type":"Split","pattern":{"Regex":"[a-z]+"},"behavior":"Removed","invert":true}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"the", "final", "countdown"}, p.split(nil, "the-final--countdown", 0), "invert keeps the matches")
	_, err = parsePreTokenizer(json.RawMessage(`{"type":"Split","pattern":{"Regex":"(?=x)"},"behavior":"Isolated"}`))
	assert.ErrorContains(t, err, "RE2")
	_, err = parsePreTokenizer(json.RawMessage(`{"type":"Split","pattern":{"String":"-"},"behavior":"Sideways"}`))
	assert.Error(t, err)
}

func TestMetaspace(t *testing.T) {
	cases := []struct {
		cfg     string
		section int
		want    []string
	}{
		{`{"replacement":"▁","add_prefix_space":true}`, 0, []string{"▁hello▁big▁world"}},
		{`{"replacement":"▁","add_prefix_space":false}`, 0, []string{"hello▁big▁world"}},
		{`{"replacement":"▁","add_prefix_space":true,"prepend_scheme":"first"}`, 1, []string{"hello▁big▁world"}},
		{`{"replacement":"▁","add_prefix_space":true,"prepend_scheme":"first"}`, 0, []string{"▁hello▁big▁world"}},
		{`{"replacement":"▁","prepend_scheme":"never","split":true}`, 0, []string{"hello", "▁big", "▁world"}},
		{`{"replacement":"▁","prepend_scheme":"always","split":true}`, 0, []string{"▁hello", "▁big", "▁world"}},
	}
	for _, c := range cases {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(c.cfg), &m))
		m["type"] = "Metaspace"
		b, _ := json.Marshal(m)
		p, err := parsePreTokenizer(b)
		require.NoError(t, err)
		assert.Equal(t, c.want, p.split(nil, "hello big world", c.section), c.cfg)
	}
}

// TestAddedTokenFlags covers the flags transformers.js ignores, with Hugging
// Face's meaning: single_word matches only outside words, normalized tokens
// are matched after normalization; lstrip/rstrip eat neighbouring spaces.
func TestAddedTokenFlags(t *testing.T) {
	m := newAddedMatcher([]addedToken{
		{content: "<x>", id: 7, singleWord: true},
		{content: "[S]", id: 8, lstrip: true, rstrip: true},
	}, isJSSpace)
	secs := func(s string) []string {
		var out []string
		for _, sec := range m.split(nil, s) {
			if sec.tok >= 0 {
				out = append(out, "#"+m.tokens[sec.tok].content)
			} else if sec.text != "" { // stripped-away sections stay, empty
				out = append(out, sec.text)
			}
		}
		return out
	}
	assert.Equal(t, []string{"a ", "#<x>", " b"}, secs("a <x> b"))
	assert.Equal(t, []string{"a<x>b"}, secs("a<x>b"), "single_word inside a word")
	assert.Equal(t, []string{"a", "#[S]", "b"}, secs("a \t[S]\n b"))
	assert.Equal(t, []string{"#[S]", "#[S]"}, secs("[S] [S]"))

	// A normalized added token is found in the lowercased text.
	tokJSON := `{"added_tokens":[{"id":5,"content":"<tag>","normalized":true,"special":false}],
	"normalizer":{"type":"Lowercase"},"pre_tokenizer":null,"post_processor":null,"decoder":null,
	"model":{"type":"BPE","vocab":{"<":0,"t":1,"a":2,"g":3,">":4,"<tag>":5,"x":6},"merges":[]}}`
	tok, err := newFromJSON([]byte(tokJSON), &configs{})
	require.NoError(t, err)
	assert.Equal(t, []int{6, 5, 6}, tok.Encode("x<TAG>x"))
	assert.Equal(t, []int{6, 5, 6}, tok.Encode("x<tag>x"))
}

func TestMergeForms(t *testing.T) {
	// The same merges written both ways, plus JavaScript's split(" ", 2)
	// reading of a rule with two spaces and a rule without one.
	for _, merges := range []string{
		`["a b","ab c","x"]`,
		`[["a","b"],["ab","c"],["x"]]`,
		`["a b","ab c d","x"]`,
	} {
		tokJSON := `{"added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,
		"model":{"type":"BPE","unk_token":"<unk>","vocab":{"<unk>":0,"a":1,"b":2,"c":3,"ab":4,"abc":5},"merges":` + merges + `}}`
		tok, err := newFromJSON([]byte(tokJSON), &configs{})
		if merges == `[["a","b"],["ab","c"],["x"]]` {
			assert.Error(t, err, "a one-element pair is malformed")
			continue
		}
		require.NoError(t, err, merges)
		assert.Equal(t, []int{5, 1, 0}, tok.Encode("abcaz"), merges)
	}
}

func TestLowercase(t *testing.T) {
	for in, want := range map[string]string{
		"ΟΔΥΣΣΕΥΣ":   "οδυσσευς",
		"ΑΣ.":        "ας.",
		"Σ":          "σ",
		"ΑΣ'Σ":       "ασ'ς",
		"İstanbul":   "i̇stanbul",
		"ABC ǅ Ω":    "abc ǆ ω",
		"\xffAB":     "\xffab",
		"plain text": "plain text",
	} {
		assert.Equal(t, want, jsLower(in), in)
	}
}

func TestCanonicalize(t *testing.T) {
	assert.Equal(t, "a red circle on a blue background", canonicalize("  a red circle, on a blue\tbackground.  "))
	assert.Equal(t, "its a b", canonicalize("it's\u00a0a\u2003\u2003b!!!"))
	assert.Equal(t, "▁a", canonicalize("▁a"))
}

func TestDecodeLossy(t *testing.T) {
	for in, want := range map[string]string{
		"ok":               "ok",
		"\xe2\x82":         "\ufffd",       // truncated 3-byte sequence: one replacement
		"\xe2\x82\x41":     "\ufffdA",      // ... followed by ASCII
		"\xff\xfe":         "\ufffd\ufffd", // two invalid bytes
		"\xed\xa0\x80":     "\ufffd\ufffd\ufffd",
		"\xf0\x9f\x98\x80": "😀",
	} {
		assert.Equal(t, want, decodeLossy([]byte(in)), "%q", in)
	}
}
