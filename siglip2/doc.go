// Package siglip2 runs Google's SigLIP and SigLIP 2 image-text encoders with
// the same numbers as Hugging Face transformers.
//
// It reads a Hugging Face model folder as save_pretrained writes it:
// config.json (ParseConfig, LoadConfig: model_type "siglip2" for the NaFlex
// models, "siglip" for SigLIP and the fixed-resolution SigLIP 2 models,
// absent fields filled with transformers' defaults) and model.safetensors or
// a sharded index (OpenWeights, LoadWeights: every tensor the configuration
// implies is checked for presence, shape and dtype before any is used, and
// stays memory-mapped until asked for). Weight names are the Hugging Face
// state-dict keys, unchanged. The model itself is written as graph-building
// functions named after the Hugging Face modules.
package siglip2
