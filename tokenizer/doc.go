// Package tokenizer turns text into the token ids that SigLIP and SigLIP 2
// checkpoints expect, and back.
//
// Load reads a checkpoint folder (or one file) in either of the formats
// Hugging Face publishes:
//
//   - tokenizer.json with a BPE model (Gemma's 256k vocabulary for SigLIP 2):
//     added tokens matched first, then the normalizers (Sequence, Replace,
//     Lowercase, NFC/NFD/NFKC/NFKD, Strip, StripAccents, Prepend), the
//     pre-tokenizers (Split, Metaspace, Sequence), BPE merges by rank with
//     byte fallback and unknown-token fusion, and a TemplateProcessing
//     post-processor. Ids equal transformers.js 3.7.2's on the test corpus.
//     Where transformers.js ignores a field that changes the result (Split
//     behaviours other than Isolated and Removed, Metaspace's split, the
//     single_word and normalized flags of added tokens), gosig does what
//     Hugging Face tokenizers does.
//   - a SentencePiece tokenizer.model / spiece.model (BPE by piece score or
//     Unigram by Viterbi, byte fallback, precompiled normalization charsmap),
//     equal to Google's sentencepiece, under the conventions of transformers'
//     slow tokenizers: GemmaTokenizer (BOS/EOS per add_bos_token and
//     add_eos_token) and SiglipTokenizer (lowercase, ASCII punctuation
//     removed, whitespace collapsed, "</s>" appended and used for padding).
//
// tokenizer_config.json, special_tokens_map.json and config.json beside the
// file supply special tokens, add_bos_token/add_eos_token, model_max_length
// and do_lower_case. SigLIP 2 was trained on lowercased text, so a checkpoint
// whose config.json says model_type "siglip2" lowercases by default
// (WithLowercase switches it); its conventions are no BOS, EOS appended, pad
// id 0, right padding to 64 with truncation that keeps EOS:
//
//	tok, err := tokenizer.Load(checkpointDir)
//	...
//	ids, err := tok.EncodeBatch(labels, tokenizer.PadOptions{MaxLength: 64, Pad: true})
//
// Text is UTF-8; invalid bytes read as U+FFFD, one per byte. A Tokenizer is
// safe for concurrent use; it caches the BPE result of each word.
package tokenizer
