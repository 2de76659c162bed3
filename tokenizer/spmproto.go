package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// SentencePiece piece types, as in sentencepiece_model.proto.
const (
	pieceNormal      = 1
	pieceUnknown     = 2
	pieceControl     = 3
	pieceUserDefined = 4
	pieceUnused      = 5
	pieceByte        = 6
)

// SentencePiece model types (TrainerSpec.model_type).
const (
	spmUnigram = 1
	spmBPE     = 2
	spmWord    = 3
	spmChar    = 4
)

// spmPiece is one ModelProto.SentencePiece.
type spmPiece struct {
	piece string
	score float32
	typ   int
}

// spmModelProto holds the fields of a SentencePiece ModelProto that encoding
// needs; everything else in the file is skipped.
type spmModelProto struct {
	pieces []spmPiece

	modelType   int
	byteFall    bool
	unkID       int
	bosID       int
	eosID       int
	padID       int
	wsAsSuffix  bool
	charsmap    []byte
	normName    string
	dummyPrefix bool
	removeExtra bool
	escapeWS    bool
}

var errTruncated = errors.New("truncated protobuf")

// protoReader walks protobuf wire format. It is written by hand because the
// SentencePiece schema needs a dozen scalar fields and nothing else.
type protoReader struct {
	b   []byte
	off int
}

func (r *protoReader) done() bool { return r.off >= len(r.b) }

func (r *protoReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	r.off += n
	return v, nil
}

// key reads a field key and returns the field number and wire type.
func (r *protoReader) key() (int, int, error) {
	v, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	if v>>3 == 0 || v>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("invalid field number %d", v>>3)
	}
	return int(v >> 3), int(v & 7), nil
}

func (r *protoReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.off) {
		return nil, errTruncated
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *protoReader) fixed32() (uint32, error) {
	if len(r.b)-r.off < 4 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

// skip discards a field of the given wire type.
func (r *protoReader) skip(wire int) error {
	switch wire {
	case 0:
		_, err := r.varint()
		return err
	case 1:
		if len(r.b)-r.off < 8 {
			return errTruncated
		}
		r.off += 8
		return nil
	case 2:
		_, err := r.bytes()
		return err
	case 5:
		_, err := r.fixed32()
		return err
	default:
		// Groups (3, 4) are not used by sentencepiece_model.proto.
		return fmt.Errorf("unsupported wire type %d", wire)
	}
}

// int32 reads a varint-encoded int32 (negative values are sign-extended to
// ten bytes on the wire).
func (r *protoReader) int32() (int, error) {
	v, err := r.varint()
	return int(int32(v)), err
}

func (r *protoReader) bool() (bool, error) {
	v, err := r.varint()
	return v != 0, err
}

// expectWire checks a field's wire type against the schema.
func expectWire(field, got, want int) error {
	if got != want {
		return fmt.Errorf("field %d has wire type %d, want %d", field, got, want)
	}
	return nil
}

// parseSPMModel decodes a serialized SentencePiece ModelProto.
func parseSPMModel(b []byte) (*spmModelProto, error) {
	m := &spmModelProto{
		// proto2 defaults from sentencepiece_model.proto.
		modelType: spmUnigram, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		dummyPrefix: true, removeExtra: true, escapeWS: true,
	}
	r := &protoReader{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return nil, fmt.Errorf("ModelProto: %w", err)
		}
		switch field {
		case 1, 2, 3:
			if err := expectWire(field, wire, 2); err != nil {
				return nil, fmt.Errorf("ModelProto: %w", err)
			}
			sub, err := r.bytes()
			if err != nil {
				return nil, fmt.Errorf("ModelProto field %d: %w", field, err)
			}
			switch field {
			case 1:
				p, err := parseSPMPiece(sub)
				if err != nil {
					return nil, fmt.Errorf("ModelProto.pieces[%d]: %w", len(m.pieces), err)
				}
				m.pieces = append(m.pieces, p)
			case 2:
				if err := m.parseTrainerSpec(sub); err != nil {
					return nil, fmt.Errorf("ModelProto.trainer_spec: %w", err)
				}
			case 3:
				if err := m.parseNormalizerSpec(sub); err != nil {
					return nil, fmt.Errorf("ModelProto.normalizer_spec: %w", err)
				}
			}
		default:
			if err := r.skip(wire); err != nil {
				return nil, fmt.Errorf("ModelProto field %d: %w", field, err)
			}
		}
	}
	return m, nil
}

func parseSPMPiece(b []byte) (spmPiece, error) {
	p := spmPiece{typ: pieceNormal}
	r := &protoReader{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return p, err
		}
		switch field {
		case 1:
			if err := expectWire(field, wire, 2); err != nil {
				return p, err
			}
			s, err := r.bytes()
			if err != nil {
				return p, err
			}
			p.piece = string(s)
		case 2:
			if err := expectWire(field, wire, 5); err != nil {
				return p, err
			}
			v, err := r.fixed32()
			if err != nil {
				return p, err
			}
			p.score = math.Float32frombits(v)
		case 3:
			if err := expectWire(field, wire, 0); err != nil {
				return p, err
			}
			if p.typ, err = r.int32(); err != nil {
				return p, err
			}
		default:
			if err := r.skip(wire); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func (m *spmModelProto) parseTrainerSpec(b []byte) error {
	r := &protoReader{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return err
		}
		var dst *int
		var bdst *bool
		switch field {
		case 3:
			dst = &m.modelType
		case 40:
			dst = &m.unkID
		case 41:
			dst = &m.bosID
		case 42:
			dst = &m.eosID
		case 43:
			dst = &m.padID
		case 35:
			bdst = &m.byteFall
		case 24:
			bdst = &m.wsAsSuffix
		default:
			if err := r.skip(wire); err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
			continue
		}
		if err := expectWire(field, wire, 0); err != nil {
			return err
		}
		if dst != nil {
			*dst, err = r.int32()
		} else {
			*bdst, err = r.bool()
		}
		if err != nil {
			return fmt.Errorf("field %d: %w", field, err)
		}
	}
	return nil
}

func (m *spmModelProto) parseNormalizerSpec(b []byte) error {
	r := &protoReader{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return err
		}
		switch field {
		case 1, 2:
			if err := expectWire(field, wire, 2); err != nil {
				return err
			}
			s, err := r.bytes()
			if err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
			if field == 1 {
				m.normName = string(s)
			} else {
				m.charsmap = s
			}
		case 3, 4, 5:
			if err := expectWire(field, wire, 0); err != nil {
				return err
			}
			v, err := r.bool()
			if err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
			switch field {
			case 3:
				m.dummyPrefix = v
			case 4:
				m.removeExtra = v
			case 5:
				m.escapeWS = v
			}
		default:
			if err := r.skip(wire); err != nil {
				return fmt.Errorf("field %d: %w", field, err)
			}
		}
	}
	return nil
}
