package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// Load reads a tokenizer from path: a checkpoint folder, a tokenizer.json, or
// a SentencePiece .model file. A folder's tokenizer.json is preferred over its
// tokenizer.model or spiece.model, except for SiglipTokenizer checkpoints,
// whose conventions need the SentencePiece model. The tokenizer_config.json,
// special_tokens_map.json and config.json beside the file, when present, supply
// the special tokens, BOS/EOS conventions, model_max_length and whether to
// lowercase (on for model_type "siglip2" and for do_lower_case).
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	dir, file := path, ""
	if !st.IsDir() {
		dir, file = filepath.Dir(path), path
	}
	cfg, err := readConfigs(dir)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer from %s: %w", dir, err)
	}
	if file == "" {
		names := []string{"tokenizer.json", "tokenizer.model", "spiece.model"}
		if strings.Contains(cfg.class, "Siglip") {
			// SiglipTokenizer has no fast version: its conventions live in
			// the SentencePiece path, so a stray tokenizer.json is ignored.
			names = []string{"spiece.model", "tokenizer.model", "tokenizer.json"}
		}
		for _, name := range names {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				file = filepath.Join(dir, name)
				break
			}
		}
		if file == "" {
			return nil, fmt.Errorf("load tokenizer: %s has no tokenizer.json, tokenizer.model or spiece.model", dir)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	var t *Tokenizer
	if strings.HasSuffix(file, ".json") {
		t, err = newFromJSON(b, cfg)
	} else {
		t, err = newFromSPM(b, cfg, filepath.Base(file))
	}
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", file, err)
	}
	t.source = file
	return t, nil
}

// configs gathers what tokenizer_config.json, special_tokens_map.json and
// config.json say about tokenization.
type configs struct {
	class        string
	addBOS       *bool
	addEOS       *bool
	lower        *bool
	cleanSpaces  *bool
	maxLength    int
	tokens       map[string]string // role (bos_token, eos_token, ...) -> content
	additional   []string
	addedByID    map[int32]addedToken
	modelType    string
	hasTokConfig bool
}

type jsonAddedToken struct {
	ID         *int32 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

func (j jsonAddedToken) token(id int32) addedToken {
	return addedToken{content: j.Content, id: id, special: j.Special, lstrip: j.Lstrip, rstrip: j.Rstrip,
		normalized: j.Normalized != nil && *j.Normalized, singleWord: j.SingleWord}
}

// tokenString reads a special-token entry, a string or an AddedToken object.
func tokenString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != nil {
		return *obj.Content, true
	}
	return "", false
}

func readJSONFile(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

var tokenRoles = []string{"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"}

func readConfigs(dir string) (*configs, error) {
	c := &configs{tokens: map[string]string{}, addedByID: map[int32]addedToken{}}
	var stm map[string]json.RawMessage
	if _, err := readJSONFile(filepath.Join(dir, "special_tokens_map.json"), &stm); err != nil {
		return nil, err
	}
	var tc map[string]json.RawMessage
	ok, err := readJSONFile(filepath.Join(dir, "tokenizer_config.json"), &tc)
	if err != nil {
		return nil, err
	}
	c.hasTokConfig = ok
	// tokenizer_config.json wins over special_tokens_map.json.
	for _, m := range []map[string]json.RawMessage{stm, tc} {
		for _, role := range tokenRoles {
			if raw, ok := m[role]; ok {
				if s, ok := tokenString(raw); ok {
					c.tokens[role] = s
				}
			}
		}
		if raw, ok := m["additional_special_tokens"]; ok {
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) == nil {
				c.additional = c.additional[:0]
				for _, r := range list {
					if s, ok := tokenString(r); ok {
						c.additional = append(c.additional, s)
					}
				}
			}
		}
	}
	boolField := func(key string) (*bool, error) {
		raw, ok := tc[key]
		if !ok || string(raw) == "null" {
			return nil, nil
		}
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json %s: want true or false, found %s", key, raw)
		}
		return &v, nil
	}
	if c.addBOS, err = boolField("add_bos_token"); err != nil {
		return nil, err
	}
	if c.addEOS, err = boolField("add_eos_token"); err != nil {
		return nil, err
	}
	if c.lower, err = boolField("do_lower_case"); err != nil {
		return nil, err
	}
	if c.cleanSpaces, err = boolField("clean_up_tokenization_spaces"); err != nil {
		return nil, err
	}
	if raw, ok := tc["tokenizer_class"]; ok {
		_ = json.Unmarshal(raw, &c.class)
	}
	if raw, ok := tc["model_max_length"]; ok {
		// Often 1e30 ("no limit"); only a sane value counts.
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil && f > 0 && f <= 1<<20 {
			c.maxLength = int(f)
		}
	}
	if raw, ok := tc["added_tokens_decoder"]; ok {
		var m map[string]jsonAddedToken
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json added_tokens_decoder: %w", err)
		}
		for k, v := range m {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("tokenizer_config.json added_tokens_decoder: key %q is not a token id", k)
			}
			c.addedByID[int32(id)] = v.token(int32(id))
		}
	}
	var mc struct {
		ModelType string `json:"model_type"`
	}
	if _, err := readJSONFile(filepath.Join(dir, "config.json"), &mc); err != nil {
		return nil, err
	}
	c.modelType = mc.ModelType
	return c, nil
}

// defaultLower: SigLIP 2 checkpoints and tokenizers that ask for it.
func (c *configs) defaultLower() bool {
	return c.modelType == "siglip2" || (c.lower != nil && *c.lower)
}

type jsonTokenizerFile struct {
	AddedTokens   []jsonAddedToken `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         struct {
		Type                    string          `json:"type"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		ByteFallback            bool            `json:"byte_fallback"`
		FuseUnk                 bool            `json:"fuse_unk"`
		IgnoreMerges            bool            `json:"ignore_merges"`
		Dropout                 *float64        `json:"dropout"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	} `json:"model"`
	Padding *struct {
		PadID *int `json:"pad_id"`
	} `json:"padding"`
}

// decodeTokenizerFile reads tokenizer.json. encoding/json would scan the 17
// MB of a 256k vocabulary twice before parseVocab and parseMerges read it, so
// the file is split into fields by hand and only the small ones go through
// encoding/json.
func decodeTokenizerFile(b []byte) (*jsonTokenizerFile, error) {
	top, err := objectFields(b)
	if err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	model, ok := top["model"]
	if !ok {
		return nil, errors.New("no \"model\" field")
	}
	mf, err := objectFields(model)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	f := &jsonTokenizerFile{Normalizer: top["normalizer"], PreTokenizer: top["pre_tokenizer"],
		PostProcessor: top["post_processor"], Decoder: top["decoder"]}
	f.Model.Vocab, f.Model.Merges = mf["vocab"], mf["merges"]
	delete(top, "model")
	delete(mf, "vocab")
	delete(mf, "merges")
	small, err := json.Marshal(map[string]any{"added_tokens": top["added_tokens"], "padding": top["padding"], "model": mf})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(small, f); err != nil {
		return nil, err
	}
	return f, nil
}

func newFromJSON(b []byte, cfg *configs) (*Tokenizer, error) {
	f, err := decodeTokenizerFile(b)
	if err != nil {
		return nil, err
	}
	m := &f.Model
	if m.Type != "BPE" && m.Type != "" {
		return nil, fmt.Errorf("model type %q is not supported; gosig reads BPE tokenizer.json files (for Unigram, load the SentencePiece .model)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, fmt.Errorf("BPE dropout %g makes encoding random; set it to null", *m.Dropout)
	}
	if (m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") || (m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") {
		return nil, errors.New("BPE continuing_subword_prefix / end_of_word_suffix are not supported")
	}
	vocab, err := parseVocab(m.Vocab)
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	t := &Tokenizer{flavor: flavorJSON, special: map[int32]bool{}, bosID: -1, eosID: -1, padID: -1, unkID: -1}
	bpe := &bpeModel{ids: vocab, extra: map[string]int32{}, unkID: -1, byteFallback: m.ByteFallback,
		fuseUnk: m.FuseUnk, ignoreMerges: m.IgnoreMerges, cache: map[string][]int32{},
		runeSym: make([]atomic.Int32, 0x10000)}
	maxID := int32(-1)
	for _, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab has negative id %d", id)
		}
		maxID = max(maxID, id)
	}
	// Added tokens join the same map (transformers.js does so), overriding.
	var rawAdded, normAdded []addedToken
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 {
			return nil, fmt.Errorf("added_tokens[%d] %q has no valid id", i, a.Content)
		}
		tok := a.token(*a.ID)
		vocab[a.Content] = tok.id
		maxID = max(maxID, tok.id)
		if tok.normalized && !tok.special {
			normAdded = append(normAdded, tok)
		} else {
			rawAdded = append(rawAdded, tok)
		}
		if tok.special {
			t.special[tok.id] = true
		}
	}
	if n := len(vocab) + len(f.AddedTokens); int(maxID) >= 2*n+1024 {
		return nil, fmt.Errorf("token id %d is far beyond the %d tokens defined; ids must be dense", maxID, n)
	}
	bpe.nReal = maxID + 1
	if m.UnkToken != nil {
		if id, ok := vocab[*m.UnkToken]; ok {
			bpe.unkID = id
		}
	}
	for i := range bpe.byteIDs {
		bpe.byteIDs[i] = -1
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", i)]; ok {
			bpe.byteIDs[i] = id
		}
	}
	pairs, err := parseMerges(m.Merges)
	if err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	bpe.buildMerges(pairs)
	t.bpe = bpe

	t.vocab = make([]string, bpe.nReal)
	for s, id := range vocab {
		t.vocab[id] = s
	}
	if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if t.decoder, err = parseDecoder(f.Decoder); err != nil {
		return nil, err
	}
	t.added = newAddedMatcher(rawAdded, isJSSpace)
	t.normAdded = newAddedMatcher(normAdded, isJSSpace)

	lookup := func(role string) int {
		if s, ok := cfg.tokens[role]; ok {
			if id, ok := vocab[s]; ok {
				return int(id)
			}
		}
		return -1
	}
	t.bosID, t.eosID, t.unkID = lookup("bos_token"), lookup("eos_token"), int(bpe.unkID)
	t.padID = lookup("pad_token")
	if t.padID < 0 && f.Padding != nil && f.Padding.PadID != nil {
		t.padID = *f.Padding.PadID
	}
	if t.padID < 0 {
		t.padID = t.eosID // transformers.js: pad_token falls back to eos_token
	}
	for _, s := range cfg.additional {
		if id, ok := vocab[s]; ok {
			t.special[id] = true
		}
	}
	if t.prefix, t.suffix, err = parseTemplate(f.PostProcessor, vocab); err != nil {
		return nil, err
	}
	// GemmaTokenizerFast and LlamaTokenizerFast rebuild the template from
	// add_bos_token / add_eos_token when they load.
	if strings.Contains(cfg.class, "Gemma") || strings.Contains(cfg.class, "Llama") {
		if cfg.addBOS != nil || cfg.addEOS != nil {
			if err := t.setBOSEOS(cfg); err != nil {
				return nil, err
			}
		}
	}
	t.cleanSpaces = cfg.cleanSpaces == nil || *cfg.cleanSpaces // transformers.js defaults to true
	t.maxLength = cfg.maxLength
	t.lower = cfg.defaultLower()
	return t, nil
}

// parseTemplate reads a TemplateProcessing post-processor's single-sequence
// template into the ids before and after the sequence.
func parseTemplate(raw json.RawMessage, vocab map[string]int32) (prefix, suffix []int32, err error) {
	if jsonNull(raw) {
		return nil, nil, nil
	}
	var p struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	switch p.Type {
	case "TemplateProcessing":
	case "ByteLevel":
		return nil, nil, nil // changes offsets only
	default:
		return nil, nil, fmt.Errorf("post_processor type %q is not supported (supported: TemplateProcessing)", p.Type)
	}
	seen := false
	for _, item := range p.Single {
		switch {
		case item.Sequence != nil:
			if seen {
				return nil, nil, errors.New("post_processor: single template has two sequences")
			}
			seen = true
		case item.SpecialToken != nil:
			var ids []int32
			if st, ok := p.SpecialTokens[item.SpecialToken.ID]; ok && len(st.IDs) > 0 {
				ids = st.IDs
			} else if id, ok := vocab[item.SpecialToken.ID]; ok {
				ids = []int32{id}
			} else {
				return nil, nil, fmt.Errorf("post_processor: special token %q is not in the vocabulary", item.SpecialToken.ID)
			}
			if seen {
				suffix = append(suffix, ids...)
			} else {
				prefix = append(prefix, ids...)
			}
		}
	}
	return prefix, suffix, nil
}

func newFromSPM(b []byte, cfg *configs, name string) (*Tokenizer, error) {
	p, err := parseSPMModel(b)
	if err != nil {
		return nil, err
	}
	siglip := strings.Contains(cfg.class, "Siglip") || (cfg.class == "" && name == "spiece.model")
	if siglip {
		// SiglipTokenizer loads the model with add_dummy_prefix forced off.
		p.dummyPrefix = false
	}
	m, err := newSPMModel(p)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{flavor: flavorSPM, spm: m, special: map[int32]bool{}, spaceID: -1,
		bosID: -1, eosID: -1, padID: -1, unkID: int(m.unkID), maxLength: cfg.maxLength}
	t.vocab = make([]string, len(p.pieces))
	for i, sp := range p.pieces {
		t.vocab[i] = sp.piece
	}
	// Without a config, the roles are the pieces trainer_spec names.
	defaults := map[string]string{}
	for role, id := range map[string]int{"bos_token": p.bosID, "eos_token": p.eosID, "unk_token": p.unkID, "pad_token": p.padID} {
		if id >= 0 && id < len(p.pieces) {
			defaults[role] = p.pieces[id].piece
		}
	}
	if siglip {
		t.flavor = flavorSiglip
		defaults = map[string]string{"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>"}
	}
	roleID := map[string]int{}
	for _, role := range tokenRoles {
		s, ok := cfg.tokens[role]
		if !ok {
			s, ok = defaults[role]
		}
		if !ok {
			roleID[role] = -1
			continue
		}
		if role == "bos_token" && siglip {
			roleID[role] = -1
			continue
		}
		id := m.pieceToID(s)
		if id == m.unkID && s != p.pieces[m.unkID].piece {
			if _, ok := cfg.tokens[role]; ok {
				return nil, fmt.Errorf("%s %q is not a piece of the model", role, s)
			}
			id = -1
		}
		roleID[role] = int(id)
	}
	t.bosID, t.eosID, t.padID = roleID["bos_token"], roleID["eos_token"], roleID["pad_token"]

	// Added tokens: tokenizer_config.json's added_tokens_decoder, else the
	// special tokens themselves (the slow tokenizers add them so).
	var added []addedToken
	if len(cfg.addedByID) > 0 {
		for _, a := range cfg.addedByID {
			added = append(added, a)
		}
	} else {
		for _, role := range tokenRoles {
			if id := roleID[role]; id >= 0 {
				a := addedToken{content: p.pieces[id].piece, id: int32(id), special: true}
				if siglip {
					a.lstrip, a.rstrip = true, true
				}
				added = append(added, a)
			}
		}
	}
	for _, s := range cfg.additional {
		if id := m.pieceToID(s); id != m.unkID || s == p.pieces[m.unkID].piece {
			added = append(added, addedToken{content: s, id: id, special: true})
		}
	}
	added = dedupeAdded(added)
	for _, a := range added {
		if a.special {
			t.special[a.id] = true
		}
	}
	if siglip {
		t.added = newAddedMatcher(added, isPySpace)
		if t.eosID < 0 {
			return nil, errors.New("SiglipTokenizer needs an eos_token piece (</s>)")
		}
		t.suffix = []int32{int32(t.eosID)}
		t.eosIfNot = true
		t.unkLen = len(m.encode(nil, "<unk>"))
		if id, ok := m.pieces[spaceSymbol]; ok {
			t.spaceID = id
		}
		t.lower = cfg.lower == nil || *cfg.lower // SiglipTokenizer defaults to do_lower_case=True
		if cfg.modelType == "siglip2" {
			t.lower = true
		}
		return t, nil
	}
	t.added = newAddedMatcher(added, isPySpace)
	if err := t.setBOSEOS(cfg); err != nil {
		return nil, err
	}
	t.lower = cfg.defaultLower()
	return t, nil
}

// dedupeAdded keeps one token per content (the first) in a stable order.
func dedupeAdded(in []addedToken) []addedToken {
	sort.SliceStable(in, func(i, j int) bool { return in[i].id < in[j].id })
	seen := map[string]bool{}
	out := in[:0]
	for _, a := range in {
		if a.content == "" || seen[a.content] {
			continue
		}
		seen[a.content] = true
		out = append(out, a)
	}
	return out
}

// setBOSEOS sets the special ids around a sequence the way GemmaTokenizer
// (slow and fast) does: BOS unless add_bos_token is false (when the
// vocabulary has one), EOS only when add_eos_token is true.
func (t *Tokenizer) setBOSEOS(cfg *configs) error {
	t.prefix, t.suffix = nil, nil
	if (cfg.addBOS == nil && t.bosID >= 0) || (cfg.addBOS != nil && *cfg.addBOS) {
		if t.bosID < 0 {
			return errors.New("add_bos_token is true but there is no bos_token in the vocabulary; set it false in tokenizer_config.json")
		}
		t.prefix = []int32{int32(t.bosID)}
	}
	if cfg.addEOS != nil && *cfg.addEOS {
		if t.eosID < 0 {
			return errors.New("add_eos_token is true but there is no eos_token in the vocabulary")
		}
		t.suffix = []int32{int32(t.eosID)}
	}
	return nil
}
